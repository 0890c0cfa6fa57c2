// int8 against fp32 on onnxruntime-node: each model exported fp32 with freshly initialised weights, quantised by
// netspec (S8S8, and U8S8 with 7-bit and with 8-bit weights) after minmax calibration on 16 images of smooth random
// patterns, then timed in the same process on other images at 2 threads, the sessions taking turns round by round.
// Prints a markdown table of each one's fastest run and its ratio to fp32, with the U8S8 logits' relative error and
// top-1 agreement with fp32 on the timed images (disjoint from the calibration ones).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { quantizeOnnx } from '../src/quantize/quantize.js';
import type { ActivationType } from '../src/quantize/qdq.js';
import { initialWeights } from '../src/weights/init.js';
import { alternate, fastest, localPeer } from './peers.js';

const CASES: readonly [spec: string, batch: number][] = [
  ['specs/imagenet/resnet18.json', 1],
  ['specs/imagenet/resnet34.json', 1],
  ['specs/imagenet/resnet50.json', 1],
  ['specs/imagenet/resnext50_32x4d.json', 1],
  ['specs/imagenet/resnet50.json', 8],
  ['specs/resnet34.json', 64],
];
const RUNS = Number(process.env.RUNS ?? 15);

/** Images as smooth patterns with a per-image phase: structured enough to give ranges, different from image to image. */
function images(count: number, shape: readonly number[], seed: number): Float32Array {
  const per = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: count * per }, (_, i) => Math.sin(i * 0.01 + Math.floor(i / per) * 1.7 + seed) * 1.5 + Math.cos(i * 0.37) * 0.5);
}

/** Each session's fastest run on `input` in ms, over `RUNS` rounds in which the sessions take turns (bench/peers.ts). */
async function bestMs(sessions: readonly ort.InferenceSession[], input: ort.Tensor): Promise<number[]> {
  for (const session of sessions) for (let i = 0; i < 2; i++) await session.run({ input });
  const timed = await alternate(
    sessions.map((session, i) => localPeer(String(i), () => session.run({ input }))),
    RUNS,
  );
  return timed.map((t) => fastest(t.seconds) * 1000);
}

function compare(reference: Float32Array, actual: Float32Array, classes: number): { error: number; agreement: number } {
  let [largest, scale, agree] = [0, 0, 0];
  for (let i = 0; i < reference.length; i++)
    [largest, scale] = [Math.max(largest, Math.abs(reference[i]! - actual[i]!)), Math.max(scale, Math.abs(reference[i]!))];
  const top = (a: Float32Array, n: number) => a.subarray(n * classes, (n + 1) * classes).reduce((best, v, k, row) => (v > row[best]! ? k : best), 0);
  for (let n = 0; n < reference.length / classes; n++) agree += +(top(reference, n) === top(actual, n));
  return { error: largest / scale, agreement: agree / (reference.length / classes) };
}

const options = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
console.log(
  '| model, batch | fp32 | int8 S8S8 | int8 U8S8, 7-bit weights | int8 U8S8, 8-bit weights | U8S8 logits rel. error, top-1 agreement (7-bit; 8-bit) |',
);
console.log('| --- | ---: | ---: | ---: | ---: | --- |');
for (const [spec, batch] of CASES) {
  const result = compileSpec(spec, readFileSync(spec));
  if (!result.ok) throw new Error(`${spec} does not compile`);
  const [h, w, c] = result.graph.inputShape as [number, number, number];
  const fp32 = emitOnnx(result.graph, initialWeights(result.graph));
  const calibration = { data: images(16, [c, h, w], 0), count: 16, shape: [c, h, w] as const };
  const input = new ort.Tensor('float32', images(batch, [c, h, w], 100), [batch, c, h, w]);
  const variants: { activations: ActivationType; weightBits: 7 | 8 }[] = [
    { activations: 'int8', weightBits: 8 },
    { activations: 'uint8', weightBits: 7 },
    { activations: 'uint8', weightBits: 8 },
  ];
  const sessions = [await ort.InferenceSession.create(fp32, options)];
  for (const variant of variants)
    sessions.push(await ort.InferenceSession.create((await quantizeOnnx(fp32, { images: calibration, method: 'minmax', ...variant })).bytes, options));
  const outputs = await Promise.all(sessions.map(async (session) => (await session.run({ input }))[session.outputNames[0]!]!.data as Float32Array));
  const accuracy = [2, 3]
    .map((i) => {
      const { error, agreement } = compare(outputs[0]!, outputs[i]!, outputs[0]!.length / batch);
      return `${(100 * error).toFixed(1)}%, ${(100 * agreement).toFixed(0)}%`;
    })
    .join('; ');
  const [f, ...int8] = await bestMs(sessions, input);
  const cell = (t: number) => `${t.toFixed(1)} ms (${(f! / t).toFixed(2)}×)`;
  console.log(`| ${result.graph.name} ${h}, ${batch} | ${f!.toFixed(1)} ms | ${int8.map(cell).join(' | ')} | ${accuracy} of ${batch} |`);
}
