// Generated models in a real, headless Chromium, as a user's page runs them: a page bundled by esbuild imports
// generated/resnet34.ts (CIFAR layout, 32×32×3, 10 classes) and generated/imagenet/resnet18.ts (torchvision's,
// 224×224×3, 1000 classes) and netspec/runtime through the package's own name, so the bundler must pick the runtime's
// browser entry; it loads weights folders that `netspec weights import` wrote, over HTTP, and predicts. The logits
// must match the same model on the wasm backend in Node: on wasm single-threaded (page not cross-origin isolated),
// wasm on two threads (isolated), and webgl on SwiftShader. A weights folder that is missing, on another origin
// without CORS, or made for another model must be refused with a message that says so.
//
// The weights are initialWeights (seeded, He-normal convolutions), not checkpointFor's repeating ramp, so that the
// logits vary with the input and a wrong layout or a mixed-up image cannot pass unnoticed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { initialWeights } from '../src/weights/init.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import type { InitResult, ModelName, ModelsPage, RunRequest, RunResult } from './browser/models.js';
import {
  browserSkipReason,
  bundlePage,
  callWithin,
  chromiumAvailable,
  launchChromium,
  newPage,
  pageErrors,
  serve,
  type BundledPage,
  type PageErrors,
  type Served,
} from './support/browser.js';
import { relativeError } from './support/error.js';

const FILE = 'browser-models.test.ts';
/**
 * wasm in the page runs the same XNNPACK kernels as wasm in Node: measured 0 (bit-identical logits) single-threaded
 * and on two threads; the bound leaves room for a build or thread split that sums in another order.
 */
const WASM_TOLERANCE = 1e-4;
/**
 * webgl on SwiftShader computes in float32 textures but in another order (im2col matrix products in shaders):
 * measured 7.9e-7 (resnet34) and 7.8e-7 (resnet18) at batch 1, 1.7e-6 for resnet34 at batch 2; bound ≈ 10× the worst.
 * Half-float textures would be ~1e-3 and fail it.
 */
const WEBGL_TOLERANCE = 2e-5;
const THREADS = 2;
/**
 * Per model: its spec, the batch on wasm, and on webgl, where SwiftShader takes seconds per image (measured on 2 cores:
 * ~5 s for resnet34 at 32×32, ~8 s for resnet18 at 224, shader compilation included), hence batch 1 there.
 */
const MODELS: Readonly<Record<ModelName, { spec: string; batch: number; webglBatch: number }>> = {
  resnet34: { spec: 'specs/resnet34.json', batch: 2, webglBatch: 1 },
  resnet18: { spec: 'specs/imagenet/resnet18.json', batch: 2, webglBatch: 1 },
};
const NAMES = Object.keys(MODELS) as ModelName[];

const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-browser-models-'));

/** The page's input, computed alike there: 0.5·sin(i) for the flat index i over [batch, height, width, channels]. */
const inputPattern = (length: number) => Float32Array.from({ length }, (_, i) => 0.5 * Math.sin(i));

interface Reference {
  readonly graph: AnalyzedGraph;
  /** Logits of the wasm batch, row-major [batch, classes]. */
  readonly logits: Float32Array;
  readonly classes: number;
  readonly msPerBatch: number;
}

let bundled: BundledPage | undefined;
const references = new Map<ModelName, Reference>();

/**
 * Writes initialWeights as safetensors and imports them with the CLI into the served folder's weights/<name>/;
 * resolves when the CLI is done, so the next model's weights are made while this one imports.
 */
function importWeights(name: ModelName, graph: AnalyzedGraph): Promise<void> {
  const file = join(folder, `${name}.safetensors`);
  writeFileSync(file, writeSafetensors(initialWeights(graph)));
  const args = [resolve('dist', 'cli.js'), 'weights', 'import', MODELS[name].spec, file, '--out', join(folder, 'weights', name)];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => {
      rmSync(file, { force: true });
      if (status === 0) done();
      else fail(new Error(`weights import ${name} exited with ${status}: ${stderr}`));
    });
  });
}

/**
 * The logits of the repo's own model (buildModel from the spec, the same weights folder read from disk) on the wasm
 * backend in this process. uvu runs every test file in one process, so the backend active before and the PROD flag
 * are restored.
 */
async function computeReferences(): Promise<void> {
  const previous = tf.engine().backendName;
  const prod = tf.env().getBool('PROD');
  await initBackend({ backend: 'wasm', log: () => {} });
  try {
    for (const name of NAMES) {
      const graph = references.get(name)!.graph;
      const model = await loadWeights(() => buildModel(graph), join(folder, 'weights', name));
      const input = graph.ops[0]!;
      if (input.kind !== 'input') throw new Error(`${name}: the first op is ${input.kind}, not the input`);
      const [height, width, channels] = input.shape;
      const { batch } = MODELS[name];
      const x = tf.tensor4d(inputPattern(batch * height * width * channels), [batch, height, width, channels]);
      const start = performance.now();
      const y = model.predict(x) as tf.Tensor2D;
      const logits = (await y.data()) as Float32Array;
      const msPerBatch = performance.now() - start;
      references.set(name, { graph, logits, classes: y.shape[1], msPerBatch });
      tf.dispose([x, y]);
      model.dispose();
    }
  } finally {
    tf.env().set('PROD', prod);
    if (previous) await tf.setBackend(previous);
  }
}

test.before(async () => {
  if (skip !== undefined) {
    console.log(`\n  ${FILE} ${skip}\n`);
    return;
  }
  const start = performance.now();
  const bundling = bundlePage('test/browser/models.ts', folder, 'netspec generated models');
  const imports: Promise<void>[] = [];
  for (const name of NAMES) {
    const path = MODELS[name].spec;
    const compiled = compileSpec(path, readFileSync(path));
    if (!compiled.ok) throw new Error(`${path} does not compile`);
    assert.is(compiled.graph.name, name, `${path} names its model`);
    references.set(name, { graph: compiled.graph, logits: new Float32Array(), classes: 0, msPerBatch: 0 });
    imports.push(importWeights(name, compiled.graph));
  }
  bundled = await bundling;
  await Promise.all(imports);
  await computeReferences();
  preparedMs = performance.now() - start;
});

test.after(async () => {
  for (const session of sessions.values()) await session.close();
  sessions.clear();
  rmSync(folder, { recursive: true, force: true });
});

let preparedMs = 0;

// The page's calls. Each callback is sent to the page as source text, so each names the page's global itself.
type PageGlobal = { __models: ModelsPage };

type SessionName = 'wasm' | 'wasm-threaded' | 'webgl';

const SETUPS: Readonly<Record<SessionName, { backend: 'wasm' | 'webgl'; isolated: boolean; webgl: boolean }>> = {
  wasm: { backend: 'wasm', isolated: false, webgl: false },
  'wasm-threaded': { backend: 'wasm', isolated: true, webgl: false },
  webgl: { backend: 'webgl', isolated: false, webgl: true },
};

interface Session {
  readonly served: Served;
  readonly page: Page;
  readonly errors: PageErrors;
  readonly init: InitResult;
  close(): Promise<void>;
}

const sessions = new Map<SessionName, Session>();

/**
 * The models page of a backend, served (isolated or not) in its own browser with the backend initialised; opened
 * once and kept for the tests after (the error cases reuse the single-threaded wasm page), closed by test.after.
 */
async function session(name: SessionName): Promise<Session> {
  const open = sessions.get(name);
  if (open) return open;
  const setup = SETUPS[name];
  const served = await serve(folder, { isolated: setup.isolated });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium({ webgl: setup.webgl });
    const { page } = await newPage(browser, { hardwareConcurrency: 2 * THREADS });
    const errors = pageErrors(page);
    await page.goto(`${served.url}${bundled!.html}`);
    await page.waitForFunction(() => '__models' in globalThis);
    const init = await callWithin(page, (backend) => (globalThis as unknown as PageGlobal).__models.init(backend), setup.backend);
    const opened: Session = {
      served,
      page,
      errors,
      init,
      close: async () => {
        await browser!.close();
        await served.close();
      },
    };
    sessions.set(name, opened);
    return opened;
  } catch (error) {
    await browser?.close();
    await served.close();
    throw error;
  }
}

/** Runs `requests` in turn on the session's page; the page must report no error. */
async function runAll(name: SessionName, requests: readonly RunRequest[], ms: number): Promise<{ init: InitResult; results: RunResult[] }> {
  const { page, errors, init } = await session(name);
  const results: RunResult[] = [];
  for (const request of requests) results.push(await callWithin(page, (r) => (globalThis as unknown as PageGlobal).__models.run(r), request, ms));
  errors.assertNone(name);
  return { init, results };
}

/** The page's logits against Node's (their first rows when the page ran a smaller batch); the relative max error. */
function compare(result: RunResult, name: ModelName, batch: number): number {
  const reference = references.get(name)!;
  assert.equal(result.shape, [batch, reference.classes], `${name}: output shape`);
  assert.is(result.name, name);
  const expected = tf.tensor2d(reference.logits.subarray(0, batch * reference.classes), [batch, reference.classes]);
  const actual = tf.tensor2d(result.logits, [batch, reference.classes]);
  try {
    const first = reference.logits.subarray(0, reference.classes);
    const second = reference.logits.subarray(reference.classes, 2 * reference.classes);
    const scale = Math.max(...first.map(Math.abs));
    assert.ok(Math.max(...first) > Math.min(...first), `${name}: the reference logits vary across classes`);
    assert.ok(
      first.some((v, i) => Math.abs(v - second[i]!) > 1e-3 * scale),
      `${name}: and from one image to the other`,
    );
    return relativeError(actual, expected);
  } finally {
    tf.dispose([expected, actual]);
  }
}

/**
 * Both models, each predicted once and timed once more (on webgl, only once: seconds per image on SwiftShader). The
 * single-threaded page names resnet34's weights by their model.json, the others by the folder.
 */
const requests = (name: SessionName): RunRequest[] =>
  NAMES.map((model) => ({
    model,
    weights: name === 'wasm' && model === 'resnet34' ? `weights/${model}/model.json` : `weights/${model}/`,
    batch: name === 'webgl' ? MODELS[model].webglBatch : MODELS[model].batch,
    runs: name === 'webgl' ? 0 : 1,
  }));

function summary(label: string, init: InitResult, results: readonly RunResult[], errors: readonly number[]): string {
  const parts = results.map((r, i) => {
    const timing =
      r.runs === 0
        ? `${r.firstMs.toFixed(0)} ms/batch, shader compilation included`
        : `${r.msPerBatch.toFixed(0)} ms/batch (the first ${r.firstMs.toFixed(0)} ms)`;
    return `${r.name} batch ${r.shape[0]}: rel. error ${errors[i]!.toExponential(1)}, ${timing}, weights loaded in ${r.loadMs.toFixed(0)} ms`;
  });
  return `  ${FILE}: ${label} [${init.log.join(' | ')}]: ${parts.join('; ')}`;
}

define('the page bundle resolves netspec/runtime to its browser entry', () => {
  const inputs = bundled!.inputs;
  assert.ok(inputs.includes('dist/runtime/browser.js'), 'dist/runtime/browser.js is bundled');
  assert.ok(!inputs.includes('dist/runtime/index.js'), 'dist/runtime/index.js (the Node entry) is not bundled');
  assert.ok(!inputs.some((input) => input.startsWith('src/')), 'the page gets the runtime through the package, not src/');
  for (const module of ['generated/resnet34.ts', 'generated/imagenet/resnet18.ts', 'node_modules/@tensorflow/tfjs-backend-wasm/dist/index.js']) {
    assert.ok(inputs.includes(module), `${module} is bundled`);
  }
  const references_ = NAMES.map((name) => `${name} ${references.get(name)!.msPerBatch.toFixed(0)} ms/batch of ${MODELS[name].batch}`);
  console.log(`\n  ${FILE}: ${chromiumAvailableVersion()}; prepared in ${(preparedMs / 1000).toFixed(1)} s; Node wasm reference: ${references_.join(', ')}`);
});

function chromiumAvailableVersion(): string {
  const status = chromiumAvailable();
  if (!status.available) throw new Error(`CI=true, so chromium must be installed: ${status.reason}`);
  return status.version;
}

define('wasm, single-threaded (page not cross-origin isolated): logits match Node within 1e-4', async () => {
  const { init, results } = await runAll('wasm', requests('wasm'), 30_000);
  assert.is(init.backend, 'wasm');
  assert.is(init.crossOriginIsolated, false);
  assert.match(init.log.join('\n'), /^netspec: TensorFlow\.js backend wasm \(1 thread: the page is not cross-origin isolated;/);
  const errors = results.map((r, i) => compare(r, NAMES[i]!, MODELS[NAMES[i]!].batch));
  console.log(summary('wasm, 1 thread', init, results, errors));
  errors.forEach((error, i) => assert.ok(error <= WASM_TOLERANCE, `${NAMES[i]}: relative max |Δ| ${error.toExponential(2)}`));
});

define('a missing folder, a folder on another origin without CORS, and another model’s folder are refused', async () => {
  const { page, errors, served } = await session('wasm');
  // Another origin (port) serving the same folder; serve() never sends Access-Control-Allow-Origin.
  const other = await serve(folder, { isolated: false });
  try {
    const seen = errors.messages.length;
    const load = (model: ModelName, weights: string) =>
      callWithin(page, ({ model, weights }) => (globalThis as unknown as PageGlobal).__models.load(model, weights), { model, weights });
    const refusal = async (model: ModelName, weights: string) => {
      const result = await load(model, weights);
      if (result.ok) throw new Error(`${weights} into ${model}: expected a refusal; it loaded`);
      return result.message;
    };

    const missing = await refusal('resnet34', 'weights/missing/');
    assert.is(missing, `cannot fetch ${served.url}weights/missing/model.json: HTTP 404 Not Found`);

    const crossOrigin = `${other.url}weights/resnet34/`;
    const cors = await refusal('resnet34', crossOrigin);
    assert.ok(cors.startsWith(`cannot fetch ${crossOrigin}model.json: the request failed (`), cors);
    assert.ok(cors.endsWith('): the server is unreachable, refuses cross-origin requests (CORS), or redirects in a loop'), cors);

    // Whose weights they are comes first, then what does not fit, as a list.
    const wrong = await refusal('resnet34', 'weights/resnet18/');
    assert.ok(wrong.startsWith('weights/resnet18/ holds weights of resnet18, not of resnet34'), wrong);

    // What Chromium itself logs for the two refused requests, and nothing else.
    const reported = errors.messages.slice(seen);
    const expected = [
      /^console error: Failed to load resource: the server responded with a status of 404 \(Not Found\)$/,
      /^console error: Access to fetch at '[^']+' from origin '[^']+' has been blocked by CORS policy/,
      /^console error: Failed to load resource: net::ERR_FAILED$/,
      /^request failed: \S+ \(net::ERR_FAILED\)$/,
    ];
    const unexpected = reported.filter((message) => !expected.some((pattern) => pattern.test(message)));
    assert.equal(unexpected, [], 'the page reported nothing else');
    const firstLine = wrong.split('\n', 1)[0]!;
    console.log(`  ${FILE}: refused in the page: «${missing}»; «${cors}»; «${firstLine}${firstLine === wrong ? '' : ' …'}»`);
  } finally {
    await other.close();
    // The single-threaded page is done with; its browser need not idle through the tests after.
    await sessions.get('wasm')?.close();
    sessions.delete('wasm');
  }
});

define(`wasm, threaded (cross-origin isolated, ${THREADS} threads): logits match Node within 1e-4`, async () => {
  const { init, results } = await runAll('wasm-threaded', requests('wasm-threaded'), 30_000);
  assert.is(init.backend, 'wasm');
  assert.is(init.crossOriginIsolated, true);
  assert.equal(init.log, [`netspec: TensorFlow.js backend wasm (${THREADS} threads)`]);
  const errors = results.map((r, i) => compare(r, NAMES[i]!, MODELS[NAMES[i]!].batch));
  console.log(summary(`wasm, ${THREADS} threads`, init, results, errors));
  errors.forEach((error, i) => assert.ok(error <= WASM_TOLERANCE, `${NAMES[i]}: relative max |Δ| ${error.toExponential(2)}`));
});

define('webgl on SwiftShader: logits match Node within the measured bound', async () => {
  const { init, results } = await runAll('webgl', requests('webgl'), 40_000);
  assert.is(init.backend, 'webgl');
  assert.equal(init.log, ['netspec: TensorFlow.js backend webgl']);
  const errors = results.map((r, i) => compare(r, NAMES[i]!, MODELS[NAMES[i]!].webglBatch));
  console.log(summary('webgl (SwiftShader)', init, results, errors) + '\n');
  errors.forEach((error, i) => assert.ok(error <= WEBGL_TOLERANCE, `${NAMES[i]}: relative max |Δ| ${error.toExponential(2)}`));
});

test.run();
