// The typed ONNX wrapper in a real, headless Chromium: generated/resnet34.onnx.ts bundled by esbuild for the browser
// (its `netspec/onnx` resolved through this package's own name with the browser condition, so onnx/browser.ts on
// onnxruntime-web) runs the founding model's ONNX export, freshly initialised, on a deterministic batch, and must
// match onnxruntime-node in this process within 1e-4 relative: on a cross-origin-isolated page with wasm threads,
// and on a plain page with one. The time per batch of each, and of onnxruntime-node, is printed, not asserted.
//
// What serving onnxruntime-web 1.30 takes, as found here:
// - `import 'onnxruntime-web'` is, for a bundler, dist/ort.bundle.min.mjs: the JSEP build (WebGPU, WebNN and wasm),
//   its Emscripten loader included. Its binary is ort-wasm-simd-threaded.jsep.wasm; the plain
//   ort-wasm-simd-threaded.wasm/.mjs belong to `onnxruntime-web/wasm`, which has no WebGPU.
// - With `wasmPaths` set, onnxruntime-web imports the loader from there too (ort-wasm-simd-threaded.jsep.mjs)
//   instead of using the bundled copy, and its wasm threads start from that file. So both files sit next to the
//   bundle for `wasmPaths: './'`, on the isolated page and the plain one alike.
// - Without them (no `wasmPaths`) the bundled loader is used, and on an isolated page each wasm thread's worker is
//   started from the bundled page script itself, which then runs again in the worker: set `wasmPaths`.
// - Headless Chromium here has navigator.gpu, but requestAdapter() gives null on this GPU-less machine (Chromium
//   warns "No available adapters."); the wrapper says so and runs wasm.
// - The first batch or two run on V8's baseline wasm code and are several times slower: the timings skip them.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inputShape } from '../generated/resnet34.onnx.js';
import { createSession, runChecked } from '../src/runtime/onnx/index.js';
import { onnxCaseImages, type OnnxPageResult } from './browser/onnx-case.js';
import { browserSkipReason, bundlePage, chromiumAvailable, evaluateWithin, launchChromium, newPage, pageErrors, serve } from './support/browser.js';

const FILE = 'browser-onnx.test.ts';
const TOLERANCE = 1e-4;
const BATCH = 2;
/** Untimed runs before the timed ones, in the page: V8 optimises the hot wasm functions during the first few. */
const WARMUP = 2;
const RUNS = 5;
/** onnxruntime-web takes half of hardwareConcurrency (at most 4): the pages report 4 cores, so 2 threads anywhere. */
const THREADS = 2;
/** What `wasmPaths: './'` makes onnxruntime-web 1.30's default (JSEP) build fetch. */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs'];

const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-browser-onnx-'));
const modelFile = join(folder, 'resnet34.onnx');
let inputs: readonly string[] = [];

/** `node dist/cli.js export onnx specs/resnet34.json --out <folder>/resnet34.onnx`: seeded fresh weights. */
function exportModel(): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve('dist', 'cli.js'), 'export', 'onnx', 'specs/resnet34.json', '--out', modelFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => (status === 0 ? done() : fail(new Error(`export onnx exited with ${status}: ${output}`))));
  });
}

/** The page script, everything bundled (onnxruntime-web too), `netspec/onnx` by the package's browser condition. */
async function bundle(): Promise<void> {
  ({ inputs } = await bundlePage('test/browser/onnx-page.ts', folder, 'netspec ONNX in the browser'));
  for (const file of ORT_FILES) copyFileSync(join('node_modules/onnxruntime-web/dist', file), join(folder, file));
}

test.before(async () => {
  if (skip !== undefined) {
    console.log(`\n  ${FILE} ${skip}\n`);
    return;
  }
  // The export takes most of this file's time; the bundle is made meanwhile.
  await Promise.all([exportModel(), bundle()]);
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

/** onnxruntime-node on the same file and batch: the output, and the mean time of RUNS batches after the first. */
async function reference(): Promise<{ values: Float32Array; dims: readonly number[]; msPerBatch: number; log: string[] }> {
  const log: string[] = [];
  const session = await createSession(readFileSync(modelFile), { log: (line) => log.push(line) });
  try {
    const images = onnxCaseImages(BATCH, inputShape);
    const output = (await runChecked(session, images, BATCH, inputShape))['output']!;
    const start = performance.now();
    for (let i = 0; i < RUNS; i++) await runChecked(session, images, BATCH, inputShape);
    return { values: output.data, dims: output.dims, msPerBatch: (performance.now() - start) / RUNS, log };
  } finally {
    await session.release();
  }
}

/** Serves the folder (isolated or not) and runs the page in a fresh context of `browser`. */
async function runPage(browser: Browser, isolated: boolean): Promise<OnnxPageResult> {
  const served = await serve(folder, { isolated });
  try {
    const { context, page } = await newPage(browser, { hardwareConcurrency: 2 * THREADS });
    try {
      const errors = pageErrors(page);
      await page.goto(`${served.url}onnx-page.html?batch=${BATCH}&warmup=${WARMUP}&runs=${RUNS}`);
      const result = await evaluateWithin(page, () => (globalThis as { __result?: Promise<OnnxPageResult> }).__result!);
      errors.assertNone(isolated ? 'isolated page' : 'plain page');
      return result;
    } finally {
      await context.close();
    }
  } finally {
    await served.close();
  }
}

/** max |page − Node| / max |Node|. */
function relativeError(result: OnnxPageResult, expected: { values: Float32Array; dims: readonly number[] }): number {
  assert.equal(result.dims, [...expected.dims]);
  assert.is(result.values.length, expected.values.length);
  let scale = 0;
  let worst = 0;
  expected.values.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    worst = Math.max(worst, Math.abs(result.values[i]! - v));
  });
  assert.ok(scale > 0, 'the reference output is not all zeros');
  return worst / scale;
}

define('the bundle takes netspec/onnx from the browser entry, on onnxruntime-web', () => {
  assert.ok(inputs.includes('dist/runtime/onnx/browser.js'), `bundled: ${inputs.filter((i) => i.startsWith('dist/')).join(', ')}`);
  assert.not.ok(inputs.includes('dist/runtime/onnx/index.js'), 'the Node entry is not bundled');
  assert.ok(
    inputs.some((input) => input.startsWith('node_modules/onnxruntime-web/')),
    'onnxruntime-web is bundled',
  );
  assert.not.ok(
    inputs.some((input) => input.startsWith('node_modules/onnxruntime-node/')),
    'onnxruntime-node is not bundled',
  );
});

define('resnet34.onnx.ts runs on onnxruntime-web in Chromium, threaded and not, matching onnxruntime-node', async () => {
  const status = chromiumAvailable();
  if (!status.available) throw new Error(`CI=true, so chromium must be installed: ${status.reason}`);
  const expected = await reference();
  const browser = await launchChromium();
  let threaded: OnnxPageResult;
  let single: OnnxPageResult;
  try {
    threaded = await runPage(browser, true);
    single = await runPage(browser, false);
  } finally {
    await browser.close();
  }

  assert.is(threaded.crossOriginIsolated, true);
  assert.is(threaded.log.length, 1, threaded.log.join('\n'));
  assert.match(threaded.log[0]!, new RegExp(`^netspec: onnxruntime-web execution provider wasm, SIMD, ${THREADS} threads; not webgpu: `));
  assert.equal([...new Set(threaded.wasmFiles)].sort(), [...ORT_FILES].sort());
  assert.equal([...new Set(single.wasmFiles)].sort(), [...ORT_FILES].sort());
  const threadedError = relativeError(threaded, expected);
  assert.ok(threadedError <= TOLERANCE, `threaded: relative max |Δ| ${threadedError.toExponential(2)}`);

  assert.is(single.crossOriginIsolated, false);
  assert.is(single.log.length, 1, single.log.join('\n'));
  assert.match(single.log[0]!, /^netspec: onnxruntime-web execution provider wasm, SIMD, 1 thread: the page is not cross-origin isolated /);
  const singleError = relativeError(single, expected);
  assert.ok(singleError <= TOLERANCE, `single-threaded: relative max |Δ| ${singleError.toExponential(2)}`);

  console.log(
    `\n  ${FILE}: ${status.version}; resnet34 batch ${BATCH}, 32×32: onnxruntime-web ${threaded.msPerBatch.toFixed(0)} ms on ${THREADS} threads, ` +
      `${single.msPerBatch.toFixed(0)} ms on 1, onnxruntime-node ${expected.msPerBatch.toFixed(0)} ms (informational); ` +
      `relative max |Δ| vs onnxruntime-node ${threadedError.toExponential(1)} threaded, ${singleError.toExponential(1)} single\n` +
      `  ${threaded.log[0]}\n  ${single.log[0]}\n  ${expected.log[0]}\n`,
  );
});

test.run();
