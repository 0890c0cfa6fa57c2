// A worker of the inference pool: builds the model from a generated module on its own wasm backend, loads the
// weights folder, optimises the model for inference, and answers batches sent by the pool.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends/node.js';
import { optimizeForInference } from './optimize.js';
import type { InferencePlan } from './plan.js';

interface Setup {
  readonly module: string;
  readonly weights?: string;
}
interface Request {
  readonly id: number;
  readonly images: Float32Array;
  readonly shape: number[];
}

const { module, weights } = workerData as Setup;
if (module.endsWith('.ts')) {
  // A generated module still in TypeScript needs tsx's loader, which a worker does not inherit from its parent.
  const tsx: string = 'tsx/esm/api';
  ((await import(tsx)) as { register(): void }).register();
}
await initBackend({ backend: 'wasm', log: () => {} });
const generated = (await import(module)) as {
  createModel(options?: { weights: string }): tf.LayersModel | Promise<tf.LayersModel>;
  inferencePlan: InferencePlan;
};
const model = await (weights === undefined ? generated.createModel() : generated.createModel({ weights }));
const fast = optimizeForInference(model, generated.inferencePlan);

parentPort!.on('message', ({ id, images, shape }: Request) => {
  try {
    const input = tf.tensor4d(images, shape as [number, number, number, number]);
    const result = fast.predict(input);
    input.dispose();
    const outputs = (Array.isArray(result) ? result : [result]).map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape }));
    tf.dispose(result);
    parentPort!.postMessage(
      { id, outputs },
      outputs.map((o) => o.data.buffer as ArrayBuffer),
    );
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
