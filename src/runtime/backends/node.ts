import * as tf from '@tensorflow/tfjs';

import { startBackend, type BackendChoice, type BackendOptions } from './options.js';

export type { BackendChoice, BackendOptions } from './options.js';

/** Node's backends, fastest first; webgl needs a page. */
const choices: readonly BackendChoice[] = ['tensorflow', 'wasm', 'cpu'];

/** The optional libtensorflow bindings, fastest first; either registers the `tensorflow` backend when imported. */
const tensorflowPackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * Picks and initialises the TensorFlow.js backend: tfjs-node-gpu, tfjs-node, wasm, cpu, in that order,
 * whichever loads. Prints one line naming the backend in use and, if a requested one could not load, why.
 * On wasm it also registers netspec's gradient kernels, so that models train there.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const requested = options.backend ?? parseChoice(process.env.NETSPEC_BACKEND);
  const order = requested ? [requested, ...choices.filter((c) => c !== requested && c !== 'tensorflow')] : choices;
  const failures: string[] = [];
  for (const choice of order) {
    const failure = await tryBackend(choice);
    if (failure === undefined) {
      const detail = choice === 'tensorflow' ? ` (${loadedTensorflowPackage})` : '';
      const fallback = failures.length > 0 ? `; ${failures.join('; ')}` : '';
      log(`netspec: TensorFlow.js backend ${choice}${detail}${fallback}`);
      return choice;
    }
    failures.push(`${choice} unavailable: ${failure}`);
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${failures.join('; ')}`);
}

function parseChoice(value: string | undefined): BackendChoice | undefined {
  if (value === undefined || value === '') return undefined;
  if ((choices as readonly string[]).includes(value)) return value as BackendChoice;
  throw new Error(`NETSPEC_BACKEND must be one of ${choices.join(', ')}; got ${JSON.stringify(value)}`);
}

let loadedTensorflowPackage = '';

/** Returns undefined when the backend is now active, or a short reason why it is not. */
function tryBackend(choice: BackendChoice): Promise<string | undefined> {
  return startBackend(choice, async () => {
    if (choice === 'webgl' || choice === 'webgpu') return `${choice} needs a browser`;
    if (choice === 'tensorflow') {
      const missing: string[] = [];
      for (const name of tensorflowPackages) {
        try {
          await import(name);
          loadedTensorflowPackage = name;
          break;
        } catch {
          missing.push(name);
        }
      }
      return loadedTensorflowPackage ? undefined : `${missing.join(' and ')} not installed`;
    }
    if (choice === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    // The cpu backend's one-time advice to install tfjs-node is printed unless tfjs runs in production mode.
    else tf.enableProdMode();
    return undefined;
  });
}
