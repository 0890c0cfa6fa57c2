// Training a detector or a segmenter: batches streamed from the dataset's files, torchvision's losses, the replicas
// and optimisers of classifier runs, the validation split scored after every epoch as `eval` scores it (COCO's AP,
// or mean IoU), a checkpoint after every epoch (and on a stop request) for --resume, and at the end the weights
// folder (with the category mapping the head was trained with), metrics.json and curves.svg.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors/user-error.js';
import { modelRunner, type ModelRunner } from '../../evaluate/runner.js';
import type { AnalyzedGraph } from '../../ir/analyze.js';
import { withAskedSizes, type ImageTransform, type SizePolicy } from '../../runtime/images/pipeline.js';
import type { NamedWeight } from '../../runtime/weights/folder.js';
import type { ProgressLine } from '../../terminal/progress.js';
import { writeWeightsFolder } from '../../weights/folder.js';
import { epochOrder, randomFor } from '../batches.js';
import { readRunCheckpoint, writeCheckpoint, type CheckpointState, type TrainPosition } from '../checkpoint.js';
import type { TrainConfig } from '../config.js';
import { ReplicaWorkers, type TrainingBatch } from '../parallel.js';
import { Replica } from '../replica.js';
import { learningRate } from '../schedule.js';
import { diverged, finiteWeights, runFiles, startFrom, stepSeed, trainStep } from '../train.js';
import { anchorsBySize, classNamesOf, detectionBatch, segmentationBatch, type DenseData } from './dense-batches.js';
import { validationScores, type Validation } from './validation.js';
import { denseEpochSummary, writeDenseReport, type DenseEpochRecord } from './dense-report.js';

export interface DenseTrainOptions {
  readonly graph: AnalyzedGraph;
  readonly data: DenseData;
  readonly config: TrainConfig;
  /** The image pipeline's transform: the input's size, the letterbox, the normalisation saved with the weights. */
  readonly transform: ImageTransform;
  readonly out: string;
  readonly init?: { readonly weights: ReadonlyMap<string, NamedWeight>; readonly source: string };
  readonly resume?: boolean;
  readonly backend?: string;
  readonly log?: (line: string) => void;
  /** A progress line for an epoch's steps (`epoch 2/10`) or a validation. */
  readonly progress?: (label: string) => ProgressLine;
  readonly shouldStop?: () => boolean;
}

export interface DenseTrainResult {
  readonly history: readonly DenseEpochRecord[];
  readonly interrupted: boolean;
}

/** Trains the graph's detector or segmenter; see the module's comment. */
export async function trainDense(options: DenseTrainOptions): Promise<DenseTrainResult> {
  const { graph, out } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const saved = options.resume ? readRunCheckpoint<DenseEpochRecord>(out, graph) : undefined;
  const state: CheckpointState<DenseEpochRecord> = saved?.state ?? {
    format: 'netspec-checkpoint',
    version: 1,
    model: graph.name,
    config: options.config,
    normalization: { mean: [...options.transform.mean], std: [...options.transform.std] },
    position: { epoch: 0, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0, parts: {} },
    history: [],
  };
  const { config } = state;
  const main = new Replica(graph, config.optimizer, config.freeze ?? []);
  if (saved) {
    const slots = main.optimizer.stateProblem(saved.optimizer);
    if (slots) {
      main.dispose();
      throw new UserError(`${runFiles(out).checkpoint} cannot be resumed from: ${slots}`);
    }
    main.setWeights(saved.weights);
    main.optimizer.restore(saved.optimizer);
  } else {
    main.initialise(graph, config.seed);
    if (options.init) startFrom(graph, main, options.init, log);
  }
  const backend = options.backend ?? tf.getBackend();
  const workers =
    config.replicas > 1 ? await ReplicaWorkers.start(config.replicas - 1, { graph, optimizer: config.optimizer, freeze: config.freeze, backend }) : undefined;
  try {
    workers?.broadcast({ kind: 'weights', weights: main.weights() });
    workers?.broadcast({ kind: 'optimizer', state: main.optimizer.state() });
    return await new DenseRun(options, state, main, workers, log).epochs();
  } finally {
    await workers?.close();
    main.dispose();
  }
}

/** A run in progress: its epochs, steps, validations and saving. */
class DenseRun {
  private readonly files: ReturnType<typeof runFiles>;
  private readonly batchOf: (indices: Int32Array, random: () => number) => Promise<TrainingBatch>;
  private readonly runner: ModelRunner;
  /** The options' transform under the run's size policy (the checkpoint's, on resuming). */
  private readonly transform: ImageTransform;
  private readonly history: DenseEpochRecord[];
  private position: TrainPosition;
  /** The last validation's full figures, the run's final scoring when it ends. */
  private lastFigures: unknown;

  constructor(
    private readonly options: DenseTrainOptions,
    private readonly state: CheckpointState<DenseEpochRecord>,
    private readonly main: Replica,
    private readonly workers: ReplicaWorkers | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.files = runFiles(options.out);
    this.transform = withAskedSizes(options.transform, options.graph, state.config.naturalSizes ?? {});
    this.batchOf = batchMaker(options.data, this.transform, state.config);
    this.runner = modelRunner(options.graph, main.model);
    this.history = [...state.history];
    this.position = state.position;
  }

  private get stepsPerEpoch(): number {
    return Math.ceil(this.options.data.train.length / this.state.config.batchSize);
  }

  async epochs(): Promise<DenseTrainResult> {
    const { config } = this.state;
    const { graph, data } = this.options;
    if (this.position.step >= this.stepsPerEpoch)
      throw new UserError(
        `${this.files.checkpoint} cannot be resumed from: it stopped at step ${this.position.step + 1}, but an epoch here is ${this.stepsPerEpoch} steps (is it the same data?)`,
      );
    this.log(
      `netspec: training ${graph.name} (${data.kind}) on ${data.train.length} images of ${data.train.source} ${sizeText(this.transform, config)} for ${config.epochs} epochs of ${this.stepsPerEpoch} steps ` +
        `(batch ${config.batchSize}, ${config.optimizer.name}, ${config.schedule} learning rate ${config.learningRate}` +
        `${config.clipGradNorm ? `, gradients clipped to norm ${config.clipGradNorm}` : ''}, ${config.replicas} replica${config.replicas > 1 ? 's' : ''}); ` +
        `validating on ${data.val.length} images of ${data.val.source}` +
        (this.position.epoch > 0 || this.position.step > 0 ? `; resuming at epoch ${this.position.epoch + 1}, step ${this.position.step + 1}` : ''),
    );
    while (this.position.epoch < config.epochs) {
      if (!(await this.trainEpoch())) return { history: this.history, interrupted: true };
      await this.endEpoch();
      if (this.options.shouldStop?.() && this.position.epoch < config.epochs) {
        this.log(`netspec: stopped after epoch ${this.position.epoch}; checkpoint saved to ${this.files.checkpoint} (continue with --resume)`);
        return { history: this.history, interrupted: true };
      }
    }
    await this.finish();
    return { history: this.history, interrupted: false };
  }

  /** The rest of the current epoch's steps; false when stopped on request, its position saved. */
  private async trainEpoch(): Promise<boolean> {
    const { config } = this.state;
    const { epoch } = this.position;
    const order = epochOrder(this.options.data.train.length, config.seed, epoch);
    const total = this.stepsPerEpoch * config.epochs;
    const started = performance.now() - this.position.seconds * 1000;
    const progress = this.options.progress?.(`epoch ${epoch + 1}/${config.epochs}`);
    for (let step = this.position.step; step < this.stepsPerEpoch; step++) {
      const indices = order.subarray(step * config.batchSize, (step + 1) * config.batchSize);
      const batch = { ...(await this.batchOf(indices, randomFor(config.seed, 2, epoch, step))), seed: stepSeed(config.seed, epoch, step) };
      const rate = learningRate(config.schedule, config.learningRate, epoch * this.stepsPerEpoch + step, total);
      const results = await trainStep(this.main, this.workers, batch, rate, config.clipGradNorm ?? undefined);
      this.position = advanced(this.position, results, step + 1, (performance.now() - started) / 1000);
      const { lossSum, seen } = this.position;
      if (!Number.isFinite(lossSum)) throw diverged(this.files.checkpoint, `at epoch ${epoch + 1}, step ${step + 1}: the loss is ${lossSum}`);
      progress?.update(seen, this.options.data.train.length, `loss ${(lossSum / seen).toFixed(4)}`);
      // Yield so that a Ctrl-C handler can run between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.options.shouldStop?.() && step + 1 < this.stepsPerEpoch) {
        progress?.end();
        this.snapshot();
        this.log(
          `netspec: stopped at epoch ${epoch + 1}, step ${step + 1} of ${this.stepsPerEpoch}; checkpoint saved to ${this.files.checkpoint} (continue with --resume)`,
        );
        return false;
      }
    }
    progress?.end();
    return true;
  }

  /** Validates, records the epoch, logs its line and saves the checkpoint at the next epoch's start. */
  private async endEpoch(): Promise<void> {
    const { epoch, lossSum, seen, seconds, parts = {} } = this.position;
    const validation = await this.validate(`validation ${epoch + 1}/${this.state.config.epochs}`);
    const record: DenseEpochRecord = {
      epoch: epoch + 1,
      trainLoss: lossSum / seen,
      losses: Object.fromEntries(Object.entries(parts).map(([name, sum]) => [name, sum / seen])),
      scores: validation.scores,
      seconds,
    };
    this.lastFigures = validation.figures;
    this.history.push(record);
    this.log(denseEpochSummary(record, this.state.config.epochs));
    this.position = { epoch: epoch + 1, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0, parts: {} };
    this.snapshot();
  }

  /** The validation split's scores, and its full figures as `eval --json` gives them. */
  private validate(label: string): Promise<Validation> {
    const { graph, data } = this.options;
    return validationScores(graph, data, this.runner, this.transform, this.options.progress?.(label));
  }

  private snapshot(): void {
    const weights = finiteWeights(this.main, `before epoch ${this.position.epoch + 1}, step ${this.position.step + 1}`, this.files.checkpoint);
    writeCheckpoint(this.files.checkpoint, {
      state: { ...this.state, position: this.position, history: this.history },
      weights,
      optimizer: this.main.optimizer.state(),
    });
  }

  /** The weights folder (normalisation, class names, the detector's category mapping), metrics.json and curves.svg. */
  private async finish(): Promise<void> {
    const { graph, data } = this.options;
    const { weights, metrics, curves } = this.files;
    const classes = data.kind === 'detection' ? classNamesOf(data.mapping, graph.task!.classes) : data.classNames;
    const categories = data.kind === 'detection' ? data.mapping.toJSON() : undefined;
    writeWeightsFolder(weights, graph.name, finiteWeights(this.main, 'at the end', this.files.checkpoint), [], {
      input: this.state.normalization,
      classes,
      categories,
    });
    // The last epoch's validation ran these weights; a run resumed with all its epochs done scores them again.
    const final = this.lastFigures ?? (await this.validate('final scoring')).figures;
    const engine = { engine: 'tfjs', backend: tf.getBackend(), replicas: this.state.config.replicas } as const;
    const { config, normalization } = this.state;
    writeDenseReport({ metrics, curves }, { model: graph.name, task: data.kind, engine, config, normalization, history: this.history, evaluation: final });
    const last = this.history.at(-1);
    const scores = last ? Object.entries(last.scores).map(([name, value]) => `${name} ${value === null ? 'n/a' : value.toFixed(4)}`) : [];
    this.log(`netspec: validation ${scores.join(', ')} after ${this.history.length} epochs; weights in ${weights}, metrics in ${metrics}, curves in ${curves}`);
  }
}

/** The position after a step's results: its sums added. */
function advanced(
  position: TrainPosition,
  results: readonly { lossSum: number; count: number; parts: Readonly<Record<string, number>> }[],
  step: number,
  seconds: number,
): TrainPosition {
  const parts = { ...position.parts };
  for (const result of results) for (const [name, sum] of Object.entries(result.parts)) parts[name] = (parts[name] ?? 0) + sum;
  return {
    ...position,
    step,
    lossSum: position.lossSum + results.reduce((sum, r) => sum + r.lossSum, 0),
    seen: position.seen + results.reduce((n, r) => n + r.count, 0),
    seconds,
    parts,
  };
}

/** The function that reads, augments and targets a batch of the training images at given positions (the PyTorch engine's agreement test makes its batches with it too). */
export function batchMaker(
  data: DenseData,
  transform: ImageTransform,
  config: TrainConfig,
): (indices: Int32Array, random: () => number) => Promise<TrainingBatch> {
  const { augmentation } = config;
  if (data.kind === 'segmentation') {
    const augment = augmentation.segmentationRecipe === true;
    const crop = augment && transform.fit === 'natural' ? segmentationCrop(transform.sizes!) : undefined;
    const batching = { dataset: data.train, classes: data.classNames.length, augment, crop };
    return (indices, random) => segmentationBatch(batching, indices, transform, random);
  }
  const batching = {
    dataset: data.train,
    mapping: data.mapping,
    anchorsAt: anchorsBySize(data.configAt),
    augmentation: { horizontalFlip: augmentation.horizontalFlip, scaleRange: augmentation.scaleRange ?? ([1, 1] as const) },
  };
  return (indices, random) => detectionBatch(batching, indices, transform, random);
}

/** The size the run's batches have, in words. */
function sizeText(transform: ImageTransform, config: TrainConfig): string {
  if (transform.fit !== 'natural') return `at ${transform.height}×${transform.width}`;
  const policy = transform.sizes!;
  if (config.augmentation.segmentationRecipe) {
    const { size, baseSize } = segmentationCrop(policy);
    return `in ${size.height}×${size.width} crops of images resized around a shorter side of ${baseSize}`;
  }
  return `at natural sizes (shorter side ${policy.minSize}, longer at most ${policy.maxSize}, batches padded to multiples of ${policy.multiple})`;
}

/**
 * The segmentation recipe's crop at an open size, as torchvision's reference has it: a square of 480/520 of the base
 * size (480 for its 520), rounded up to the model's multiple and at least its smallest side; the base size is the
 * policy's shorter side.
 */
export function segmentationCrop(policy: SizePolicy): { size: { height: number; width: number }; baseSize: number } {
  const side = Math.max(policy.smallest ?? 1, Math.ceil(Math.round((policy.minSize * 480) / 520) / policy.multiple) * policy.multiple);
  return { size: { height: side, width: side }, baseSize: policy.minSize };
}
