import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { writeAtomically } from '../files/atomic-write.js';
import { PRODUCER } from '../files/output-guard.js';
import { writeWeightsFolder } from '../weights/folder.js';
import { assembleBatch, epochOrder, limitedSet, measureNormalization, randomFor, type Normalization } from './batches.js';
import { CHECKPOINT_FILE, readRunCheckpoint, writeCheckpoint, type CheckpointState, type TrainPosition } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { ReplicaWorkers, type TrainingBatch } from './parallel.js';
import { sliceTargets, targetCount } from './dense/dense-loss.js';
import { plotHistory, type EpochRecord } from './plot.js';
import { formatDuration } from '../terminal/progress.js';
import { progressReporter, type ProgressReporter } from './progress.js';
import { Replica, type Evaluation, type GradientResult } from './replica.js';
import { learningRate } from './schedule.js';
import { classOutputs, initialisedFrom } from './fine-tune.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { weightProblem } from '../runtime/weights/numbers.js';
import { UserError } from '../errors/user-error.js';

export interface TrainOptions {
  readonly graph: AnalyzedGraph;
  /** The images, and the class names in label order that the weights folder records when given. */
  readonly data: { readonly train: ImageSet; readonly test: ImageSet; readonly classNames?: readonly string[] };
  /** The run's settings; a resumed run keeps the ones saved in its checkpoint. */
  readonly config: TrainConfig;
  /** Folder for the checkpoint, the final weights, metrics.json and curves.svg. */
  readonly out: string;
  /** Start from these weights (a weights folder's, named in `source`) instead of a fresh initialisation; a classifier head of other shapes starts fresh. */
  readonly init?: { readonly weights: ReadonlyMap<string, NamedWeight>; readonly source: string };
  /** Continue from `out`/checkpoint.safetensors, with the settings saved there. */
  readonly resume?: boolean;
  /** The backend replicas in worker threads initialise (the main thread's is already chosen). */
  readonly backend?: string;
  /** Summary lines (one per epoch, the result); default standard error. */
  readonly log?: (line: string) => void;
  readonly progress?: ProgressReporter;
  /** Stop after the step in progress, save a checkpoint and return (Ctrl-C); checked after every step. */
  readonly shouldStop?: () => boolean;
}

export interface TrainResult {
  readonly history: readonly EpochRecord[];
  /** Whether training stopped early at shouldStop's request; the checkpoint then holds the position. */
  readonly interrupted: boolean;
  readonly testAccuracy: number;
  readonly files: { readonly checkpoint: string; readonly weights?: string; readonly metrics?: string; readonly curves?: string };
}

const EVAL_BATCH = 500;

/** The files a run writes into its folder. */
export function runFiles(out: string): { checkpoint: string; weights: string; metrics: string; curves: string } {
  return { checkpoint: join(out, CHECKPOINT_FILE), weights: join(out, 'weights'), metrics: join(out, 'metrics.json'), curves: join(out, 'curves.svg') };
}

/**
 * Trains a classifier graph on an image set: SGD or Adam per step on a schedule, BatchNorm in training mode,
 * evaluation on the test set after each epoch in inference mode, a checkpoint after each epoch (and on a stop
 * request) from which `resume` continues exactly, then the weights folder, metrics.json and curves.svg.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { graph, data, out } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress = options.progress ?? progressReporter(process.stderr);
  const { checkpoint: checkpointPath, weights, metrics, curves } = runFiles(out);

  const saved = options.resume ? readRunCheckpoint(out, graph) : undefined;
  const state: CheckpointState = saved?.state ?? {
    format: 'netspec-checkpoint',
    version: 1,
    model: graph.name,
    config: options.config,
    normalization: measureNormalization(data.train),
    position: { epoch: 0, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    history: [],
  };
  const freeze = state.config.freeze ?? [];
  const main = new Replica(graph, state.config.optimizer, freeze);
  if (saved) {
    const slots = main.optimizer.stateProblem(saved.optimizer);
    if (slots) {
      main.dispose();
      throw new UserError(`${checkpointPath} cannot be resumed from: ${slots}`);
    }
    main.setWeights(saved.weights);
    main.optimizer.restore(saved.optimizer);
  } else {
    main.initialise(graph, state.config.seed);
    if (options.init) startFrom(graph, main, options.init, log);
  }
  const { config, normalization } = state;
  const workers =
    config.replicas > 1
      ? await ReplicaWorkers.start(config.replicas - 1, { graph, optimizer: config.optimizer, freeze, backend: options.backend ?? tf.getBackend() })
      : undefined;
  try {
    if (workers) {
      workers.broadcast({ kind: 'weights', weights: main.weights() });
      workers.broadcast({ kind: 'optimizer', state: main.optimizer.state() });
    }
    return await run(workers);
  } finally {
    await workers?.close();
    main.dispose();
  }

  /** The checkpoint of a run at `position`; weights or slots gone NaN or infinite stop the run instead of being saved. */
  function snapshot(position: TrainPosition, history: readonly EpochRecord[]): void {
    const weights = finiteWeights(main, `before epoch ${position.epoch + 1}, step ${position.step + 1}`, checkpointPath);
    writeCheckpoint(checkpointPath, { state: { ...state, position, history }, weights, optimizer: main.optimizer.state() });
  }

  async function run(workers: ReplicaWorkers | undefined): Promise<TrainResult> {
    const trainSet = limitedSet(data.train, config.trainLimit, config.seed);
    const trainCount = trainSet.count;
    const stepsPerEpoch = Math.ceil(trainCount / config.batchSize);
    const totalSteps = stepsPerEpoch * config.epochs;
    const history = [...state.history];
    let { epoch, step, lossSum, correct, seen, seconds } = state.position;
    if (step >= stepsPerEpoch || seen > trainCount)
      throw new UserError(
        `${checkpointPath} cannot be resumed from: it stopped at step ${step + 1} having seen ${seen} images, but an epoch here is ${stepsPerEpoch} steps of ${trainCount} images (is it the same data?)`,
      );
    log(
      `netspec: training ${graph.name} on ${trainCount} images for ${config.epochs} epochs of ${stepsPerEpoch} steps (batch ${config.batchSize}, ` +
        `${config.optimizer.name}, ${config.schedule} learning rate ${config.learningRate}, ${config.replicas} replica${config.replicas > 1 ? 's' : ''})` +
        (epoch > 0 || step > 0 ? `; resuming at epoch ${epoch + 1}, step ${step + 1}` : ''),
    );
    for (; epoch < config.epochs; epoch++) {
      const order = epochOrder(trainCount, config.seed, epoch);
      const started = performance.now() - seconds * 1000;
      for (; step < stepsPerEpoch; step++) {
        const indices = order.subarray(step * config.batchSize, (step + 1) * config.batchSize);
        const batch = assembleBatch(trainSet, indices, normalization, config.augmentation, randomFor(config.seed, 2, epoch, step));
        const rate = learningRate(config.schedule, config.learningRate, epoch * stepsPerEpoch + step, totalSteps);
        const results = await trainStep(main, workers, { images: batch.images, targets: batch.labels, seed: stepSeed(config.seed, epoch, step) }, rate);
        const count = results.reduce((n, r) => n + r.count, 0);
        lossSum += results.reduce((s, r) => s + r.lossSum, 0);
        correct += results.reduce((s, r) => s + r.correct, 0);
        seen += count;
        if (!Number.isFinite(lossSum)) throw diverged(checkpointPath, `at epoch ${epoch + 1}, step ${step + 1}: the loss is ${lossSum}`);
        const elapsed = (performance.now() - started) / 1000;
        progress.step({
          epoch: epoch + 1,
          epochs: config.epochs,
          done: seen,
          total: trainCount,
          loss: lossSum / seen,
          accuracy: correct / seen,
          imagesPerSecond: seen / elapsed,
        });
        // A step on one replica never waits on anything; yield so that a Ctrl-C handler can run.
        await new Promise((resolve) => setImmediate(resolve));
        if (options.shouldStop?.() && step + 1 < stepsPerEpoch) {
          progress.end();
          snapshot({ epoch, step: step + 1, lossSum, correct, seen, seconds: elapsed }, history);
          log(`netspec: stopped at epoch ${epoch + 1}, step ${step + 1} of ${stepsPerEpoch}; checkpoint saved to ${checkpointPath} (continue with --resume)`);
          return { history, interrupted: true, testAccuracy: history.at(-1)?.testAccuracy ?? NaN, files: { checkpoint: checkpointPath } };
        }
      }
      progress.end();
      const test = await evaluate(main, workers, data.test, normalization);
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: lossSum / seen,
        trainAccuracy: correct / seen,
        testLoss: test.loss,
        testAccuracy: test.accuracy,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(record);
      log(epochSummary(record, config.epochs));
      step = 0;
      lossSum = correct = seen = seconds = 0;
      snapshot({ epoch: epoch + 1, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 }, history);
      if (options.shouldStop?.() && epoch + 1 < config.epochs) {
        log(`netspec: stopped after epoch ${epoch + 1}; checkpoint saved to ${checkpointPath} (continue with --resume)`);
        return { history, interrupted: true, testAccuracy: record.testAccuracy, files: { checkpoint: checkpointPath } };
      }
    }
    return finish(history);
  }

  function finish(history: readonly EpochRecord[]): TrainResult {
    // The normalisation and class names travel with the weights, so that predict feeds and names images as training did.
    writeWeightsFolder(weights, graph.name, finiteWeights(main, 'at the end', checkpointPath), [], { input: state.normalization, classes: data.classNames });
    const engine = { engine: 'tfjs', backend: tf.getBackend(), replicas: state.config.replicas } as const;
    const { last, totalSeconds } = writeRunReport(out, { model: graph.name, engine, config: state.config, normalization: state.normalization, history });
    log(
      `netspec: test accuracy ${last ? percent(last.testAccuracy) : 'n/a'} after ${history.length} epochs in ${formatDuration(totalSeconds)}; weights in ${weights}, metrics in ${metrics}, curves in ${curves}`,
    );
    return { history, interrupted: false, testAccuracy: last?.testAccuracy ?? NaN, files: { checkpoint: checkpointPath, weights, metrics, curves } };
  }
}

/** One epoch's line of a run's log, the same from either engine. */
export function epochSummary(record: EpochRecord, epochs: number): string {
  return (
    `epoch ${record.epoch}/${epochs}  train loss ${record.trainLoss.toFixed(4)} acc ${percent(record.trainAccuracy)}  ` +
    `test loss ${record.testLoss.toFixed(4)} acc ${percent(record.testAccuracy)}  ${formatDuration(record.seconds)}`
  );
}

/** Which engine trained a run and how it was spread: threads of tfjs replicas, or PyTorch processes on machines. */
export type RunEngine =
  | { readonly engine: 'tfjs'; readonly backend: string; readonly replicas: number }
  | { readonly engine: 'torch'; readonly device: string; readonly processes: number; readonly machines: number };

/** A diverged run: a UserError of one line saying where, and that the last checkpoint is kept. */
export function diverged(checkpointPath: string, where: string): UserError {
  return new UserError(
    `training diverged ${where}; nothing of it was saved, and ${checkpointPath} keeps the last finished epoch, if any: lower the learning rate (--lr) or clip the gradients (--clip-grad) and train again`,
  );
}

/** The replica's weights, refused as a diverged run when any is NaN or infinite, so that none is ever written. */
export function finiteWeights(main: Replica, where: string, checkpointPath: string): NamedWeight[] {
  const weights = main.weights();
  for (const w of weights) {
    const problem = weightProblem(w.name, w.data);
    if (problem) throw diverged(checkpointPath, `${where}: ${problem}`);
  }
  return weights;
}

/**
 * A finished run's metrics.json (the engine and how it was spread, settings, input normalisation, every epoch) and
 * curves.svg, whichever engine trained it; returns the last epoch and the seconds of all of them.
 */
export function writeRunReport(
  out: string,
  run: {
    readonly model: string;
    readonly engine: RunEngine;
    readonly config: Omit<TrainConfig, 'replicas'>;
    readonly normalization: Normalization;
    readonly history: readonly EpochRecord[];
  },
): { last: EpochRecord | undefined; totalSeconds: number } {
  const { metrics, curves } = runFiles(out);
  const { model, engine, config, normalization, history } = run;
  const last = history.at(-1);
  const totalSeconds = history.reduce((s, r) => s + r.seconds, 0);
  const summary = {
    producer: PRODUCER,
    model,
    ...engine,
    config,
    normalization,
    testAccuracy: last?.testAccuracy ?? null,
    testLoss: last?.testLoss ?? null,
    seconds: totalSeconds,
    history,
  };
  writeAtomically(metrics, `${JSON.stringify(summary, null, 2)}\n`, 'json');
  writeAtomically(
    curves,
    plotHistory(history, `${model}: ${history.length} epochs, test accuracy ${last ? percent(last.testAccuracy) : 'n/a'}`),
    'generated-text',
  );
  return { last, totalSeconds };
}

/** Sets the replica's weights from a folder's, keeping a head for another class count fresh and saying so. */
export function startFrom(graph: AnalyzedGraph, main: Replica, init: NonNullable<TrainOptions['init']>, log: (line: string) => void): void {
  const heads = classOutputs(graph);
  const { weights, freshHead } = initialisedFrom(main.weights(), init.weights, heads, init.source);
  main.setWeights(weights);
  log(
    `netspec: starting from the weights in ${init.source}${freshHead ? `; the head ${heads.join(', ')} has other shapes there (another class count) and starts fresh` : ''}`,
  );
}

/**
 * One optimiser step of every replica: the batch is split into one contiguous share per replica, the main
 * thread's share runs while the workers run theirs, and the gradients, averaged by share size, update each
 * replica alike. Returns each share's result.
 */
export async function trainStep(
  main: Replica,
  workers: ReplicaWorkers | undefined,
  batch: TrainingBatch,
  rate: number,
  clipNorm?: number,
): Promise<GradientResult[]> {
  const results = await gradients(main, workers, batch);
  const count = results.reduce((n, r) => n + r.count, 0);
  const averaged = new Float32Array(main.trainableSize);
  for (const r of results) {
    const weight = r.count / count;
    for (let i = 0; i < averaged.length; i++) averaged[i] = averaged[i]! + r.gradients[i]! * weight;
  }
  if (clipNorm !== undefined) clipGradientNorm(averaged, clipNorm);
  workers?.broadcast({ kind: 'apply', gradients: averaged, learningRate: rate });
  main.apply(averaged, rate);
  return results;
}

/** The seed of a step's dropout and drop path: a stream of its own, apart from the order's and the augmentation's. */
export function stepSeed(seed: number, epoch: number, step: number): number {
  return Math.floor(randomFor(seed, 4, epoch, step)() * 2 ** 32);
}

/**
 * Scales the gradients down to a global 2-norm of at most `maxNorm`, as torch.nn.utils.clip_grad_norm_ does (the
 * factor maxNorm / (norm + 10⁻⁶), applied when below 1), before weight decay is added.
 */
export function clipGradientNorm(gradients: Float32Array, maxNorm: number): number {
  let squares = 0;
  for (const g of gradients) squares += g * g;
  const norm = Math.sqrt(squares);
  const factor = maxNorm / (norm + 1e-6);
  if (factor < 1) for (let i = 0; i < gradients.length; i++) gradients[i] = gradients[i]! * factor;
  return norm;
}

async function gradients(main: Replica, workers: ReplicaWorkers | undefined, batch: TrainingBatch): Promise<GradientResult[]> {
  if (!workers) return [main.gradients(batch.images, batch.targets, batch.seed, batch.size)];
  const [own, ...rest] = splitBatch(batch, workers.size + 1);
  const pending = workers.gradients(rest);
  const result = main.gradients(own!.images, own!.targets, own!.seed, own!.size);
  return [result, ...(await pending)];
}

/** The batch in `replicas` contiguous shares of as near equal image counts as can be, each with a seed of its own. */
function splitBatch(batch: TrainingBatch, replicas: number): TrainingBatch[] {
  const { images, targets, seed, size } = batch;
  const count = targets instanceof Int32Array ? targets.length : targetCount(targets);
  const imageSize = images.length / count;
  const bounds = Array.from({ length: replicas + 1 }, (_, i) => Math.round((i * count) / replicas));
  return Array.from({ length: replicas }, (_, i) => ({
    images: images.slice(bounds[i]! * imageSize, bounds[i + 1]! * imageSize),
    targets: targets instanceof Int32Array ? targets.slice(bounds[i]!, bounds[i + 1]!) : sliceTargets(targets, bounds[i]!, bounds[i + 1]!),
    seed: seed === undefined ? undefined : (seed + i) >>> 0,
    size,
  }));
}

/**
 * Mean loss and accuracy over a set in inference mode, split across the replicas: the workers first take the main
 * replica's weights, so that every share is evaluated with the same BatchNorm statistics, the ones saved.
 */
async function evaluate(
  main: Replica,
  workers: ReplicaWorkers | undefined,
  set: ImageSet,
  normalization: Normalization,
): Promise<{ loss: number; accuracy: number }> {
  const batches: { images: Float32Array; labels: Int32Array }[] = [];
  for (let start = 0; start < set.count; start += EVAL_BATCH) {
    batches.push(
      assembleBatch(
        set,
        Int32Array.from({ length: Math.min(EVAL_BATCH, set.count - start) }, (_, i) => start + i),
        normalization,
      ),
    );
  }
  const replicas = (workers?.size ?? 0) + 1;
  const shares = Array.from({ length: replicas }, (_, r) => batches.filter((_, i) => i % replicas === r));
  let pending: Promise<Evaluation[]> = Promise.resolve([]);
  if (workers) {
    workers.broadcast({ kind: 'weights', weights: main.weights() });
    pending = workers.evaluate(shares.slice(1));
  }
  const results = [main.evaluate(shares[0]!), ...(await pending)];
  const count = results.reduce((n, r) => n + r.count, 0);
  return { loss: results.reduce((s, r) => s + r.lossSum, 0) / count, accuracy: results.reduce((s, r) => s + r.correct, 0) / count };
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}
