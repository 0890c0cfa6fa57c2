// Inference in Chromium against Node in the same run: generated resnet18 and resnet50 at 224, batch 1, with the same
// (freshly initialised) weights — tfjs wasm on 1 thread (page not isolated) and 2 threads (isolated), webgl on
// SwiftShader (a software renderer: no GPU here), and the ONNX wrappers on onnxruntime-web's wasm with 2 threads;
// beside them Node's tfjs wasm and onnxruntime-node with 2 threads. Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { compileSpec } from '../src/compile.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { createSession, runChecked } from '../src/runtime/onnx/index.js';
import { initialWeights } from '../src/weights/init.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { bundlePage, callWithin, launchChromium, newPage, serve } from '../test/support/browser.js';
import type { BenchModel, Timing } from './browser/page.js';
import { timed } from './browser/timing.js';

const WARMUP = 3;
const RUNS = 10;
const MODELS: BenchModel[] = ['resnet18', 'resnet50'];
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs'];
const folder = mkdtempSync(join(tmpdir(), 'netspec-browser-bench-'));
const cli = (args: string[]) => {
  const run = spawnSync(process.execPath, [resolve('dist/cli.js'), ...args], { cwd: folder, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`netspec ${args.join(' ')}: ${run.stderr}`);
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Weights folders and ONNX exports of both models, from one seeded initialisation each. */
function prepare(): void {
  for (const model of MODELS) {
    const spec = resolve(`specs/imagenet/${model}.json`);
    const compiled = compileSpec(spec, readFileSync(spec));
    if (!compiled.ok) throw new Error(`${model} does not compile`);
    writeFileSync(join(folder, `${model}.safetensors`), writeSafetensors(initialWeights(compiled.graph)));
    cli(['weights', 'import', spec, `${model}.safetensors`, '--out', `weights/${model}`]);
    cli(['export', 'onnx', spec, '--weights', `weights/${model}`, '--out', `${model}.onnx`]);
  }
}

async function inChromium(): Promise<Map<string, Timing>> {
  await bundlePage('bench/browser/page.ts', folder, 'netspec browser benchmark');
  for (const file of ORT_FILES) copyFileSync(join('node_modules/onnxruntime-web/dist', file), join(folder, file));
  const results = new Map<string, Timing>();
  // Each case names the page's function and its arguments for a model.
  const cases: { key: string; isolated: boolean; webgl?: boolean; fn: 'tfjs' | 'ort'; args: (model: BenchModel) => unknown[] }[] = [
    { key: 'tfjs wasm, 1 thread', isolated: false, fn: 'tfjs', args: (m) => ['wasm', m, WARMUP, RUNS] },
    { key: 'tfjs wasm, 2 threads', isolated: true, fn: 'tfjs', args: (m) => ['wasm', m, WARMUP, RUNS] },
    { key: 'tfjs webgl on SwiftShader (software)', isolated: true, webgl: true, fn: 'tfjs', args: (m) => ['webgl', m, 1, 3] },
    { key: 'onnxruntime-web wasm, 2 threads', isolated: true, fn: 'ort', args: (m) => [m, WARMUP, RUNS] },
  ];
  for (const { key, isolated, webgl, fn, args } of cases) {
    const served = await serve(folder, { isolated });
    const browser = await launchChromium({ webgl: webgl ?? false });
    try {
      for (const model of MODELS) {
        // One page per measurement: tfjs and onnxruntime-web keep their first backend and thread settings.
        const { page } = await newPage(browser, { hardwareConcurrency: 4 });
        await page.goto(`${served.url}page.html`);
        const call = ([name, parameters]: readonly [string, unknown[]]) =>
          (globalThis as unknown as { __bench: Record<string, (...a: unknown[]) => Promise<Timing>> }).__bench[name]!(...parameters);
        const timing = await callWithin(page, call, [fn, args(model)] as const, 600_000);
        results.set(`${key}|${model}`, timing);
        await page.close();
      }
    } finally {
      await browser.close();
      await served.close();
    }
  }
  return results;
}

async function inNode(): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>();
  await initBackend({ backend: 'wasm', log: () => {} });
  for (const model of MODELS) {
    const module = (await import(pathToFileURL(resolve(`generated/imagenet/${model}.ts`)).href)) as {
      createModel(o: { weights: string }): Promise<tf.LayersModel>;
      predict(m: tf.LayersModel, x: tf.Tensor4D): tf.Tensor;
    };
    const built = await module.createModel({ weights: join(folder, 'weights', model) });
    const x = tf.randomUniform([1, 224, 224, 3]) as tf.Tensor4D;
    results.set(`Node tfjs wasm, 1 thread|${model}`, await timed(async () => void (await module.predict(built, x).data()), WARMUP, RUNS));
    built.dispose();
    const session = await createSession(join(folder, `${model}.onnx`), { threads: 2, log: () => {} });
    const images = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i));
    results.set(`Node onnxruntime-node, 2 threads|${model}`, await timed(async () => void (await runChecked(session, images, 1, [3, 224, 224])), WARMUP, RUNS));
    await session.release();
  }
  return results;
}

try {
  prepare();
  const browser = await inChromium();
  const node = await inNode();
  const rows = [...browser].map(([key, t]) => [key, t.msPerImage, t.label] as const).concat([...node].map(([key, t]) => [key, t, ''] as const));
  const at = (runner: string, model: string) => median(rows.find(([key]) => key === `${runner}|${model}`)![1]);
  const lines = [
    `## In the browser — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${spawnSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).stdout.trim()}`,
    '',
    `Batch 1 at 224×224, ms per image: median of ${RUNS} after ${WARMUP} warm-up runs (webgl: 3 after 1). Same weights everywhere.`,
    '',
    '| runner | resnet18 | resnet50 | what it reported |',
    '| --- | ---: | ---: | --- |',
    ...[...new Set(rows.map(([key]) => key.split('|')[0]!))].map((runner) => {
      const label = rows.find(([key]) => key.startsWith(`${runner}|`))![2].replace(/\|/g, '/');
      return `| ${runner} | ${at(runner, 'resnet18').toFixed(1)} | ${at(runner, 'resnet50').toFixed(1)} | ${label} |`;
    }),
    '',
    ...MODELS.map(
      (m) =>
        `${m}: threaded wasm is ${(at('tfjs wasm, 1 thread', m) / at('tfjs wasm, 2 threads', m)).toFixed(2)}× single-threaded (target ≥ 1.7×); onnxruntime-web is ${(at('onnxruntime-web wasm, 2 threads', m) / at('Node onnxruntime-node, 2 threads', m)).toFixed(2)}× onnxruntime-node's time (target ≤ 2×); Chromium's threaded wasm is ${(at('tfjs wasm, 2 threads', m) / at('Node tfjs wasm, 1 thread', m)).toFixed(2)}× Node's single-threaded wasm time.`,
    ),
    '',
  ];
  appendFileSync('bench/results.md', `\n${lines.join('\n')}`);
  console.log(lines.join('\n'));
} finally {
  rmSync(folder, { recursive: true, force: true });
}
