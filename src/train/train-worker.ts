// A data-parallel training worker: one wasm backend and one model replica, computing gradients on its share
// of each batch and applying the averaged update it is sent, in message order.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendChoice } from '../runtime/backends/node.js';
import type { ReplicaMessage, WorkerSetup } from './parallel.js';
import { Replica } from './replica.js';

const setup = workerData as WorkerSetup;
await initBackend({ backend: setup.backend as BackendChoice, log: () => {} });
const replica = new Replica(setup.graph, setup.optimizer, setup.freeze ?? []);
const port = parentPort!;

port.on('message', (message: ReplicaMessage) => {
  try {
    if (message.kind === 'gradients') {
      const result = replica.gradients(message.images, message.targets, message.seed, message.size);
      port.postMessage({ kind: 'gradients', result }, [result.gradients.buffer as ArrayBuffer]);
    } else if (message.kind === 'evaluate') {
      port.postMessage({ kind: 'evaluated', result: replica.evaluate(message.batches) });
    } else if (message.kind === 'apply') {
      replica.apply(message.gradients, message.learningRate);
    } else if (message.kind === 'weights') {
      replica.setWeights(message.weights);
    } else if (message.kind === 'optimizer') {
      replica.optimizer.restore(message.state);
    }
  } catch (error) {
    port.postMessage({ kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
port.postMessage({ kind: 'ready' });
