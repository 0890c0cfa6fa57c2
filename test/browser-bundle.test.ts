// Every generated module bundles for the browser: esbuild with platform "browser" resolves `netspec/runtime` through
// the package's "browser" export condition, and the bundle holds no Node builtin (esbuild cannot resolve one for the
// browser, so the build itself fails on any). TensorFlow.js stays external: it is the user's, and its size is its own.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findFiles } from '../src/files/find-files.js';

const modules = findFiles('generated', '.ts').filter((file) => !file.endsWith('.onnx.ts'));
/** What only Node may load: the Node entry of the runtime and the modules behind it. */
const NODE_ONLY = [
  'dist/runtime/index.js',
  'dist/runtime/weights/files.js',
  'dist/runtime/weights/read-folder.js',
  'dist/runtime/images/decode.js',
  'dist/runtime/inference/pool.js',
  'dist/runtime/backends/node.js',
];

async function bundle(entry: string, external: string[]): Promise<{ bytes: number; inputs: string[]; text: string }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
    external,
    metafile: true,
  });
  const text = result.outputFiles[0]!.text;
  return {
    bytes: result.outputFiles[0]!.contents.length,
    inputs: Object.keys((result.metafile as Metafile).inputs).map((p) => relative('.', resolve(p))),
    text,
  };
}

test('every generated module bundles for the browser without a Node builtin', async () => {
  assert.ok(modules.length >= 15, `found ${modules.length} generated modules`);
  const sizes: string[] = [];
  for (const module of modules) {
    const { bytes, inputs, text } = await bundle(module, ['@tensorflow/*']);
    assert.ok(inputs.includes('dist/runtime/browser.js'), `${module} bundles the browser entry`);
    for (const nodeOnly of NODE_ONLY) assert.not.ok(inputs.includes(nodeOnly), `${module} must not bundle ${nodeOnly}`);
    assert.not.match(text, /["']node:[a-z_/]+["']|require\(["'](fs|path|os|worker_threads|zlib|stream)["']\)/, `${module}: a Node builtin in the bundle`);
    sizes.push(`${module.replace(/^generated\//, '')} ${(bytes / 1024).toFixed(1)} KiB`);
  }
  console.log(`\n  browser bundles without tfjs, minified: ${sizes.join(', ')}`);
});

test('with TensorFlow.js and its wasm backend bundled in, a model module is one browser file', async () => {
  const { bytes, inputs } = await bundle('generated/resnet34.ts', []);
  assert.ok(
    inputs.some((input) => input.includes('@tensorflow/tfjs-backend-wasm')),
    'the wasm backend is bundled',
  );
  for (const nodeOnly of NODE_ONLY) assert.not.ok(inputs.includes(nodeOnly), nodeOnly);
  const wasm = readFileSync('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm').length;
  console.log(
    `\n  generated/resnet34.ts with tfjs: ${(bytes / 2 ** 20).toFixed(2)} MiB minified, plus ${(wasm / 2 ** 20).toFixed(2)} MiB of wasm (threaded SIMD build) served beside it`,
  );
});

test.run();
