// netspec/onnx in a web page: the same createSession and runChecked as index.ts, on onnxruntime-web (an optional
// peer, imported statically so that the page's bundler resolves it, and fails to bundle when it is missing).
// The execution provider is WebGPU when the browser has an adapter and a session starts on it, else wasm; wasm runs
// multi-threaded only on a cross-origin-isolated page (COOP: same-origin and COEP: require-corp headers), which is
// what makes SharedArrayBuffer exist. No Node builtin here: this file is bundled for the browser.
//
// What to serve: onnxruntime-web's default entry is its JSEP build (WebGPU, WebNN and wasm in one binary), so
// node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm and ort-wasm-simd-threaded.jsep.mjs (the
// Emscripten loader, which wasm threads start from), at the URL given as `wasmPaths`.
import * as ort from 'onnxruntime-web';
import { page, webgpuUnavailable } from '../backends/page.js';
import { checkedRunner, type OnnxOptions, type OnnxSession } from './types.js';

export type { OnnxOptions, OnnxSession, OnnxTensor, TypedOutput } from './types.js';
export { decodeBatch, type DetectionConfig, type Detections } from '../tasks/detection.js';
export { checkOpenSize, type OpenSizes } from '../open-sizes.js';

/** onnxruntime-web's own default thread count: half the logical cores (one per physical core), at most 4. */
const MAX_DEFAULT_THREADS = 4;

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** What the first session's wasm flags gave: onnxruntime-web reads them once, when its wasm starts. */
let wasmThreads: string | undefined;

/**
 * Sets onnxruntime-web's wasm flags before its wasm starts and says how many threads that gives and, when one, why;
 * later sessions share that wasm instance, so their `threads` and `wasmPaths` change nothing.
 */
function configureWasm(options: OnnxOptions): string {
  if (wasmThreads !== undefined) return wasmThreads;
  wasmThreads = wasmFlags(options);
  return wasmThreads;
}

function wasmFlags(options: OnnxOptions): string {
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  // Fixed-width SIMD (onnxruntime-web 1.30 ships SIMD binaries only).
  ort.env.wasm.simd = true;
  if (!page.crossOriginIsolated) {
    ort.env.wasm.numThreads = 1;
    return '1 thread: the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp for threads)';
  }
  const cores = page.navigator?.hardwareConcurrency ?? 1;
  const threads = Math.max(1, Math.floor(options.threads ?? Math.min(MAX_DEFAULT_THREADS, Math.ceil(cores / 2))));
  ort.env.wasm.numThreads = threads;
  return threads === 1 ? '1 thread' : `${threads} threads`;
}

/**
 * Opens an ONNX model (a URL, fetched by onnxruntime-web, or the model's bytes) with onnxruntime-web: the WebGPU
 * execution provider when the browser has an adapter and the session starts on it, else wasm (threaded on a
 * cross-origin-isolated page), with one line saying which runs, on how many threads, and why the others did not.
 */
export async function createSession(model: string | Uint8Array, options: OnnxOptions = {}): Promise<OnnxSession> {
  const log = options.log ?? ((line: string) => console.info(line));
  const threads = configureWasm(options);
  const open = (executionProviders: string[]) =>
    typeof model === 'string'
      ? ort.InferenceSession.create(model, { executionProviders, graphOptimizationLevel: 'all' })
      : ort.InferenceSession.create(model, { executionProviders, graphOptimizationLevel: 'all' });
  let why = await webgpuUnavailable();
  if (why === undefined) {
    try {
      const session = await open(['webgpu', 'wasm']);
      log(`netspec: onnxruntime-web execution provider webgpu (wasm for what WebGPU does not run: ${threads})`);
      return session;
    } catch (error) {
      why = `WebGPU failed to start: ${firstLine(error)}`;
    }
  }
  const session = await open(['wasm']);
  log(`netspec: onnxruntime-web execution provider wasm, SIMD, ${threads}; not webgpu: ${why}`);
  return session;
}

/**
 * Runs a session on a batch of NCHW images after checking their size against one image's shape, and returns
 * every output by name, each expected one checked for its shape.
 */
export const runChecked = checkedRunner((data, dims) => new ort.Tensor('float32', data, dims));
