import type { Worker } from 'node:worker_threads';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { startWorker, workerScript } from '../runtime/inference/worker-thread.js';
import type { OptimizerConfig } from './optimizer.js';
import type { BatchTargets, Evaluation, GradientResult } from './replica.js';

/** A batch, or a replica's share of one: images channels last, and what they are trained against. */
export interface TrainingBatch {
  readonly images: Float32Array;
  readonly targets: BatchTargets;
  /** The images' height and width, for a model of an open input size; a fixed size's are the model's. */
  readonly size?: { readonly height: number; readonly width: number };
  /** Seeds the share's dropout and drop path (see training-random.ts); unseeded when absent. */
  readonly seed?: number;
}

export interface WorkerSetup {
  readonly graph: AnalyzedGraph;
  readonly optimizer: OptimizerConfig;
  /** Layers to freeze (see frozenLayers); none when absent. */
  readonly freeze?: readonly string[];
  readonly backend: string;
}

export type ReplicaMessage =
  | ({ readonly kind: 'gradients' } & TrainingBatch)
  | { readonly kind: 'apply'; readonly gradients: Float32Array; readonly learningRate: number }
  | { readonly kind: 'evaluate'; readonly batches: readonly { images: Float32Array; labels: Int32Array }[] }
  | { readonly kind: 'weights'; readonly weights: readonly NamedWeight[] }
  | { readonly kind: 'optimizer'; readonly state: { steps: number; slots: Float32Array[][] } };

type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'gradients'; result: GradientResult }
  | { kind: 'evaluated'; result: Evaluation }
  | { kind: 'error'; message: string };

/**
 * The replicas beyond the main thread's, one worker thread each. Messages are handled in order, so an update
 * posted before the next batch's shares is applied before those gradients are computed.
 */
export class ReplicaWorkers {
  private readonly waiting: ((reply: WorkerReply) => void)[][];
  private failure: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    this.waiting = workers.map(() => []);
    workers.forEach((worker, i) => {
      worker.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'error') this.failure = new Error(`training worker ${i + 1} failed: ${reply.message}`);
        this.waiting[i]!.shift()?.(reply);
      });
      worker.on('error', (error) => {
        this.failure = error;
        this.waiting[i]!.splice(0).forEach((resolve) => resolve({ kind: 'error', message: error.message }));
      });
    });
  }

  static async start(count: number, setup: WorkerSetup): Promise<ReplicaWorkers> {
    const workers = Array.from({ length: count }, () => startWorker(workerScript('train-worker', import.meta.url), setup));
    const pool = new ReplicaWorkers(workers);
    await Promise.all(workers.map((_, i) => pool.reply(i)));
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Starts each worker on its share; resolves with their results in order. */
  gradients(shares: readonly TrainingBatch[]): Promise<GradientResult[]> {
    return Promise.all(
      shares.map(async (share, i) => {
        this.post(i, { kind: 'gradients', ...share }, [share.images.buffer as ArrayBuffer]);
        const reply = await this.reply(i);
        if (reply.kind !== 'gradients') throw this.failure ?? new Error(`training worker ${i + 1} sent ${reply.kind}`);
        return reply.result;
      }),
    );
  }

  /** Evaluates each worker's share of batches; resolves with their sums in order. */
  evaluate(shares: readonly (readonly { images: Float32Array; labels: Int32Array }[])[]): Promise<Evaluation[]> {
    return Promise.all(
      shares.map(async (batches, i) => {
        this.post(i, { kind: 'evaluate', batches });
        const reply = await this.reply(i);
        if (reply.kind !== 'evaluated') throw this.failure ?? new Error(`training worker ${i + 1} sent ${reply.kind}`);
        return reply.result;
      }),
    );
  }

  broadcast(message: ReplicaMessage): void {
    this.workers.forEach((_, i) => this.post(i, message));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private post(i: number, message: ReplicaMessage, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    this.workers[i]!.postMessage(message, transfer);
  }

  private reply(i: number): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      if (this.failure) reject(this.failure);
      else this.waiting[i]!.push((reply) => (reply.kind === 'error' ? reject(this.failure ?? new Error(reply.message)) : resolve(reply)));
    });
  }
}
