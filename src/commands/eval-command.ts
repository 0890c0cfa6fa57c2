import { buildModel } from '../build/model.js';
import type { ImageSet } from '../data/image-set.js';
import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { writeAtomically } from '../files/atomic-write.js';
import { printable, quoted } from '../files/display-path.js';
import { assertWritable, PRODUCER } from '../files/output-guard.js';
import { initBackend } from '../runtime/backends/node.js';
import { DEFAULT_MAX_PIXELS } from '../runtime/images/header.js';
import { imagenetNormalization } from '../runtime/images/preprocess.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { confusionSvg, evaluationReport, formatReport, predictLabels } from '../train/evaluation.js';
import { loadEvalFolder } from '../train/image-folder-data.js';
import { defineCommand, UsageError } from './command-line.js';
import { DATA_SOURCE_ARG, dataSourceName, loadDataSource, parseDataSource, type DataSource } from './data-source.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { loadUserWeights, readUserWeights } from './user-weights.js';

export const command = defineCommand({
  name: 'eval',
  summary: "Measure a spec's classifier with a weights folder on labelled images: accuracy, per class, confusion matrix",
  forms: [{ args: '<spec.json>', options: ['weights', 'data'], after: '[options]' }],
  description: `Classifies every image of a labelled set in inference mode and prints the accuracy, each class's accuracy
(the share of its images classified as it) and the confusion matrix (rows the true classes, columns the
predicted ones); --json prints the same figures as JSON and --svg also draws the matrix. The set is the test
split of fashion-mnist or of a CIFAR folder, or an image folder's val/ (or test/) folder, else the whole folder.
Images are fed as the weights folder says: its normalisation and class names when 'netspec train' wrote them
(image folders resized as training resized them), else ImageNet's normalisation and torchvision's 256/224
resize. The set's classes are matched to the weights' class names by name; without names, by count and order.`,
  options: {
    weights: { type: 'string', arg: 'DIR', required: true, help: 'The weights folder' },
    data: { type: 'string', arg: DATA_SOURCE_ARG, required: true, help: 'The labelled images' },
    json: { type: 'boolean', help: 'Print the figures as JSON' },
    svg: { type: 'string', arg: 'FILE', help: 'Also write the confusion matrix as an SVG picture' },
    strict: { type: 'boolean', help: 'Image folders: refuse an image that cannot be decoded instead of skipping it' },
    'max-pixels': { type: 'number', arg: 'N', default: DEFAULT_MAX_PIXELS, min: 1, integer: true, help: 'Image folders: skip (or under --strict refuse) images of more than N pixels' },
  },
  run: async ({ values, positionals }) => {
    if (positionals.length !== 1) throw new UsageError(`eval takes exactly one spec file, got ${positionals.length}`);
    if (values.weights === undefined) throw new UsageError('eval needs --weights DIR');
    const data = parseDataSource(values.data, 'eval');
    return evalCommand({ spec: positionals[0]!, weights: values.weights, data, json: values.json, svg: values.svg, strict: values.strict, maxPixels: values['max-pixels'] });
  },
});

interface EvalOptions {
  readonly spec: string;
  readonly weights: string;
  readonly data: DataSource;
  readonly json: boolean;
  readonly svg: string | undefined;
  readonly strict: boolean;
  readonly maxPixels: number;
}

/** `netspec eval`: every problem with the spec, the weights or the data is a user error, one line and exit 1. */
async function evalCommand(options: EvalOptions): Promise<number> {
  if (options.svg !== undefined) assertWritable([{ path: options.svg, kind: 'generated-text' }]);
  const graph = analyzeSpecFile(options.spec);
  const classes = graph.outputShapes.length === 1 && graph.outputShapes[0]!.length === 1 ? graph.outputShapes[0]![0]! : undefined;
  if (classes === undefined) throw new UserError(`${graph.name} is not a classifier; eval measures classifiers`);
  await initBackend();
  const folder = await readUserWeights(options.weights);
  const labelled = await evaluationSet(options, graph, folder);
  const names = folder.manifest.classes ?? labelled.classNames;
  const mapping = classMapping(dataSourceName(options.data), labelled.classNames, folder.manifest.classes, classes, graph.name);
  const mismatch = shapeMismatch(labelled.set, graph);
  if (mismatch) throw new UserError(`${dataSourceName(options.data)} has ${mismatch}`);
  const model = await loadUserWeights(buildModel(graph), folder);
  const normalization = folder.manifest.input ?? imagenetNormalization(graph.inputShape[2]!);
  const predicted = predictLabels(model, labelled.set, { mean: [...normalization.mean], std: [...normalization.std] });
  model.dispose();
  const report = evaluationReport(Array.from(labelled.set.labels, (label) => mapping[label]!), predicted, names.length === classes ? names : Array.from({ length: classes }, (_, i) => `class ${i}`));
  const title = `${graph.name} on ${dataSourceName(options.data)}`;
  if (options.svg !== undefined) writeAtomically(options.svg, confusionSvg(report, title), 'generated-text');
  process.stdout.write(options.json ? `${JSON.stringify({ producer: PRODUCER, model: graph.name, data: dataSourceName(options.data), ...report }, null, 2)}\n` : `${printable(title)}\n${formatReport(report)}`);
  return 0;
}

/** The images to measure: a built-in or CIFAR set's test split, or an image folder's evaluation images. */
async function evaluationSet(options: EvalOptions, graph: AnalyzedGraph, folder: WeightsFolder): Promise<{ set: ImageSet; classNames: readonly string[] }> {
  if (options.data.kind !== 'folder') {
    const data = await loadDataSource(options.data, graph);
    return { set: data.test, classNames: data.classNames };
  }
  const [height, width] = graph.inputShape as readonly [number, number, number];
  // Weights trained by netspec saw whole frames; others (torchvision's) expect the 256/224 margin cropped away.
  const resize = folder.manifest.input ? undefined : Math.round((Math.max(height, width) * 256) / 224);
  const loaded = await loadEvalFolder(options.data.dir, { input: graph.inputShape as [number, number, number], strict: options.strict, maxPixels: options.maxPixels, resize });
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
  if (unknown.length > 0) throw new UserError(`${data} has classes the weights do not name: ${unknown.map(quoted).join(', ')} (the weights' classes: ${modelNames.map(quoted).join(', ')})`);
  return dataNames.map((name) => modelNames.indexOf(name));
}

function shapeMismatch(set: ImageSet, graph: AnalyzedGraph): string | undefined {
  const [height, width, channels] = graph.inputShape;
  if (set.height === height && set.width === width && set.channels === channels) return undefined;
  return `${set.height}×${set.width}×${set.channels} images; ${graph.name} takes ${graph.inputShape.join('×')}`;
}
