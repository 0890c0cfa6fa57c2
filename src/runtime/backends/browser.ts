// Backend choice in a web page or worker: the fastest backend that initialises, and on wasm the threaded SIMD build
// when the page is cross-origin isolated.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { startBackend, type BackendChoice, type BackendOptions } from './options.js';
import { page, softwareWebgl, webgpuUnavailable } from './page.js';

/** A page's backends, fastest first; libtensorflow needs Node. */
const order: readonly BackendChoice[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Picks and initialises the TensorFlow.js backend for a page: webgpu (when the page imports its package), webgl
 * (unless it is rendered in software), wasm, cpu, in that order, each only if it initialises. Says which runs and why the ones before it did not; on wasm, how many threads and, when it is one
 * for lack of cross-origin isolation, that COOP/COEP headers would give more. Registers netspec's wasm gradients.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const log = options.log ?? ((line: string) => console.info(line));
  const failures: string[] = [];
  for (const choice of options.backend ? [options.backend] : order) {
    const failure = await tryBackend(choice, options);
    if (failure === undefined) {
      log(
        `netspec: TensorFlow.js backend ${choice}${choice === 'wasm' ? ` (${wasmThreadsNote()})` : ''}${failures.length > 0 ? `; ${failures.join('; ')}` : ''}`,
      );
      return choice;
    }
    failures.push(`${choice} unavailable: ${failure}`);
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${failures.join('; ')}`);
}

function tryBackend(choice: BackendChoice, options: BackendOptions): Promise<string | undefined> {
  return startBackend(choice, async () => {
    if (choice === 'tensorflow') return 'libtensorflow (tfjs-node) runs only in Node';
    // tfjs' WebGPU backend is a package of its own; importing it registers the backend, and then it is tried first.
    if (choice === 'webgpu') return tf.findBackendFactory('webgpu') ? webgpuUnavailable() : "the page does not import '@tensorflow/tfjs-backend-webgpu'";
    // Chosen by default only on a GPU; asked for by name, it runs wherever it initialises.
    if (choice === 'webgl' && options.backend === undefined) return softwareWebgl();
    if (choice === 'wasm') {
      if (options.wasmPaths !== undefined) setWasmPaths(options.wasmPaths);
      // Threads only engage where SharedArrayBuffer exists, that is on a cross-origin-isolated page.
      if (page.crossOriginIsolated) setThreadsCount(options.threads ?? page.navigator?.hardwareConcurrency ?? 1);
    }
    if (choice === 'cpu') tf.enableProdMode();
    return undefined;
  });
}

function wasmThreadsNote(): string {
  const threads = getThreadsCount();
  if (page.crossOriginIsolated) return `${threads} thread${threads === 1 ? '' : 's'}`;
  return '1 thread: the page is not cross-origin isolated; serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp for threads';
}
