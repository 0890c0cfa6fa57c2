import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker, workerScript } from './worker-thread.js';

export interface PoolOptions {
  /** The generated module (path or file URL) whose createModel() each worker calls. */
  readonly module: string;
  /** A weights folder for createModel({ weights }); without one, fresh weights (useful only for timing). */
  readonly weights?: string;
  /** Worker threads; default: one per core. */
  readonly workers?: number;
}

export interface OutputTensor {
  readonly data: Float32Array;
  readonly shape: number[];
}

export interface InferencePool {
  /** Splits an NHWC batch across the workers and returns each output (one per model output) for the whole batch. */
  predict(images: Float32Array, shape: readonly [batch: number, height: number, width: number, channels: number]): Promise<OutputTensor[]>;
  close(): Promise<void>;
}

/**
 * Batch-parallel inference: the wasm backend runs on one thread in Node, so a pool of worker threads, each with
 * its own backend and inference-optimised copy of the model, splits every batch between them.
 */
export async function createInferencePool(options: PoolOptions): Promise<InferencePool> {
  const count = Math.max(1, options.workers ?? availableParallelism());
  const script = workerScript('worker', import.meta.url);
  const module = options.module.startsWith('file:') ? options.module : new URL(options.module, `file://${process.cwd()}/`).href;
  const pending = new Map<number, { resolve: (outputs: OutputTensor[]) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const workers = await Promise.all(
    Array.from({ length: count }, async () => {
      const worker = startWorker(script, { module, weights: options.weights });
      worker.on('message', (message: { id?: number; outputs?: OutputTensor[]; error?: string }) => {
        if (message.id === undefined) return;
        const waiter = pending.get(message.id)!;
        pending.delete(message.id);
        if (message.error !== undefined) waiter.reject(new Error(message.error));
        else waiter.resolve(message.outputs!);
      });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      return worker;
    }),
  );
  const run = (worker: Worker, images: Float32Array, shape: number[]) =>
    new Promise<OutputTensor[]>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, images, shape }, [images.buffer as ArrayBuffer]);
    });

  return {
    async predict(images, shape) {
      const [batch, ...image] = shape;
      const perImage = image.reduce((a, b) => a * b, 1);
      if (images.length !== batch * perImage) throw new Error(`expected ${batch} image(s) of [${image.join(', ')}], got ${images.length} values`);
      const per = Math.ceil(batch / workers.length);
      const parts = workers.flatMap((worker, w) => {
        const from = w * per;
        const to = Math.min(batch, from + per);
        return to > from ? [run(worker, images.slice(from * perImage, to * perImage), [to - from, ...image])] : [];
      });
      const results = await Promise.all(parts);
      // Concatenate each output along the batch.
      return results[0]!.map((_, o) => {
        const pieces = results.map((r) => r[o]!);
        const data = new Float32Array(pieces.reduce((sum, p) => sum + p.data.length, 0));
        let at = 0;
        for (const piece of pieces) {
          data.set(piece.data, at);
          at += piece.data.length;
        }
        return { data, shape: [batch, ...pieces[0]!.shape.slice(1)] };
      });
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
