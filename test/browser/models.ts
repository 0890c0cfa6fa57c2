// The page script of browser-models.test.ts, bundled by esbuild for the browser. It imports generated model modules
// and netspec/runtime exactly as a user's page would (the bundler picks the runtime's browser entry), and leaves in
// `globalThis.__models` the three calls the test makes: init (one backend per page), run (load weights over HTTP,
// predict on the shared input pattern, time it) and load (createModel only, answering the error if it rejects).
import * as tf from '@tensorflow/tfjs';
import * as runtime from 'netspec/runtime';
import * as resnet18 from '../../generated/imagenet/resnet18.js';
import * as resnet34 from '../../generated/resnet34.js';
import type { initBackend as initBrowserBackend } from '../../src/runtime/backends/browser.js';
import type { BackendChoice as BrowserBackend } from '../../src/runtime/backends/options.js';

// The browser global used here, declared locally so the main type-check (Node types, no DOM lib) accepts this file.
declare const crossOriginIsolated: boolean;

// tsc resolves netspec/runtime with the default (Node) export condition, whose initBackend knows no webgl or wasmPaths;
// the bundle holds the browser entry's, whose type this is.
const initBackend = runtime.initBackend as unknown as typeof initBrowserBackend;

const models = { resnet18, resnet34 } as const;
export type ModelName = keyof typeof models;

export interface InitResult {
  readonly backend: string;
  readonly crossOriginIsolated: boolean;
  /** What initBackend logged. */
  readonly log: readonly string[];
}

export interface RunRequest {
  readonly model: ModelName;
  /** A weights folder's URL, relative to the page. */
  readonly weights: string;
  readonly batch: number;
  /** Timed predictions after the first; 0 reports the first one's time. */
  readonly runs: number;
}

export interface RunResult {
  readonly name: string;
  readonly backend: string;
  readonly shape: number[];
  readonly logits: number[];
  readonly loadMs: number;
  /** The first prediction (on webgl, shader compilation included). */
  readonly firstMs: number;
  /** Mean over the timed predictions, or the first's when none were asked for. */
  readonly msPerBatch: number;
  readonly runs: number;
}

export type LoadResult = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly message: string };

/** The input both sides use (browser-models.test.ts computes it alike): 0.5·sin(i) for the flat index i over [batch, height, width, channels]. */
function inputPattern(length: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => 0.5 * Math.sin(i));
}

async function init(backend: BrowserBackend): Promise<InitResult> {
  const log: string[] = [];
  await initBackend({ backend, wasmPaths: './', log: (line) => log.push(line) });
  return { backend: tf.getBackend(), crossOriginIsolated, log };
}

async function run(request: RunRequest): Promise<RunResult> {
  const module = models[request.model];
  let start = performance.now();
  const model = await module.createModel({ weights: request.weights });
  const loadMs = performance.now() - start;
  const [height, width, channels] = module.inputShape;
  const x = tf.tensor4d(inputPattern(request.batch * height * width * channels), [request.batch, height, width, channels]);
  try {
    start = performance.now();
    const y = module.predict(model, x);
    const logits = Array.from(await y.data());
    const firstMs = performance.now() - start;
    const shape = y.shape;
    y.dispose();
    start = performance.now();
    for (let i = 0; i < request.runs; i++) {
      const again = module.predict(model, x);
      await again.data();
      again.dispose();
    }
    const msPerBatch = request.runs > 0 ? (performance.now() - start) / request.runs : firstMs;
    return { name: model.name, backend: tf.getBackend(), shape, logits, loadMs, firstMs, msPerBatch, runs: request.runs };
  } finally {
    x.dispose();
    model.dispose();
  }
}

async function load(model: ModelName, weights: string): Promise<LoadResult> {
  try {
    const loaded = await models[model].createModel({ weights });
    const name = loaded.name;
    loaded.dispose();
    return { ok: true, name };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

export interface ModelsPage {
  init: typeof init;
  run: typeof run;
  load: typeof load;
}

(globalThis as { __models?: ModelsPage }).__models = { init, run, load };
