// `netspec eval` of a classifier, once the command line is parsed: loaded only then, for it loads tfjs.
import type { ImageSet } from '../data/image-set.js';
import { UserError } from '../errors/user-error.js';
import { writeAtomically } from '../files/atomic-write.js';
import { printable, quoted } from '../files/display-path.js';
import { PRODUCER } from '../files/output-guard.js';
import { buildModel } from '../build/model.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { initBackend } from '../runtime/backends/node.js';
import { imageTransformFor } from '../runtime/images/pipeline.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { confusionSvg, evaluationReport, formatReport, predictLabels } from '../train/evaluation.js';
import { loadEvalFolder } from '../train/image-folder-data.js';
import { dataSourceName, loadDataSource, type DataSource } from './data-source.js';
import { loadUserWeights } from './load-user-weights.js';
import { readUserWeights } from './user-weights.js';

export interface EvalOptions {
  readonly graph: AnalyzedGraph;
  readonly weights: string;
  readonly data: DataSource;
  readonly json: boolean;
  readonly svg: string | undefined;
  readonly strict: boolean;
  readonly maxPixels: number;
}

/** `netspec eval`: every problem with the spec, the weights or the data is a user error, one line and exit 1. */
export async function evalCommand(options: EvalOptions): Promise<number> {
  const { graph } = options;
  const classes = graph.outputShapes.length === 1 && graph.outputShapes[0]!.length === 1 ? graph.outputShapes[0]![0]! : undefined;
  if (classes === undefined) throw new UserError(`${graph.name} is not a classifier; eval measures classifiers`);
  await initBackend();
  const folder = await readUserWeights(options.weights);
  const labelled = await evaluationSet(options, graph, folder);
  const names = folder.manifest.classes ?? labelled.classNames;
  const mapping = classMapping(dataSourceName(options.data), labelled.classNames, folder.manifest.classes, classes, graph.name);
  const mismatch = shapeMismatch(labelled.set, graph);
  if (mismatch) throw new UserError(`${dataSourceName(options.data)} has ${mismatch}`);
  const model = await loadUserWeights(() => buildModel(graph), folder);
  const { mean, std } = imageTransformFor(graph, folder.manifest.input);
  const predicted = predictLabels(model, labelled.set, { mean: [...mean], std: [...std] });
  model.dispose();
  const report = evaluationReport(
    Array.from(labelled.set.labels, (label) => mapping[label]!),
    predicted,
    names.length === classes ? names : Array.from({ length: classes }, (_, i) => `class ${i}`),
  );
  const title = `${graph.name} on ${dataSourceName(options.data)}`;
  if (options.svg !== undefined) writeAtomically(options.svg, confusionSvg(report, title), 'generated-text');
  process.stdout.write(
    options.json
      ? `${JSON.stringify({ producer: PRODUCER, model: graph.name, data: dataSourceName(options.data), ...report }, null, 2)}\n`
      : `${printable(title)}\n${formatReport(report)}`,
  );
  return 0;
}

/** The images to measure: a built-in or CIFAR set's test split, or an image folder's evaluation images. */
async function evaluationSet(options: EvalOptions, graph: AnalyzedGraph, folder: WeightsFolder): Promise<{ set: ImageSet; classNames: readonly string[] }> {
  if (options.data.kind !== 'folder') {
    const data = await loadDataSource(options.data, graph);
    return { set: data.test, classNames: data.classNames };
  }
  // Weights trained by netspec saw whole frames; others (torchvision's) expect the 256/224 margin cropped away.
  const { cropFraction, interpolation } = imageTransformFor(graph, folder.manifest.input);
  const loaded = await loadEvalFolder(options.data.dir, {
    input: graph.inputShape as [number, number, number],
    strict: options.strict,
    maxPixels: options.maxPixels,
    cropFraction,
    interpolation,
  });
  return { set: loaded.set, classNames: loaded.classNames };
}

/**
 * For each class of the data, the model's class index: by name when the weights name their classes, else by order.
 * Data whose classes cannot be matched so is a UserError.
 */
function classMapping(data: string, dataNames: readonly string[], modelNames: readonly string[] | undefined, classes: number, model: string): number[] {
  if (modelNames === undefined) {
    if (dataNames.length !== classes) throw new UserError(`${data} has ${dataNames.length} classes but ${model}'s head has ${classes}`);
    return dataNames.map((_, i) => i);
  }
  const unknown = dataNames.filter((name) => !modelNames.includes(name));
  if (unknown.length > 0)
    throw new UserError(
      `${data} has classes the weights do not name: ${unknown.map(quoted).join(', ')} (the weights' classes: ${modelNames.map(quoted).join(', ')})`,
    );
  return dataNames.map((name) => modelNames.indexOf(name));
}

function shapeMismatch(set: ImageSet, graph: AnalyzedGraph): string | undefined {
  const [height, width, channels] = graph.inputShape;
  if (set.height === height && set.width === width && set.channels === channels) return undefined;
  return `${set.height}×${set.width}×${set.channels} images; ${graph.name} takes ${graph.inputShape.join('×')}`;
}
