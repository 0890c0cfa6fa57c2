import type { DetectionDataset, SegmentationDataset } from '../data/dataset.js';
import { displayPath } from '../files/display-path.js';
import { PRODUCER } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { buildModel } from '../build/model.js';
import { modelRunner } from '../evaluate/runner.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { ImageTransform } from '../runtime/images/pipeline.js';
import { setModelWeights } from '../runtime/weights/load.js';
import { formatDuration, progressLine, redrawnLine, type RedrawnLine } from '../terminal/progress.js';
import { writeWeightsFolder } from '../weights/folder.js';
import type { ImportedWeights } from '../weights/convert.js';
import type { DenseData } from './dense/dense-batches.js';
import { allAnchors, classNamesOf, trainedObjects } from './dense/dense-batches.js';
import { validationScores, type Validation } from './dense/validation.js';
import { denseEpochSummary, writeDenseReport, type DenseEpochRecord } from './dense/dense-report.js';
import {
  runWithTorch,
  torchRunFiles,
  type TorchRunKind,
  type TorchRunOptions,
  type TorchRunShape,
  type TorchSettings,
  type TorchStep,
} from './torch-engine.js';

export interface TorchDenseOptions extends TorchRunOptions {
  readonly data: DenseData;
  /** The image pipeline's transform: the input's size, the letterbox's filter, the normalisation saved with the weights. */
  readonly transform: ImageTransform;
  /** The modules (backbone BatchNorm) that keep their weights and statistics: a detector fine-tuned from trained weights. */
  readonly frozen: readonly string[];
  /** The most pixels an image may have, as netspec's readers allow. */
  readonly maxPixels: number;
  /** Each step's running figures; default a progress line an epoch on standard error. */
  readonly progress?: (step: TorchStep) => void;
}

/**
 * Trains the graph's detector or segmenter with PyTorch through torchrun; on the machine of rank 0, scores the final
 * weights on the validation split and returns the run's epochs, else `{ written: false }`.
 */
export async function trainDenseWithTorch(options: TorchDenseOptions): Promise<{ written: boolean; history?: readonly DenseEpochRecord[] }> {
  const ran = await runWithTorch(options, denseRun(options));
  return ran.written ? { written: true, history: ran.result } : { written: false };
}

function denseRun(options: TorchDenseOptions): TorchRunKind<DenseEpochRecord, DenseEpochRecord[]> {
  const files = torchRunFiles(options.out);
  let line: { epoch: number; progress: RedrawnLine } | undefined;
  // The rate from the engine's own clock: the first report comes a step after the epoch started.
  const shown = ({ epoch, epochs, done, total, loss, seconds }: TorchStep) => {
    if (line?.epoch !== epoch) line = { epoch, progress: redrawnLine(process.stderr, () => `epoch ${epoch}/${epochs}`) };
    const rate = seconds > 0 ? done / seconds : 0;
    const text = `${done}/${total} images  ${rate.toFixed(rate < 10 ? 1 : 0)} images/s  ${formatDuration(rate > 0 ? (total - done) / rate : 0)} left  loss ${loss.toFixed(4)}`;
    line.progress.show(done, total, { bar: text, plain: text });
  };
  return {
    data: { path: files.index, kind: 'json' },
    prepare: () => {
      const { data, transform, graph } = options;
      writeAtomically(files.index, `${JSON.stringify(dataIndex(graph, data, transform, options.maxPixels))}\n`, 'json');
      const classNames = data.kind === 'detection' ? classNamesOf(data.mapping, graph.task!.classes) : [...data.classNames];
      return { task: data.kind, normalization: { mean: [...transform.mean], std: [...transform.std] }, classNames, frozen: options.frozen };
    },
    step: options.progress ?? shown,
    epoch: (record, epochs) => {
      line?.progress.end();
      line = undefined;
      return denseEpochSummary(record, epochs);
    },
    finish: (shape, state, history, settings) => finish(options, { shape, state, history, settings }),
  };
}

/**
 * The index the engine reads: the training and validation images' files with their boxes (x1, y1, x2, y2 in the
 * image's pixels, float32 as netspec's trainer takes them; crowd regions left out) and head outputs, or their mask
 * files; a detector's anchors over all levels in the order of the head's outputs; the input and its normalisation.
 */
function dataIndex(graph: AnalyzedGraph, data: DenseData, transform: ImageTransform, maxPixels: number) {
  const { height, width, channels, mean, std, interpolation = 'bilinear' } = transform;
  const common = { producer: PRODUCER, task: data.kind, input: { height, width, channels }, mean, std, interpolation, classes: graph.task!.classes, maxPixels };
  if (data.kind === 'segmentation') {
    const masks = (set: SegmentationDataset) => Array.from({ length: set.length }, (_, i) => ({ path: set.image(i).path, mask: set.image(i).maskPath }));
    return { ...common, train: masks(data.train), val: masks(data.val) };
  }
  const indexed = ({ boxes, labels }: { boxes: Float32Array; labels: Int32Array }) => ({ boxes: [...boxes], labels: [...labels] });
  const boxes = (set: DetectionDataset) =>
    Array.from({ length: set.length }, (_, i) => ({ path: set.image(i).path, ...indexed(trainedObjects(set.objects(i), data.mapping)) }));
  return { ...common, anchors: [...allAnchors(data.configAt([height, width]), transform)], train: boxes(data.train), val: boxes(data.val) };
}

/**
 * The weights folder (normalisation, class names, a detector's category mapping), the final weights scored on the
 * validation split, and metrics.json and curves.svg. The engine does not validate: the last epoch's record gets
 * the scores of the final weights, which are its weights, and the other epochs record none.
 */
async function finish(
  options: TorchDenseOptions,
  run: { shape: TorchRunShape; state: ImportedWeights; history: DenseEpochRecord[]; settings: TorchSettings },
): Promise<DenseEpochRecord[]> {
  const { graph, data } = options;
  const files = torchRunFiles(options.out);
  const { normalization, config, classNames } = run.settings;
  const categories = data.kind === 'detection' ? data.mapping.toJSON() : undefined;
  writeWeightsFolder(files.weights, graph.name, run.state.weights, run.state.skippedLayers, {
    input: normalization,
    classes: classNames ?? undefined,
    categories,
  });
  const validation = await validate(options, run.state, displayPath(files.state));
  const history = run.history.map((record, i) => (i === run.history.length - 1 ? { ...record, scores: validation.scores } : record));
  const engine = { engine: 'torch', ...run.shape } as const;
  writeDenseReport(files, { model: graph.name, task: data.kind, engine, config, normalization, history, evaluation: validation.figures });
  const scores = Object.entries(validation.scores).map(([name, value]) => `${name} ${value === null ? 'n/a' : value.toFixed(4)}`);
  (options.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(
    `netspec: validation ${scores.join(', ')} after ${history.length} epochs; weights in ${displayPath(files.weights)}, metrics in ${displayPath(files.metrics)}, curves in ${displayPath(files.curves)}`,
  );
  return history;
}

/** The validation split's scores with the trained weights in tfjs, as `eval` scores them, and the full figures. */
async function validate(options: TorchDenseOptions, state: ImportedWeights, source: string): Promise<Validation> {
  const { graph, data, transform } = options;
  const model = buildModel(graph);
  try {
    setModelWeights(model, new Map(state.weights.map((weight) => [weight.name, weight])), source, new Set(state.skippedLayers));
    return await validationScores(graph, data, modelRunner(graph, model), transform, progressLine(process.stderr, 'final scoring', 'images'));
  } finally {
    model.dispose();
  }
}
