// The wasm backend's gradient kernels (src/runtime/training/wasm-gradients.ts) against tfjs' own cpu kernels and
// gradients on seeded random data, for every convolution setting the compiler emits; dilated kernels, which no
// public tfjs gradient reaches, against sums written out in plain loops, called directly, through tf.grads and in a
// layer; then one training step of compiled models.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { fusedBatchNormGradConfig } from '@tensorflow/tfjs-core/dist/gradients/FusedBatchNorm_grad.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { GroupedConv2D } from '../src/runtime/ops/conv2d.js';
import { conv2d as conv2dHelper } from '../src/runtime/ops/index.js';
import { registerWasmGradients } from '../src/runtime/training/wasm-gradients.js';
import { relativeError } from './support/error.js';
import { modelWithWeights, weightsFor } from './support/families.js';
import { seededRandom } from './support/mutate.js';

const TOLERANCE = 1e-4;

type Backend = 'cpu' | 'wasm';
type Padding = 'same' | 'valid';
type Shape4 = [number, number, number, number];

const WASM_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'];

// tfjs' own FusedBatchNorm gradient, from its module (initBackend registers the replacement on wasm, and other test
// files may have run it already): the cpu reference runs with it, so the replacement is checked against tfjs, not
// against itself.
const tfjsBatchNormGradient = fusedBatchNormGradConfig as tf.GradConfig;
let replacementBatchNormGradient = tfjsBatchNormGradient;
// The kernels the wasm package ships, one module each in its dist/kernels folder.
const shippedKernels = new Set(
  readdirSync(join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')), 'kernels')).map((file) => file.replace(/\..*$/, '')),
);

test.before(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  await initBackend({ backend: 'wasm', log: () => {} });
  registerWasmGradients();
  replacementBatchNormGradient = tf.getGradient('FusedBatchNorm');
});

test.after(() => {
  if (!process.env.NETSPEC_REPORT_ERRORS) return;
  for (const [group, { error, label }] of worst) console.log(`${group}: worst relative error ${error.toExponential(2)} (${label})`);
});

/** Seeded values uniform in [−1, 1) (mulberry32), the same on every backend. */
function random(size: number, seed: number, low = -1, high = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: size }, () => low + (high - low) * r.next());
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A seeded random tensor, created on the current backend. */
const randomTensor = (shape: number[], seed: number, low = -1, high = 1) => tf.tensor(random(sizeOf(shape), seed, low, high), shape);

interface Values {
  readonly shape: number[];
  readonly values: Float32Array;
}

/** Inputs made on the current backend, and the gradients to take of them. */
interface Computation {
  gradients(): tf.Tensor[];
  dispose(): void;
}

const computation = (inputs: tf.Tensor[], gradients: () => tf.Tensor[]): Computation => ({ gradients, dispose: () => tf.dispose(inputs) });

/** The cpu backend runs with tfjs' own FusedBatchNorm gradient, wasm with the replacement. */
async function useBackend(backend: Backend): Promise<void> {
  await tf.setBackend(backend);
  tf.registerGradient(backend === 'cpu' ? tfjsBatchNormGradient : replacementBatchNormGradient);
}

const copy = (t: tf.Tensor): Values => ({ shape: [...t.shape], values: (t.dataSync() as Float32Array).slice() });

/** Makes a computation on `backend` and returns its gradients' values, copied off the backend, all disposed. */
async function valuesOn(backend: Backend, make: () => Computation): Promise<Values[]> {
  await useBackend(backend);
  const made = make();
  const gradients = made.gradients();
  const values = gradients.map(copy);
  tf.dispose(gradients);
  made.dispose();
  await useBackend('wasm');
  return values;
}

/** The worst relative error of each group of checks, printed when NETSPEC_REPORT_ERRORS is set. */
const worst = new Map<string, { error: number; label: string }>();

/** Asserts relative max error ≤ tolerance and records the worst per group for the report. */
function assertAgrees(group: string, label: string, actual: Values, expected: Values, tolerance = TOLERANCE): number {
  assert.equal(actual.shape, expected.shape, `${label}: shape`);
  const error = tf.tidy(() => relativeError(tf.tensor(actual.values), tf.tensor(expected.values)));
  if (!(error <= (worst.get(group)?.error ?? -1))) worst.set(group, { error, label });
  assert.ok(error <= tolerance, `${label}: relative max |Δ| ${error.toExponential(2)} > ${tolerance}`);
  return error;
}

/** Output extent and leading padding along one axis, as TensorFlow defines 'same' and 'valid'. */
function axis(extent: number, kernel: number, stride: number, dilation: number, padding: Padding): { out: number; before: number } {
  const reach = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((extent - reach) / stride) + 1, before: 0 };
  const out = Math.ceil(extent / stride);
  return { out, before: Math.floor(Math.max((out - 1) * stride + reach - extent, 0) / 2) };
}

interface ConvCase {
  readonly depthwise: boolean;
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Output channels of a convolution; the channel multiplier of a depthwise one. */
  readonly out: number;
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padding: Padding;
}

const describe = (c: ConvCase) =>
  `${c.depthwise ? `depthwise ×${c.out}` : `conv2d ${c.channels}→${c.out}`} k${c.kernel} s${c.stride}${c.dilation > 1 ? ` d${c.dilation}` : ''} ${c.padding} ${c.batch}×${c.height}×${c.width}×${c.channels}`;

function shapes(c: ConvCase): { x: Shape4; w: Shape4; y: Shape4 } {
  const rows = axis(c.height, c.kernel, c.stride, c.dilation, c.padding);
  const cols = axis(c.width, c.kernel, c.stride, c.dilation, c.padding);
  const outChannels = c.depthwise ? c.channels * c.out : c.out;
  return { x: [c.batch, c.height, c.width, c.channels], w: [c.kernel, c.kernel, c.channels, c.out], y: [c.batch, rows.out, cols.out, outChannels] };
}

/** x, w and dy of a case, from seeds derived from `seed`; loopGradients draws the same values. */
function caseTensors(c: ConvCase, seed: number): { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D } {
  const s = shapes(c);
  return {
    x: randomTensor(s.x, 100 * seed + 1) as tf.Tensor4D,
    w: randomTensor(s.w, 100 * seed + 2) as tf.Tensor4D,
    dy: randomTensor(s.y, 100 * seed + 3) as tf.Tensor4D,
  };
}

/** dL/dx and dL/dw of L = Σ conv(x, w) · dy through tfjs' public ops and gradients. */
function opGradients(c: ConvCase, seed: number): Computation {
  const { x, w, dy } = caseTensors(c, seed);
  const conv = (a: tf.Tensor4D, b: tf.Tensor4D) =>
    c.depthwise ? tf.depthwiseConv2d(a, b, c.stride, c.padding, 'NHWC', c.dilation) : tf.conv2d(a, b, c.stride, c.padding, 'NHWC', c.dilation);
  return computation([x, w, dy], () => tf.grads((a, b) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, w]));
}

/** dx and dw from the backprop kernels called directly, the only way to pass them a dilation. */
function kernelGradients(c: ConvCase, seed: number): Computation {
  const { x, w, dy } = caseTensors(c, seed);
  const attrs = { strides: [c.stride, c.stride], pad: c.padding, dilations: [c.dilation, c.dilation], dataFormat: 'NHWC' };
  const [input, filter] = c.depthwise
    ? ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']
    : ['Conv2DBackpropInput', 'Conv2DBackpropFilter'];
  return computation([x, w, dy], () => [
    tf.engine().runKernel<tf.Tensor>(input!, { dy, filter: w }, { ...attrs, inputShape: x.shape }),
    tf.engine().runKernel<tf.Tensor>(filter!, { x, dy }, { ...attrs, filterShape: w.shape }),
  ]);
}

/**
 * Both gradients by direct summation in float64. With ih = oh·s + kh·d − top and iw = ow·s + kw·d − left, and
 * zero wherever (ih, iw) falls in the padding:
 *   conv2d     y[n,oh,ow,o] = Σ_{kh,kw,c} x[n,ih,iw,c] · w[kh,kw,c,o], so
 *              dw[kh,kw,c,o] = Σ_{n,oh,ow} x[n,ih,iw,c] · dy[n,oh,ow,o]
 *              dx[n,ih,iw,c] = Σ_{oh,ow,kh,kw,o} w[kh,kw,c,o] · dy[n,oh,ow,o]   (over the terms that reach (ih, iw))
 *   depthwise  y[n,oh,ow,c·m+j] = Σ_{kh,kw} x[n,ih,iw,c] · w[kh,kw,c,j], the same sums with o = c·m + j.
 */
function loopGradients(c: ConvCase, seed: number): Values[] {
  const s = shapes(c);
  const x = random(sizeOf(s.x), 100 * seed + 1);
  const w = random(sizeOf(s.w), 100 * seed + 2);
  const dy = random(sizeOf(s.y), 100 * seed + 3);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const top = axis(c.height, c.kernel, c.stride, c.dilation, c.padding).before;
  const left = axis(c.width, c.kernel, c.stride, c.dilation, c.padding).before;
  const [, outHeight, outWidth, outChannels] = s.y;
  for (let n = 0; n < c.batch; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++)
        for (let kh = 0; kh < c.kernel; kh++)
          for (let kw = 0; kw < c.kernel; kw++) {
            const ih = oh * c.stride + kh * c.dilation - top;
            const iw = ow * c.stride + kw * c.dilation - left;
            if (ih < 0 || ih >= c.height || iw < 0 || iw >= c.width) continue;
            for (let ch = 0; ch < c.channels; ch++) {
              const xi = ((n * c.height + ih) * c.width + iw) * c.channels + ch;
              for (let j = 0; j < c.out; j++) {
                const o = c.depthwise ? ch * c.out + j : j;
                const wi = ((kh * c.kernel + kw) * c.channels + ch) * c.out + j;
                const g = dy[((n * outHeight + oh) * outWidth + ow) * outChannels + o]!;
                dw[wi]! += x[xi]! * g;
                dx[xi]! += w[wi]! * g;
              }
            }
          }
  return [
    { shape: s.x, values: Float32Array.from(dx) },
    { shape: s.w, values: Float32Array.from(dw) },
  ];
}

test("registerWasmGradients (run by initBackend on wasm) adds the kernels wasm lacks, replaces FusedBatchNorm's gradient, and is idempotent", () => {
  assert.equal(
    WASM_KERNELS.filter((name) => !shippedKernels.has(name)),
    ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'],
  );
  registerWasmGradients();
  for (const name of WASM_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
  assert.ok(replacementBatchNormGradient !== tfjsBatchNormGradient, "the cpu reference uses tfjs' gradient, not the one under test");
});

// Every setting the compiler emits: 'same' only at stride 1, explicit padding then 'valid' before strided
// convolutions (odd, even and non-square inputs), kernels 1 (projection shortcuts, bottlenecks), 3 and 7 (stem).
const conv = (kernel: number, stride: number, padding: Padding, height: number, width: number, channels = 3, out = 5): ConvCase => ({
  depthwise: false,
  batch: 2,
  height,
  width,
  channels,
  out,
  kernel,
  stride,
  dilation: 1,
  padding,
});
const convCases: ConvCase[] = [1, 3, 7].flatMap((k) => [
  conv(k, 1, 'same', 9, 9),
  conv(k, 1, 'valid', 10, 9),
  conv(k, 2, 'valid', 9, 9),
  conv(k, 2, 'valid', 10, 10),
  conv(k, 2, 'valid', 11, 8),
]);
convCases.push(conv(7, 2, 'valid', 18, 18, 1, 8)); // the ImageNet stem on a padded 12×12 single-channel image

const depthwise = (out: number, kernel: number, stride: number, padding: Padding, height: number, width: number): ConvCase => ({
  depthwise: true,
  batch: 2,
  height,
  width,
  channels: 4,
  out,
  kernel,
  stride,
  dilation: 1,
  padding,
});
const depthwiseCases: ConvCase[] = [1, 3].flatMap((m) => [
  depthwise(m, 3, 1, 'same', 9, 9),
  depthwise(m, 3, 2, 'valid', 9, 9),
  depthwise(m, 3, 2, 'valid', 10, 8),
  depthwise(m, 1, 1, 'same', 7, 6),
]);

for (const [i, c] of [...convCases, ...depthwiseCases].entries()) {
  test(`${describe(c)}: dx and dw on wasm equal cpu`, async () => {
    const [actual, expected] = [await valuesOn('wasm', () => opGradients(c, i)), await valuesOn('cpu', () => opGradients(c, i))];
    const group = c.depthwise ? 'depthwiseConv2d' : 'conv2d';
    assertAgrees(group, `${describe(c)} dx`, actual[0]!, expected[0]!);
    assertAgrees(group, `${describe(c)} dw`, actual[1]!, expected[1]!);
  });
}

// The loop reference first earns its place by matching tfjs' cpu kernels where those are right (dilation 1).
const referenceChecks: ConvCase[] = [
  { ...conv(3, 2, 'same', 9, 9), batch: 1 },
  conv(3, 2, 'valid', 10, 9),
  { ...depthwise(3, 3, 2, 'same', 9, 8), batch: 1 },
  depthwise(3, 3, 1, 'valid', 8, 9),
];

test('the loop reference equals the cpu backprop kernels at dilation 1', async () => {
  for (const [i, c] of referenceChecks.entries()) {
    const actual = loopGradients(c, 50 + i);
    const expected = await valuesOn('cpu', () => kernelGradients(c, 50 + i));
    assertAgrees('loop reference vs cpu (dilation 1)', `${describe(c)} dx`, actual[0]!, expected[0]!);
    assertAgrees('loop reference vs cpu (dilation 1)', `${describe(c)} dw`, actual[1]!, expected[1]!);
  }
});

// tfjs' gradients refuse dilation > 1, and the cpu backprop kernels ignore it (conv2d) or index without it
// (depthwise), so the dilated kernels are checked against the loops alone.
const dilatedCases: ConvCase[] = [
  { ...conv(3, 1, 'same', 9, 9, 3, 4), dilation: 2 },
  { ...conv(3, 1, 'valid', 10, 9, 3, 4), dilation: 2 },
  { ...depthwise(1, 3, 1, 'same', 9, 9), dilation: 2 },
  { ...depthwise(3, 3, 1, 'same', 9, 10), dilation: 2 },
  { ...depthwise(3, 3, 1, 'valid', 10, 9), dilation: 2 },
];

for (const [i, c] of dilatedCases.entries()) {
  test(`${describe(c)}: the wasm backprop kernels equal the loop reference`, async () => {
    const actual = await valuesOn('wasm', () => kernelGradients(c, 70 + i));
    const expected = loopGradients(c, 70 + i);
    assertAgrees('dilation 2 (direct kernels)', `${describe(c)} dx`, actual[0]!, expected[0]!);
    assertAgrees('dilation 2 (direct kernels)', `${describe(c)} dw`, actual[1]!, expected[1]!);
  });
}

for (const [i, c] of dilatedCases.entries()) {
  test(`${describe(c)}: tf.grads through the public op (tfjs' gradient refuses dilation) equals the loop reference`, async () => {
    const actual = await valuesOn('wasm', () => opGradients(c, 70 + i));
    const expected = loopGradients(c, 70 + i);
    assertAgrees('dilation 2 (tf.grads)', `${describe(c)} dx`, actual[0]!, expected[0]!);
    assertAgrees('dilation 2 (tf.grads)', `${describe(c)} dw`, actual[1]!, expected[1]!);
  });
}

test('a dilated Conv2D layer built by the conv2d helper trains on wasm: its kernel gradient equals the loop reference', async () => {
  const c = dilatedCases[1]!;
  await useBackend('wasm');
  const input = tf.input({ shape: [c.height, c.width, c.channels] });
  const model = tf.model({
    inputs: input,
    outputs: conv2dHelper(input, 'dilated', { filters: c.out, kernelSize: c.kernel, stride: 1, padding: 0, dilation: 2 }),
  });
  const layer = model.getLayer('dilated');
  assert.is(layer.getClassName(), 'Conv2D');
  const { x, w, dy } = caseTensors(c, 70 + 1);
  layer.setWeights([w]);
  const kernel = layer.trainableWeights[0]!.read() as tf.Variable;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, dy)) as tf.Scalar, [kernel]);
  assertAgrees('dilation 2 (layer)', 'dkernel', copy(grads[kernel.name]!), loopGradients(c, 70 + 1)[1]!);
  tf.dispose([value, grads[kernel.name]!, x, w, dy]);
  model.dispose();
});

test('on cpu, whose backprop kernels ignore dilation, a dilated gradient is refused with a clear error', async () => {
  await useBackend('cpu');
  const c = dilatedCases[0]!;
  const made = opGradients(c, 70);
  assert.throws(() => made.gradients(), /dilated convolutions run on the wasm backend only, not on cpu/);
  made.dispose();
  await useBackend('wasm');
});

/** Gradients of Σ batchNorm(x, mean, variance, offset, scale) · dy with respect to all five inputs. */
function batchNormGradients(): Computation {
  const x = randomTensor([3, 5, 4, 6], 201, -2, 3);
  const mean = randomTensor([6], 202);
  const variance = randomTensor([6], 203, 0.2, 2);
  const offset = randomTensor([6], 204);
  const scale = randomTensor([6], 205, 0.5, 1.5);
  const dy = randomTensor([3, 5, 4, 6], 206);
  const inputs = [x, mean, variance, offset, scale];
  const f = (...args: tf.Tensor[]) => {
    const [a, m, v, o, s] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    return tf.sum(tf.mul(tf.batchNorm(a, m, v, o, s, 1e-3), dy));
  };
  return computation([...inputs, dy], () => tf.grads(f)(inputs));
}

/** Training-mode normalisation as tfjs-layers runs it: batch moments, so x's gradient also flows through them. */
function momentsGradients(): Computation {
  const x = randomTensor([4, 6, 5, 8], 211, -1, 2);
  const offset = randomTensor([8], 212);
  const scale = randomTensor([8], 213, 0.5, 1.5);
  const dy = randomTensor([4, 6, 5, 8], 214);
  const f = (...args: tf.Tensor[]) => {
    const [a, o, s] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, o, s, 1e-5), dy));
  };
  return computation([x, offset, scale, dy], () => tf.grads(f)([x, offset, scale]));
}

test("FusedBatchNorm: the broadcasting gradient on wasm equals tfjs' gradient on cpu for x, mean, variance, offset, scale", async () => {
  const [actual, expected] = [await valuesOn('wasm', batchNormGradients), await valuesOn('cpu', batchNormGradients)];
  ['x', 'mean', 'variance', 'offset', 'scale'].forEach((name, i) => assertAgrees('FusedBatchNorm', `d${name}`, actual[i]!, expected[i]!));
});

test('FusedBatchNorm in training mode (tf.moments): x, offset and scale gradients on wasm equal cpu', async () => {
  const [actual, expected] = [await valuesOn('wasm', momentsGradients), await valuesOn('cpu', momentsGradients)];
  ['x', 'offset', 'scale'].forEach((name, i) => assertAgrees('FusedBatchNorm (moments)', `d${name}`, actual[i]!, expected[i]!));
});

interface GroupedCase {
  readonly channels: number;
  readonly filters: number;
  readonly groups: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly size: number;
}

const groupedCases: GroupedCase[] = [
  { channels: 8, filters: 8, groups: 2, stride: 1, padding: 'same', size: 7 },
  { channels: 8, filters: 12, groups: 4, stride: 1, padding: 'same', size: 8 },
  { channels: 8, filters: 8, groups: 2, stride: 2, padding: 'valid', size: 9 },
  { channels: 16, filters: 16, groups: 4, stride: 2, padding: 'valid', size: 10 },
];

/** dL/dx and dL/dkernel of L = Σ GroupedConv2D(x) · dy, the kernel read through the layer's own variable. */
function groupedGradients(c: GroupedCase, seed: number): Computation {
  const layer = new GroupedConv2D({
    name: `g${seed}`,
    filters: c.filters,
    kernelSize: 3,
    strides: c.stride,
    dilationRate: 1,
    groups: c.groups,
    padding: c.padding,
    kernelInit: 'zeros',
  });
  layer.apply(tf.input({ shape: [c.size, c.size, c.channels] }));
  const initial = randomTensor([3, 3, c.channels / c.groups, c.filters], 300 + seed);
  layer.setWeights([initial]);
  initial.dispose();
  const image = randomTensor([2, c.size, c.size, c.channels], 310 + seed);
  const x = tf.variable(image);
  image.dispose();
  const dy = randomTensor(layer.computeOutputShape([2, c.size, c.size, c.channels]) as number[], 320 + seed);
  const kernel = layer.trainableWeights[0]!.read() as tf.Variable;
  return {
    gradients: () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)) as tf.Scalar, [x, kernel]);
      value.dispose();
      return [grads[x.name]!, grads[kernel.name]!];
    },
    dispose: () => {
      tf.dispose([x, dy]);
      layer.dispose();
    },
  };
}

for (const [i, c] of groupedCases.entries()) {
  test(`GroupedConv2D ${c.channels}→${c.filters} in ${c.groups} groups, stride ${c.stride} ${c.padding}: input and kernel gradients on wasm equal cpu`, async () => {
    const [actual, expected] = [await valuesOn('wasm', () => groupedGradients(c, i)), await valuesOn('cpu', () => groupedGradients(c, i))];
    assertAgrees('GroupedConv2D', 'dx', actual[0]!, expected[0]!);
    assertAgrees('GroupedConv2D', 'dkernel', actual[1]!, expected[1]!);
  });
}

const trainingSpecs: Record<string, object> = {
  'squeeze-excitation bottleneck': {
    name: 'tinyse',
    input: { height: 12, width: 12, channels: 1 },
    stem: { type: 'conv', width: 8, kernelSize: 3, stride: 1 },
    block: { type: 'bottleneck', attention: 'se' },
    stages: { widths: [8, 16], depths: [1, 1], strides: [1, 2] },
    head: { type: 'classifier', classes: 3 },
  },
  'ECA basic block': {
    name: 'tinyeca',
    input: { height: 12, width: 12, channels: 1 },
    stem: { type: 'conv', width: 8, kernelSize: 3, stride: 1 },
    block: { type: 'basic', attention: 'eca' },
    stages: { widths: [8, 16], depths: [1, 1], strides: [1, 2] },
    head: { type: 'classifier', classes: 3 },
  },
  'basic ResNet': {
    name: 'tiny',
    input: { height: 12, width: 12, channels: 1 },
    stem: { type: 'conv', width: 8, kernelSize: 3, stride: 1 },
    block: { type: 'basic' },
    stages: { widths: [8, 16], depths: [1, 1], strides: [1, 2] },
    head: { type: 'classifier', classes: 3 },
  },
  'grouped bottleneck (ResNeXt) with a 7×7 stride-2 stem': {
    name: 'tinyx',
    input: { height: 12, width: 12, channels: 1 },
    stem: { type: 'conv', width: 8, kernelSize: 7, stride: 2 },
    block: { type: 'bottleneck', groups: 4, widthPerGroup: 16, expansion: 2 },
    stages: { widths: [8, 16], depths: [1, 1], strides: [1, 2] },
    head: { type: 'classifier', classes: 3 },
  },
};

function graphOf(spec: object): AnalyzedGraph {
  const result = compileSpec('specs/x.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result.graph;
}

/**
 * One SGD-with-momentum step (lr 0.1, momentum 0.9) on softmax cross-entropy of the model in training mode, from
 * `initial` weights; returns every weight afterwards, BatchNorm running statistics included.
 */
async function trainingStep(backend: Backend, graph: AnalyzedGraph, initial: Values[]): Promise<Values[]> {
  await useBackend(backend);
  const model = buildModel(graph);
  const weights = initial.map((w) => tf.tensor(w.values, w.shape));
  model.setWeights(weights);
  tf.dispose(weights);
  const x = randomTensor([4, ...graph.inputShape], 401);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3));
  const optimizer = tf.train.momentum(0.1, 0.9);
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, false, trainable);
  const after = model.weights.map((w) => copy(w.read()));
  optimizer.dispose();
  tf.dispose([x, labels]);
  model.dispose();
  await useBackend('wasm');
  return after;
}

for (const [name, spec] of Object.entries(trainingSpecs)) {
  test(`${name}: one momentum SGD step updates every weight, BatchNorm statistics included, on wasm as on cpu`, async () => {
    const graph = graphOf(spec);
    await useBackend('cpu');
    // Seeded weights with BatchNorm scales and statistics away from their initial values; read on cpu, then
    // copied into a fresh model on each backend.
    const seeded = modelWithWeights(graph, weightsFor(graph));
    const names = seeded.weights.map((w) => w.originalName);
    const initial = seeded.weights.map((w) => copy(w.read()));
    if (name.includes('grouped'))
      assert.ok(
        seeded.layers.some((l) => l.getClassName() === 'GroupedConv2D'),
        'the model has a grouped convolution',
      );
    seeded.dispose();
    const expected = await trainingStep('cpu', graph, initial);
    const actual = await trainingStep('wasm', graph, initial);
    assert.is(actual.length, initial.length);
    assert.ok(names.some((n) => n.endsWith('moving_mean')) && names.some((n) => n.endsWith('moving_variance')));
    names.forEach((weight, i) => {
      assertAgrees('training step: updated weights', `${weight} after the step`, actual[i]!, expected[i]!);
      // The update alone, far smaller than the weight: a gradient error the weight's size would hide shows here.
      const step = (after: Values) => ({ shape: after.shape, values: after.values.map((v, j) => v - initial[i]!.values[j]!) });
      assertAgrees('training step: weight changes', `${weight} change`, step(actual[i]!), step(expected[i]!), 1e-3);
    });
  });
}

test("no leaks: a gradient on wasm leaves tf.memory().numTensors and the backend's numDataIds as they were", async () => {
  await useBackend('wasm');
  const computations: Record<string, () => Computation> = {
    'conv2d k3 s1 same': () => opGradients(conv(3, 1, 'same', 9, 9), 900),
    'conv2d k3 s2 valid': () => opGradients(conv(3, 2, 'valid', 9, 9), 901),
    'conv2d k1 s2 valid': () => opGradients(conv(1, 2, 'valid', 10, 10), 902),
    'depthwise ×1 s1 same': () => opGradients(depthwise(1, 3, 1, 'same', 9, 9), 903),
    'depthwise ×3 s2 valid': () => opGradients(depthwise(3, 3, 2, 'valid', 10, 8), 904),
    'conv2d d2 kernels': () => kernelGradients({ ...conv(3, 1, 'same', 9, 9), dilation: 2 }, 905),
    'depthwise ×3 d2 kernels': () => kernelGradients({ ...depthwise(3, 3, 1, 'valid', 10, 9), dilation: 2 }, 906),
    FusedBatchNorm: batchNormGradients,
    'FusedBatchNorm (moments)': momentsGradients,
    GroupedConv2D: () => groupedGradients(groupedCases[3]!, 907),
  };
  const counts = () => ({ tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() });
  for (const [name, make] of Object.entries(computations)) {
    const made = make();
    const before = counts();
    const gradients = made.gradients();
    assert.ok(gradients.length >= 2, name);
    tf.dispose(gradients);
    assert.equal(counts(), before, name);
    made.dispose();
  }
});

test.run();
