// What initBackend shares in Node and in the page: one options type, so code that runs in both type-checks against
// either, and the last step of starting a backend.
import * as tf from '@tensorflow/tfjs';
import type { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradients } from '../training/wasm-gradients.js';

/** `tensorflow` (tfjs-node, libtensorflow) exists only in Node, `webgpu` and `webgl` only in a page; wasm and cpu everywhere. */
export type BackendChoice = 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendOptions {
  /**
   * Force a backend (falling back, with the reason, if it cannot start). In Node the default is the NETSPEC_BACKEND
   * environment variable, then tfjs-node-gpu, tfjs-node, wasm, cpu; in a page webgpu (when the page imports
   * `@tensorflow/tfjs-backend-webgpu`, which registers it), webgl, wasm, cpu.
   */
  readonly backend?: BackendChoice;
  /**
   * Where tfjs-backend-wasm's .wasm files are served (a folder URL ending in `/`, or one URL per file). Bundlers do
   * not copy them: serve `@tensorflow/tfjs-backend-wasm/dist/*.wasm` and point here. Node finds them itself.
   */
  readonly wasmPaths?: Parameters<typeof setWasmPaths>[0];
  /** wasm threads on a cross-origin-isolated page (default: every core; tfjs caps at half). Node's wasm has one. */
  readonly threads?: number;
  /** Where the one line naming the backend goes: standard error in Node, console.info in a page. */
  readonly log?: (line: string) => void;
}

/**
 * Starts `choice` after `prepare` (which loads or configures it, or says why it cannot be had); undefined when it
 * is now active, else a short reason. On wasm it registers netspec's gradient kernels, so that models train there.
 */
export async function startBackend(choice: BackendChoice, prepare: () => Promise<string | undefined>): Promise<string | undefined> {
  try {
    const refused = await prepare();
    if (refused !== undefined) return refused;
    if (!(await tf.setBackend(choice))) return 'it failed to initialise';
    await tf.ready();
    if (choice === 'wasm') registerWasmGradients();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}
