// One model compiled with an open input size against the same model compiled at a fixed size, at that size: the
// tfjs model on wasm (its optimised inference path, as eval and predict run it) and the ONNX export on
// onnxruntime-node (dynamic height and width against fixed ones). Alternating rounds, each side's best; then tfjs'
// cost of a size it has not run before (the first call at a new size against the same size again).
// Usage: npx tsx bench/open-size.ts [rounds]. Appends to bench/results.md.
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { inferencePlan } from '../src/emit/plan.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { optimizeForInference } from '../src/runtime/inference/optimize.js';
import { createSession, runChecked } from '../src/runtime/onnx/index.js';
import { initialWeights } from '../src/weights/init.js';
import { median } from './peers.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const SPEC = 'specs/imagenet/resnet18.json';
const SIZES = [
  [224, 224],
  [320, 480],
] as const;

function compiled(input: object): AnalyzedGraph {
  const spec = { ...(JSON.parse(readFileSync(SPEC, 'utf8')) as object), input };
  const result = compileSpec(SPEC, new TextEncoder().encode(JSON.stringify(spec)));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result.graph;
}

/** Milliseconds of one call of `run`, after a warm-up call. */
async function best(run: () => Promise<void>): Promise<number> {
  await run();
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** The graph's optimised tfjs path with `weights` (another build's, layer for layer). */
function tfjsRunner(graph: AnalyzedGraph, weights: readonly tf.Tensor[]) {
  const model = buildModel(graph);
  model.setWeights([...weights]);
  const optimised = optimizeForInference(model, inferencePlan(graph));
  return (x: tf.Tensor4D) => tf.tidy(() => optimised.predict(x) as tf.Tensor).dataSync();
}

await initBackend({ backend: 'wasm', log: () => {} });
const open = compiled({ channels: 3 });
const weights = initialWeights(open, 1);
const lines: string[] = [];
for (const [height, width] of SIZES) {
  const fixed = compiled({ height, width, channels: 3 });
  const reference = buildModel(fixed);
  const tfjsWeights = reference.getWeights();
  const runners = { fixed: tfjsRunner(fixed, tfjsWeights), open: tfjsRunner(open, tfjsWeights) };
  const sessions = {
    fixed: await createSession(emitOnnx(fixed, weights), { log: () => {} }),
    open: await createSession(emitOnnx(open, weights), { log: () => {} }),
  };
  const x = tf.randomNormal([1, height, width, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const nchw = tf.tidy(() => x.transpose([0, 3, 1, 2]).dataSync() as Float32Array);
  const times = { tfjs: { fixed: Infinity, open: Infinity }, onnx: { fixed: Infinity, open: Infinity } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? (['fixed', 'open'] as const) : (['open', 'fixed'] as const)) {
      times.tfjs[kind] = Math.min(times.tfjs[kind], await best(async () => void runners[kind](x)));
      times.onnx[kind] = Math.min(times.onnx[kind], await best(async () => void (await runChecked(sessions[kind], nchw, 1, [3, height, width]))));
    }
  }
  const ratio = (side: { fixed: number; open: number }) => (side.open / side.fixed).toFixed(2);
  lines.push(
    `| resnet18 ${height}×${width} | ${times.tfjs.fixed.toFixed(1)} / ${times.tfjs.open.toFixed(1)} ms | ${ratio(times.tfjs)}× | ${times.onnx.fixed.toFixed(1)} / ${times.onnx.open.toFixed(1)} ms | ${ratio(times.onnx)}× |`,
  );
  x.dispose();
}

// tfjs' cost of a new size: the open model's first call at each of five sizes it has not seen, against a second call.
const runner = tfjsRunner(open, buildModel(open).getWeights());
const firsts: number[] = [];
const seconds: number[] = [];
for (const side of [192, 200, 208, 216, 232]) {
  const x = tf.randomNormal([1, side, side, 3]) as tf.Tensor4D;
  let started = performance.now();
  runner(x);
  firsts.push(performance.now() - started);
  started = performance.now();
  runner(x);
  seconds.push(performance.now() - started);
  x.dispose();
}
const report = [
  '',
  `## Open input size against a fixed one (${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)})`,
  '',
  `\`npx tsx bench/open-size.ts ${ROUNDS}\`: one image, the best of ${ROUNDS} alternating rounds per side; tfjs on wasm (the optimised path), the ONNX export on onnxruntime-node.`,
  '',
  '| model and size | tfjs fixed / open | open ÷ fixed | onnxruntime fixed / open | open ÷ fixed |',
  '| --- | --- | --- | --- | --- |',
  ...lines,
  '',
  `tfjs at a size it has not run before (five sizes from 192² to 232²): the first call ${median(firsts).toFixed(1)} ms against ${median(seconds).toFixed(1)} ms for the next at the same size (medians). The wasm backend compiles no kernels per shape, so a new size costs little there; WebGL compiles its shaders per shape, and a page that sees many sizes pays that once per size.`,
  '',
];
appendFileSync('bench/results.md', report.join('\n'));
console.log(report.join('\n'));
