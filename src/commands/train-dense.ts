// `netspec train` of a detector or a segmenter: the datasets opened and checked against the head, torchvision's
// reference recipes as defaults for what the command line leaves out, and the run.
import { buildModel } from '../build/model.js';
import { openDetectionSource, openSegmentationSource, type AnnotatedSource } from '../data/annotated-source.js';
import { categoryMapping, type CategoryMapping } from '../data/categories.js';
import type { DetectionDataset, SegmentationDataset } from '../data/dataset.js';
import { detectionConfig } from '../emit/detection-constant.js';
import { UserError } from '../errors/user-error.js';
import { assertWritable } from '../files/output-guard.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { initBackend } from '../runtime/backends/node.js';
import { defaultSizePolicy, imageTransformFor, type AskedSizes } from '../runtime/images/pipeline.js';
import { progressLine } from '../terminal/progress.js';
import { readRunCheckpoint } from '../train/checkpoint.js';
import type { NaturalSizes, TrainConfig } from '../train/config.js';
import type { DenseEpochRecord } from '../train/dense/dense-report.js';
import type { DenseData } from '../train/dense/dense-batches.js';
import { trainDense } from '../train/dense/dense-train.js';
import { backboneBatchNorms, frozenLayers } from '../train/fine-tune.js';
import type { Schedule } from '../train/schedule.js';
import { DENSE_AUGMENTATIONS, DENSE_DEFAULTS, DENSE_OPTIMIZER } from '../train/dense/recipes.js';
import { UsageError } from './command-line.js';
import { parseDataSource, type DataSource } from './data-source.js';
import { runOutputs } from './run-folder.js';
import { untilStopped } from './stop-signals.js';
import { readUserWeights } from './user-weights.js';
import { withoutRandomInit } from '../runtime/ops/op.js';

/** What the dense path reads beyond a classifier run's options. */
export interface DenseCommandOptions {
  readonly valData: string | undefined;
  /** `TRAIN,VAL` for VOC and mask folders. */
  readonly splits: string | undefined;
  /** The options given on the command line; the others take the task's defaults below. */
  readonly given: ReadonlySet<string>;
  readonly replicas: (backend: string) => number;
  /** `--min-size` and `--max-size` for an open-size model trained at natural sizes. */
  readonly sizes?: AskedSizes;
}

export interface DenseRunOptions {
  readonly data: DataSource;
  readonly folder: { readonly maxPixels: number };
  readonly out: string;
  readonly resume: boolean;
  readonly init: string | undefined;
  readonly config: Omit<TrainConfig, 'replicas'> & { readonly replicas: number | null };
}

/** Opens and checks the data, then trains; Ctrl-C saves and stops as a classifier run does. */
export async function trainDenseCommand(graph: AnalyzedGraph, options: DenseRunOptions, dense: DenseCommandOptions): Promise<number> {
  if (options.resume) readRunCheckpoint<DenseEpochRecord>(options.out, graph);
  assertWritable(runOutputs(options.out));
  if (options.data.kind !== 'annotated') throw new UserError(`${graph.name} is a ${graph.task!.kind} model: train it on coco:, voc: or masks: data`);
  const data = openDenseData(graph, options.data.source, dense, options.folder.maxPixels);
  const backend = await initBackend();
  const config = { ...denseConfig(graph, options.config, dense.given, backend, dense.replicas), naturalSizes: naturalSizesOf(graph, dense.sizes ?? {}) };
  const init = options.init === undefined ? undefined : { weights: (await readUserWeights(options.init)).weights, source: options.init };
  const freeze = [...(config.freeze ?? []), ...(init && graph.task!.kind === 'detection' ? frozenNorms(graph, config.freeze ?? []) : [])];
  const transform = imageTransformFor(graph);
  return untilStopped(async (shouldStop) => {
    const result = await trainDense({
      graph,
      data,
      config: { ...config, freeze },
      transform,
      out: options.out,
      resume: options.resume,
      init,
      backend,
      progress: (label) => progressLine(process.stderr, label, 'images'),
      shouldStop,
    });
    return result.interrupted;
  });
}

/** The run's settings: those given, the rest from the task's recipe, the learning rate scaled to the batch. */
export function denseConfig(
  graph: AnalyzedGraph,
  given: DenseRunOptions['config'],
  options: ReadonlySet<string>,
  backend: string,
  replicas: (backend: string) => number,
): TrainConfig {
  const recipe = DENSE_DEFAULTS[graph.task!.kind as 'detection' | 'segmentation'];
  const pick = <T>(option: string, value: T, fallback: T) => (options.has(option) ? value : fallback);
  const batchSize = pick('batch', given.batchSize, recipe.batch);
  const optimizer = given.optimizer;
  return {
    ...given,
    epochs: pick('epochs', given.epochs, recipe.epochs),
    batchSize,
    learningRate: pick('lr', given.learningRate, (recipe.rate.value * batchSize) / recipe.rate.images),
    schedule: pick<Schedule>('schedule', given.schedule, recipe.schedule),
    optimizer: {
      ...optimizer,
      momentum: pick('momentum', optimizer.momentum, DENSE_OPTIMIZER.momentum),
      nesterov: pick('nesterov', optimizer.nesterov, DENSE_OPTIMIZER.nesterov),
      weightDecay: pick('weight-decay', optimizer.weightDecay, DENSE_OPTIMIZER.weightDecay),
    },
    augmentation: pick('augment', given.augmentation, DENSE_AUGMENTATIONS[recipe.augment]),
    clipGradNorm: pick('clip-grad', given.clipGradNorm ?? null, recipe.clipGradNorm),
    replicas: given.replicas ?? replicas(backend),
  };
}

/** torchvision's size policy for an open-size model, with the sides asked for; null for a model of one size. */
function naturalSizesOf(graph: AnalyzedGraph, asked: AskedSizes): NaturalSizes | null {
  if (!graph.sizes) return null;
  const { minSize, maxSize } = defaultSizePolicy(graph.task!.kind, graph.sizes, asked);
  return { minSize, maxSize };
}

/** The backbone's BatchNorm layers, frozen when a detector starts from trained weights; the user's --freeze checked on the way. */
function frozenNorms(graph: AnalyzedGraph, freeze: readonly string[]): string[] {
  // Only its layers are read.
  const model = withoutRandomInit(() => buildModel(graph));
  try {
    frozenLayers(model, freeze);
    return backboneBatchNorms(model);
  } finally {
    model.dispose();
  }
}

/** The training and validation datasets, checked against the head: categories or mask classes, and something to learn. */
export function openDenseData(graph: AnalyzedGraph, source: AnnotatedSource, dense: DenseCommandOptions, maxPixels: number): DenseData {
  const [trainSplit, valSplit] = splitsOf(source, dense.splits);
  const task = graph.task!;
  const open = task.kind === 'detection' ? openDetectionSource : openSegmentationSource;
  const train = open(source, { split: trainSplit, maxPixels });
  const valSource = dense.valData === undefined ? undefined : annotatedOf(parseDataSource(dense.valData, 'train'));
  if (source.kind === 'coco' && valSource === undefined)
    throw new UsageError(`coco: data holds one split a file; name the validation split's annotations with --val-data coco:ANNOTATIONS.json`);
  const val = open(valSource ?? source, { split: valSource?.kind === 'coco' ? undefined : valSplit, maxPixels });
  if (train.task === 'detection' && val.task === 'detection')
    return {
      kind: 'detection',
      train,
      val,
      mapping: detectionMapping(graph, train, val),
      configAt: (size) => detectionConfig(graph, graph.sizes ? size : undefined),
    };
  if (train.task === 'segmentation' && val.task === 'segmentation') return { kind: 'segmentation', train, val, classNames: segmentationClasses(graph, train) };
  throw new Error(`the ${task.kind} data opened as ${train.task} and ${val.task}`);
}

function annotatedOf(source: DataSource): AnnotatedSource {
  if (source.kind !== 'annotated') throw new UsageError('--val-data takes coco:, voc: or masks: data');
  return source.source;
}

/** The TRAIN,VAL splits of VOC and mask folders (COCO files are one split each). */
function splitsOf(source: AnnotatedSource, splits: string | undefined): [string | undefined, string | undefined] {
  if (source.kind === 'coco') {
    if (splits !== undefined) throw new UsageError('--splits is for voc: and masks: data; coco: files hold one split each');
    return [undefined, undefined];
  }
  const names = (splits ?? 'train,val').split(',').map((name) => name.trim());
  if (names.length !== 2 || names.some((name) => name === '')) throw new UsageError(`--splits takes TRAIN,VAL, two split names, got ${JSON.stringify(splits)}`);
  return names as [string, string];
}

/**
 * Which head output stands for which category: one per category in order of id, or COCO's own ids for a head of
 * torchvision's 91 classes. The head must have as many classes as the data (or be COCO's 91), there must be a box
 * to learn from, and the validation data must name no category the training data lacks.
 */
function detectionMapping(graph: AnalyzedGraph, train: DetectionDataset, val: DetectionDataset): CategoryMapping {
  const classes = graph.task!.classes;
  const mapping = categoryMapping(train.categories, classes, train.source);
  if (mapping.kind === 'contiguous' && mapping.categories.length !== classes)
    throw new UserError(
      `${train.source} has ${mapping.categories.length} categories but ${graph.name}'s head outputs ${classes} classes; set head.classes to ${mapping.categories.length} in the spec`,
    );
  const boxes = Array.from({ length: train.length }, (_, i) => train.objects(i)).reduce((n, objects) => n + objects.crowd.filter((c) => c === 0).length, 0);
  if (boxes === 0) throw new UserError(`${train.source} has no boxes to train on (crowd regions are left out of training)`);
  const foreign = val.categories.find((category) => mapping.outputOf(category.id) === undefined);
  if (foreign) throw new UserError(`${val.source} has the category ${foreign.id} (${foreign.name}), which ${train.source} does not have`);
  return mapping;
}

/** A segmenter's class names (background first) from the data, whose count must be the head's. */
function segmentationClasses(graph: AnalyzedGraph, train: SegmentationDataset): string[] {
  const classes = graph.task!.classes;
  const names = train.classNames;
  if (names !== undefined && names.length !== classes)
    throw new UserError(
      `${train.source} has ${names.length} classes (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}) but ${graph.name}'s head outputs ${classes}; set head.classes to ${names.length} in the spec`,
    );
  return names ? [...names] : Array.from({ length: classes }, (_, k) => `class ${k}`);
}
