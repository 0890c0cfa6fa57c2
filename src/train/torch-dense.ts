// Detectors and segmenters trained in PyTorch: the run folder gets an index of the data (each image's file, its
// boxes with their head outputs or its mask file, RetinaNet's anchors, the input and its normalisation) rather than
// the pixels, which the engine's DataLoader workers read; the result comes back as the weights folder (with the
// classes and a detector's category mapping), metrics.json and curves.svg of netspec's own dense trainer.
import type { CategoryMapping } from '../data/categories.js';
import type { DetectionDataset, SegmentationDataset } from '../data/dataset.js';
import { displayPath } from '../files/display-path.js';
import { PRODUCER } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { buildModel } from '../build/model.js';
import { scoreDetections } from '../evaluate/detection.js';
import { modelRunner } from '../evaluate/runner.js';
import { scoreSegmentation } from '../evaluate/segmentation.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { cocoJson } from '../metrics/coco-format.js';
import { segmentationFigures, segmentationJson } from '../metrics/segmentation.js';
import type { ImageTransform } from '../runtime/images/pipeline.js';
import { generateAnchors, type DetectionConfig } from '../runtime/tasks/detection.js';
import { setModelWeights } from '../runtime/weights/load.js';
import { formatDuration, progressLine, redrawnLine, type RedrawnLine } from '../terminal/progress.js';
import { writeWeightsFolder } from '../weights/folder.js';
import type { ImportedWeights } from '../weights/convert.js';
import type { DenseData } from './dense/dense-train.js';
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

/** Images a validation batch runs, as netspec's dense trainer runs them. */
const VALIDATION_BATCH = 8;

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
  const boxes = (set: DetectionDataset) => Array.from({ length: set.length }, (_, i) => ({ path: set.image(i).path, ...trainedBoxes(set, i, data.mapping) }));
  return { ...common, anchors: [...allAnchors(data.config, transform)], train: boxes(data.train), val: boxes(data.val) };
}

/** An image's boxes (x1, y1, x2, y2) and head outputs, crowd regions left out, as netspec's trainer takes them. */
function trainedBoxes(set: DetectionDataset, index: number, mapping: CategoryMapping): { boxes: number[]; labels: number[] } {
  const objects = set.objects(index);
  const kept = Array.from({ length: objects.count }, (_, k) => k).filter((k) => objects.crowd[k] === 0);
  const boxes = kept.flatMap((k) => {
    const [x, y, w, h] = objects.boxes.subarray(4 * k, 4 * k + 4) as unknown as [number, number, number, number];
    return [x, y, x + w, y + h].map(Math.fround);
  });
  return { boxes, labels: kept.map((k) => mapping.outputOf(objects.categoryIds[k]!)!) };
}

/** Every level's anchors on the input, one after another, as the head's outputs are ordered. */
function allAnchors(config: DetectionConfig, transform: ImageTransform): Float32Array {
  const levels = config.levels.map(([height, width]) => ({ height, width }));
  const perLevel = generateAnchors(transform.height, transform.width, levels, config.anchors);
  const anchors = new Float32Array(perLevel.reduce((n, level) => n + level.length, 0));
  perLevel.reduce((at, level) => {
    anchors.set(level, at);
    return at + level.length;
  }, 0);
  return anchors;
}

/** The names of a detector's outputs in order: each category's name where one stands for it, else `class N`. */
function classNamesOf(mapping: CategoryMapping, classes: number): string[] {
  return Array.from({ length: classes }, (_, output) => mapping.categoryOf(output)?.name ?? `class ${output}`);
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
async function validate(
  options: TorchDenseOptions,
  state: ImportedWeights,
  source: string,
): Promise<{ scores: Record<string, number | null>; figures: unknown }> {
  const { graph, data, transform } = options;
  const model = buildModel(graph);
  try {
    setModelWeights(model, new Map(state.weights.map((weight) => [weight.name, weight])), source, new Set(state.skippedLayers));
    const runner = modelRunner(graph, model);
    const progress = progressLine(process.stderr, 'final scoring', 'images');
    if (data.kind === 'detection') {
      const { coco } = await scoreDetections(data.val, runner, {
        config: data.config,
        transform,
        mapping: data.mapping,
        batch: VALIDATION_BATCH,
        voc: false,
        progress,
      });
      return { scores: { AP: coco.stats[0]!, AP50: coco.stats[1]! }, figures: cocoJson(coco) };
    }
    const { matrix } = await scoreSegmentation(data.val, runner, { classes: graph.task!.classes, transform, batch: VALIDATION_BATCH, progress });
    const figures = segmentationFigures(matrix);
    const finite = (value: number) => (Number.isFinite(value) ? value : null);
    return { scores: { meanIoU: finite(figures.meanIoU), pixelAccuracy: finite(figures.globalAccuracy) }, figures: segmentationJson(figures, matrix) };
  } finally {
    model.dispose();
  }
}
