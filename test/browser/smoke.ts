// The page script of browser-smoke.test.ts, bundled by esbuild for the browser. It initialises TensorFlow.js'
// wasm backend (threaded when the page is cross-origin isolated), runs the shared convolution case and the
// timing loop, and leaves the outcome in `globalThis.__result` as a promise the test awaits.
//
// Query parameters: threads=N (setThreadsCount, only honoured when cross-origin isolated), simd=0 (force the
// non-SIMD binary), runs=N (timing loop length).
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { convCase, timeConv, type SmokeResult } from './conv-case.js';

// The two browser globals used here, declared locally so the main type-check (Node types, no DOM lib) accepts
// this file without DOM types leaking into every other file it checks.
declare const location: { readonly search: string };
declare const crossOriginIsolated: boolean;

async function run(): Promise<SmokeResult> {
  const params = new URLSearchParams(location.search);
  const threads = Number(params.get('threads') ?? '0');
  const runs = Number(params.get('runs') ?? '10');
  if (params.get('simd') === '0') tf.env().set('WASM_HAS_SIMD_SUPPORT', false);
  // The .wasm files sit next to the bundle.
  setWasmPaths('./');
  if (crossOriginIsolated && threads > 0) setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  const { values, sum } = convCase(tf);
  const msPerConv = await timeConv(tf, runs);
  return {
    backend: tf.getBackend(),
    crossOriginIsolated,
    threads: getThreadsCount(),
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
    wasmFiles: performance
      .getEntriesByType('resource')
      .map((entry) => entry.name.split('/').pop() ?? '')
      .filter((name) => name.endsWith('.wasm')),
    values,
    sum,
    msPerConv,
  };
}

(globalThis as { __result?: Promise<SmokeResult> }).__result = run();
