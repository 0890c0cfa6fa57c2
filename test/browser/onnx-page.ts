// The page script of browser-onnx.test.ts, bundled by esbuild for the browser. It opens the served ONNX export
// through the generated typed wrapper (whose `netspec/onnx` the bundler resolves to the browser entry, on
// onnxruntime-web), runs the test's deterministic batch, times a few more runs, and leaves the outcome in
// `globalThis.__result` as a promise the test awaits.
//
// Query parameters: model=URL (default resnet34.onnx), batch=N (default 2), warmup=N (untimed runs after the first,
// default 2: V8 starts wasm on its baseline compiler and optimises the hot functions while they run), runs=N (timing
// loop length, default 5).
import { inputShape, load } from '../../generated/resnet34.onnx.js';
import { onnxCaseImages, type OnnxPageResult } from './onnx-case.js';

// The browser globals used here, declared locally so that the main type-check (Node types, no DOM lib) accepts
// this file without DOM types leaking into every other file it checks.
declare const location: { readonly search: string };
declare const crossOriginIsolated: boolean;

async function run(): Promise<OnnxPageResult> {
  const params = new URLSearchParams(location.search);
  const batch = Number(params.get('batch') ?? '2');
  const warmup = Number(params.get('warmup') ?? '2');
  const runs = Number(params.get('runs') ?? '5');
  const lines: string[] = [];
  const model = await load(params.get('model') ?? 'resnet34.onnx', { wasmPaths: './', log: (line) => lines.push(line) });
  const images = onnxCaseImages(batch, inputShape);
  const output = await model.predict(images, batch);
  for (let i = 0; i < warmup; i++) await model.predict(images, batch);
  const start = performance.now();
  for (let i = 0; i < runs; i++) await model.predict(images, batch);
  const msPerBatch = (performance.now() - start) / runs;
  await model.session.release();
  return {
    log: lines,
    crossOriginIsolated,
    values: Array.from(output.data),
    dims: [...output.dims],
    msPerBatch,
    wasmFiles: performance
      .getEntriesByType('resource')
      .map((entry) => entry.name.split('/').pop() ?? '')
      .filter((name) => name.startsWith('ort-wasm')),
  };
}

(globalThis as { __result?: Promise<OnnxPageResult> }).__result = run();
