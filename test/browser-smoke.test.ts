// TensorFlow.js' wasm backend in a real, headless Chromium: a page bundled by esbuild from test/browser/smoke.ts
// runs a fixed convolution on the multi-threaded SIMD binary (cross-origin isolated page, two threads), on the
// single-threaded SIMD binary (same page without the isolation headers), and on the plain binary (SIMD switched
// off), and each must match tfjs' cpu backend in Node within 1e-5 relative. A timing loop's ratio between the
// threaded and single-threaded runs is printed, not asserted.
//
// What bundling and serving the wasm backend for a browser takes, as found here:
// - esbuild needs neither `external` nor `alias`: with `platform: 'browser'` it honours the `browser` field of
//   each package.json, which maps the Node builtins referenced only on Node code paths to empty modules:
//   fs, path, os, worker_threads and perf_hooks (@tensorflow/tfjs-backend-wasm's Emscripten glue), crypto,
//   util and node-fetch (@tensorflow/tfjs-core, seedrandom), string_decoder (@tensorflow/tfjs-data).
// - The threaded build needs no worker script served: tfjs-backend-wasm 4.x ships its pthread worker as a string
//   (wasmWorkerContents) and starts it from a Blob URL, and hands the worker the Emscripten factory as a Blob of
//   the factory function's own source text. That text is the bundled code, so esbuild's rewritten `require_fs()`
//   calls end up in the worker too; they sit on the Node-only paths and never run in a browser.
// - Only the .wasm files must sit next to the bundle (setWasmPaths('./')): -threaded-simd.wasm when the page is
//   cross-origin isolated, -simd.wasm otherwise; the plain one only when SIMD is switched off.
// - setThreadsCount(n) is a request, not a setting: the C++ side caps the pool at 8 and at
//   navigator.hardwareConcurrency / 2 (it assumes two hyperthreads per core), so on a 2-CPU machine it silently
//   gives 1 thread; getThreadsCount() tells the truth. The pages here
//   emulate hardwareConcurrency = 2·THREADS (newPage's option), which makes the count the same on any machine.
// - WASM_HAS_MULTITHREAD_SUPPORT does not look at crossOriginIsolated: it probes SharedArrayBuffer, which Chromium
//   only defines on a cross-origin-isolated page, so the isolation headers alone pick the threaded binary.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { build } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initBackend } from '../src/runtime/backends/node.js';
import { convCase, type SmokeResult } from './browser/conv-case.js';
import { browserSkipReason, chromiumAvailable, evaluateWithin, launchChromium, newPage, pageErrors, serve } from './support/browser.js';

const FILE = 'browser-smoke.test.ts';
const TOLERANCE = 1e-5;
const THREADS = 2;
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-browser-smoke-'));

test.before(async () => {
  if (skip !== undefined) {
    console.log(`\n  ${FILE} ${skip}\n`);
    return;
  }
  await build({
    entryPoints: ['test/browser/smoke.ts'],
    outfile: join(folder, 'smoke.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
  });
  copyFileSync('test/browser/index.html', join(folder, 'index.html'));
  for (const name of WASM_FILES) copyFileSync(join('node_modules/@tensorflow/tfjs-backend-wasm/dist', name), join(folder, name));
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

/**
 * The same case on tfjs' cpu backend in this process. uvu runs every test file in one process, so the backend
 * active before and the PROD flag (which initBackend sets to silence the cpu backend's advice) are restored.
 */
async function reference(): Promise<{ values: number[]; sum: number }> {
  const previous = tf.engine().backendName;
  const prod = tf.env().getBool('PROD');
  await initBackend({ backend: 'cpu', log: () => {} });
  try {
    return convCase(tf);
  } finally {
    tf.env().set('PROD', prod);
    if (previous) await tf.setBackend(previous);
  }
}

/** Serves the bundle (isolated or not), opens it in a fresh browser and returns what the page reports. */
async function runPage(isolated: boolean, query: string): Promise<SmokeResult> {
  const served = await serve(folder, { isolated });
  try {
    const browser = await launchChromium();
    try {
      const { page } = await newPage(browser, { hardwareConcurrency: 2 * THREADS });
      const errors = pageErrors(page);
      await page.goto(`${served.url}index.html?${query}`);
      const result = await evaluateWithin(page, () => (globalThis as { __result?: Promise<SmokeResult> }).__result!);
      errors.assertNone(query);
      return result;
    } finally {
      await browser.close();
    }
  } finally {
    await served.close();
  }
}

/** Asserts the page's numbers match `expected` within TOLERANCE; returns the larger relative error. */
function assertMatches(result: SmokeResult, expected: { values: number[]; sum: number }): number {
  assert.is(result.values.length, expected.values.length);
  const scale = Math.max(...expected.values.map(Math.abs));
  const error = Math.max(...result.values.map((v, i) => Math.abs(v - expected.values[i]!))) / scale;
  assert.ok(error <= TOLERANCE, `relative max |Δ| ${error.toExponential(2)}`);
  const sumError = Math.abs(result.sum - expected.sum) / Math.abs(expected.sum);
  assert.ok(sumError <= TOLERANCE, `sum ${result.sum} vs ${expected.sum}: relative ${sumError.toExponential(2)}`);
  return Math.max(error, sumError);
}

/** One raw request (the path is sent as given, unnormalised), answering status, headers and body. */
function raw(url: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((done, fail) => {
    const { hostname, port } = new URL(url);
    const outgoing = request({ hostname, port, path, method, timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', fail);
    outgoing.end();
  });
}

test('serve: content types, isolation headers, 404s, and nothing outside the served folder', async () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-serve-'));
  const outside = mkdtempSync(join(tmpdir(), 'netspec-serve-outside-'));
  try {
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'index.html'), '<p>hi</p>');
    writeFileSync(join(root, 'sub', 'm.wasm'), new Uint8Array([0, 97, 115, 109]));
    writeFileSync(join(root, 'w.bin'), 'x');
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    symlinkSync(outside, join(root, 'linked-folder'));
    const isolated = await serve(root);
    try {
      const index = await raw(isolated.url, '/');
      assert.equal([index.status, index.headers['content-type'], index.body], [200, 'text/html; charset=utf-8', '<p>hi</p>']);
      assert.equal(
        [index.headers['cross-origin-opener-policy'], index.headers['cross-origin-embedder-policy'], index.headers['cross-origin-resource-policy']],
        ['same-origin', 'require-corp', 'same-origin'],
      );
      assert.is((await raw(isolated.url, '/sub/m.wasm')).headers['content-type'], 'application/wasm');
      assert.is((await raw(isolated.url, '/w.bin?cache=1')).headers['content-type'], 'application/octet-stream');
      const head = await raw(isolated.url, '/index.html', 'HEAD');
      assert.equal([head.status, head.headers['content-length'], head.body], [200, '9', '']);
      assert.is((await raw(isolated.url, '/index.html', 'POST')).status, 405);
      for (const missing of ['/nope.js', '/sub/', '/link.txt', '/linked-folder/secret.txt']) {
        const answer = await raw(isolated.url, missing);
        assert.is(answer.status, 404, missing);
        assert.is.not(answer.body, 'secret', missing);
      }
      for (const bad of [
        '/../package.json',
        '/sub/../index.html',
        '/%2e%2e/package.json',
        '/sub%2F..%2F..%2Fpackage.json',
        '/..%5Cpackage.json',
        '/%E0%A4%A',
        '/a%00b',
        'index.html',
      ]) {
        assert.is((await raw(isolated.url, bad)).status, 400, bad);
      }
    } finally {
      await isolated.close();
    }
    const plain = await serve(root, { isolated: false });
    try {
      const index = await raw(plain.url, '/index.html');
      assert.is(index.status, 200);
      assert.equal([index.headers['cross-origin-opener-policy'], index.headers['cross-origin-embedder-policy']], [undefined, undefined]);
    } finally {
      await plain.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

define('the wasm backend runs in Chromium multi-threaded, single-threaded and without SIMD, matching cpu', async () => {
  const status = chromiumAvailable();
  if (!status.available) throw new Error(`CI=true, so chromium must be installed: ${status.reason}`);
  const expected = await reference();
  assert.ok(expected.sum > 0, 'the case has non-zero output');

  const threaded = await runPage(true, `threads=${THREADS}&runs=10`);
  assert.equal(
    {
      backend: threaded.backend,
      isolated: threaded.crossOriginIsolated,
      threads: threaded.threads,
      simd: threaded.simd,
      multithread: threaded.multithread,
    },
    { backend: 'wasm', isolated: true, threads: THREADS, simd: true, multithread: true },
  );
  assert.equal(threaded.wasmFiles, ['tfjs-backend-wasm-threaded-simd.wasm']);
  const errors = [assertMatches(threaded, expected)];

  const single = await runPage(false, `threads=${THREADS}&runs=10`);
  assert.equal(
    { backend: single.backend, isolated: single.crossOriginIsolated, threads: single.threads, simd: single.simd, multithread: single.multithread },
    { backend: 'wasm', isolated: false, threads: 1, simd: true, multithread: false },
  );
  assert.equal(single.wasmFiles, ['tfjs-backend-wasm-simd.wasm']);
  errors.push(assertMatches(single, expected));

  const plain = await runPage(false, 'simd=0&runs=2');
  assert.equal({ backend: plain.backend, threads: plain.threads, simd: plain.simd }, { backend: 'wasm', threads: 1, simd: false });
  assert.equal(plain.wasmFiles, ['tfjs-backend-wasm.wasm']);
  errors.push(assertMatches(plain, expected));

  const ratio = single.msPerConv / threaded.msPerConv;
  console.log(
    `\n  ${FILE}: ${status.version}; 56×56×64→64 3×3 conv: ${threaded.msPerConv.toFixed(1)} ms on ${THREADS} threads (SIMD), ` +
      `${single.msPerConv.toFixed(1)} ms on 1 (SIMD), ${plain.msPerConv.toFixed(1)} ms without SIMD; ` +
      `threaded speed-up ×${ratio.toFixed(2)} (informational); largest relative error vs cpu ${Math.max(...errors).toExponential(1)}\n`,
  );
});

test.run();
