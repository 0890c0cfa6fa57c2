// The runtime layers generated code calls, against independent references: per-group convolutions, windows
// counted by hand, and tfjs' own save and load.
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initBackend } from '../src/runtime/backends/node.js';
import { efficientChannelGate } from '../src/runtime/ops/efficient-channel-attention.js';
import { squeezeExciteGate } from '../src/runtime/ops/squeeze-excite.js';
import { DropPath } from '../src/runtime/ops/drop-path.js';
import { GroupedConv2D } from '../src/runtime/ops/conv2d.js';
import { avgPool, conv2d } from '../src/runtime/ops/index.js';
import { groupedConvReference } from './reference/grouped-conv.js';

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** A one-layer model around the conv2d helper, with its kernel set to `kernel`. */
function convModel(inputShape: [number, number, number], options: Parameters<typeof conv2d>[2], kernel: tf.Tensor4D): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  const model = tf.model({ inputs: input, outputs: conv2d(input, 'conv', options) });
  model.getLayer('conv').setWeights([kernel]);
  return model;
}

const groupedCases = [
  { channels: 8, filters: 8, groups: 2, kernelSize: 3, stride: 1, dilation: 1, size: 9 },
  { channels: 16, filters: 32, groups: 4, kernelSize: 3, stride: 2, dilation: 1, size: 9 },
  { channels: 64, filters: 64, groups: 32, kernelSize: 3, stride: 1, dilation: 2, size: 10 },
  { channels: 32, filters: 16, groups: 8, kernelSize: 1, stride: 1, dilation: 1, size: 6 },
  { channels: 12, filters: 24, groups: 3, kernelSize: 3, stride: 2, dilation: 1, size: 8 },
];

for (const backend of ['wasm', 'cpu'] as const) {
  test(`GroupedConv2D equals per-group convolutions within 1e-5 (${backend})`, async () => {
    await initBackend({ backend, log: () => {} });
    for (const c of groupedCases) {
      const padding = (c.dilation * (c.kernelSize - 1)) >> 1;
      const x = tf.randomNormal([2, c.size, c.size, c.channels], 0, 1, 'float32', 1) as tf.Tensor4D;
      const fanIn = (c.kernelSize * c.kernelSize * c.channels) / c.groups;
      const kernel = tf.randomNormal([c.kernelSize, c.kernelSize, c.channels / c.groups, c.filters], 0, 1 / Math.sqrt(fanIn), 'float32', 2) as tf.Tensor4D;
      const model = convModel(
        [c.size, c.size, c.channels],
        { filters: c.filters, kernelSize: c.kernelSize, stride: c.stride, padding, dilation: c.dilation, groups: c.groups },
        kernel,
      );
      assert.is(model.getLayer('conv').getClassName(), 'GroupedConv2D');
      const actual = model.predict(x) as tf.Tensor;
      const expected = groupedConvReference(x, kernel, c.groups, c.stride, padding, c.dilation);
      assert.equal(actual.shape, expected.shape, JSON.stringify(c));
      assert.ok(maxAbsDiff(actual, expected) <= 1e-5, `${JSON.stringify(c)}: max |Δ| ${maxAbsDiff(actual, expected)}`);
      tf.dispose([x, kernel, actual, expected]);
      model.dispose();
    }
    await tf.setBackend('wasm');
  });
}

test('a model with GroupedConv2D saves and loads with tfjs save/loadLayersModel', async () => {
  const kernel = tf.randomNormal([3, 3, 2, 8], 0, 0.3, 'float32', 3) as tf.Tensor4D;
  const model = convModel([6, 6, 8], { filters: 8, kernelSize: 3, stride: 1, padding: 1, groups: 4 }, kernel);
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  const layer = loaded.getLayer('conv');
  assert.is(layer.getClassName(), 'GroupedConv2D');
  assert.is(layer.getConfig().groups, 4);
  const x = tf.randomNormal([1, 6, 6, 8], 0, 1, 'float32', 4);
  assert.is(maxAbsDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor), 0);
  model.dispose();
  loaded.dispose();
});

test('GroupedConv2D trains: its kernel gradient equals the per-group reference (cpu backend)', async () => {
  // wasm has no convolution weight gradients, so gradients are checked where tfjs has them.
  await initBackend({ backend: 'cpu', log: () => {} });
  const x = tf.randomNormal([2, 7, 7, 8], 0, 1, 'float32', 5) as tf.Tensor4D;
  const kernel = tf.randomNormal([3, 3, 2, 12], 0, 0.2, 'float32', 6) as tf.Tensor4D;
  const layer = new GroupedConv2D({ name: 'g', filters: 12, kernelSize: 3, strides: 1, dilationRate: 1, groups: 4, padding: 'same', kernelInit: 'zeros' });
  layer.apply(tf.input({ shape: [7, 7, 8] }));
  layer.setWeights([kernel]);
  const variable = layer.trainableWeights[0]!.read() as tf.Variable;
  const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, [variable]);
  const gradient = grads[variable.name]!;
  const expected = tf.grad((k) => tf.sum(tf.square(groupedConvReference(x, k as tf.Tensor4D, 4, 1, 1, 1))))(kernel);
  const scale = tf.max(tf.abs(expected)).dataSync()[0]!;
  assert.ok(scale > 0);
  assert.ok(maxAbsDiff(gradient, expected) <= 1e-4 * scale, `max |Δ| ${maxAbsDiff(gradient, expected)} at scale ${scale}`);
  tf.dispose([x, kernel, expected, gradient, value]);
  await tf.setBackend('wasm');
});

// 5×5 image of 1…25 row by row.
const image5 = () =>
  tf.tensor4d(
    Array.from({ length: 25 }, (_, i) => i + 1),
    [1, 5, 5, 1],
  );

for (const backend of ['wasm', 'cpu'] as const) {
  test(`ResNet-D's avg-pool keeps PyTorch's partial last window, not counting padding (${backend})`, async () => {
    await initBackend({ backend, log: () => {} });
    // 2×2 windows at rows/cols {0,1}, {2,3}, {4}: (1+2+6+7)/4 = 4, (3+4+8+9)/4 = 6, (5+10)/2 = 7.5;
    // (11+12+16+17)/4 = 14, (13+14+18+19)/4 = 16, (15+20)/2 = 17.5; (21+22)/2 = 21.5, (23+24)/2 = 23.5, 25.
    const input = tf.input({ shape: [5, 5, 1] });
    const model = tf.model({ inputs: input, outputs: avgPool(input, 'pool', { stride: 2 }) });
    const output = model.predict(image5()) as tf.Tensor;
    assert.equal(await output.array(), [
      [
        [[4], [6], [7.5]],
        [[14], [16], [17.5]],
        [[21.5], [23.5], [25]],
      ],
    ]);
    model.dispose();
    await tf.setBackend('wasm');
  });
}

test('a dilated convolution samples every other pixel, padded as PyTorch pads', async () => {
  // 3×3 ones, dilation 2, padding 2: the centre sums rows and cols {0, 2, 4}: 1+3+5+11+13+15+21+23+25 = 117;
  // the corner (0,0) reaches rows and cols {−2, 0, 2}, of which {0, 2} lie inside: 1 + 3 + 11 + 13 = 28.
  const model = convModel([5, 5, 1], { filters: 1, kernelSize: 3, stride: 1, padding: 2, dilation: 2 }, tf.ones([3, 3, 1, 1]));
  const output = (await (model.predict(image5()) as tf.Tensor).array()) as number[][][][];
  assert.is(output[0]![2]![2]![0], 117);
  assert.is(output[0]![0]![0]![0], 28);
  model.dispose();
});

test('off wasm, gradients of a dilated convolution are refused (why NS501 warns)', async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  const x = tf.ones([1, 5, 5, 1]) as tf.Tensor4D;
  const gradient = () => tf.grad((k) => tf.sum(tf.conv2d(x, k as tf.Tensor4D, 1, 'same', 'NHWC', 2)))(tf.ones([3, 3, 1, 1]) as tf.Tensor4D);
  // tfjs' own refusal, or netspec's once the wasm backend (whose kernels take dilation) has registered its gradients.
  assert.throws(gradient, /dilation rates greater than 1 are not yet supported in gradients|dilated convolutions run on the wasm backend only, not on cpu/);
  await tf.setBackend('wasm');
});

test('DropPath: in training each image keeps its whole branch, scaled by 1 / (1 − rate), or loses it; otherwise identity', () => {
  const layer = new DropPath({ name: 'drop_path', rate: 0.25 });
  const x = tf.ones([4000, 2, 2, 3]);
  const trained = layer.apply(x, { training: true }) as tf.Tensor;
  const values = trained.dataSync();
  const perImage = Array.from({ length: 4000 }, (_, i) => values.slice(i * 12, i * 12 + 12));
  // Every image is all 0 or all 1 / 0.75; about 75% are kept (±3%, over 20 standard deviations of 0.68%).
  assert.ok(perImage.every((image) => image.every((v) => v === 0) || image.every((v) => Math.abs(v - 4 / 3) < 1e-6)));
  const kept = perImage.filter((image) => image[0] !== 0).length / 4000;
  assert.ok(Math.abs(kept - 0.75) < 0.03, `kept ${kept}`);
  const inferred = layer.apply(x, { training: false }) as tf.Tensor;
  assert.equal(inferred.dataSync(), x.dataSync());
  tf.dispose([x, trained, inferred]);
});

test('squeeze-excitation and ECA gates equal their arithmetic worked by hand', () => {
  // One image, 1×2 pixels, 2 channels: channel means m = [2, 3].
  const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  // SE with R = 1: h = relu(1·2 − 1·3 + 0.5) = relu(−0.5) = 0, so the gates are σ(0·w + b) = σ(0.1), σ(−0.2).
  const se = squeezeExciteGate(x, tf.tensor4d([1, -1], [1, 1, 2, 1]), tf.tensor1d([0.5]), tf.tensor4d([3, 4], [1, 1, 1, 2]), tf.tensor1d([0.1, -0.2]));
  const seExpected = [1 * sigmoid(0.1), 2 * sigmoid(-0.2), 3 * sigmoid(0.1), 4 * sigmoid(-0.2)];
  Array.from(se.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - seExpected[i]!) < 1e-6, `SE ${i}: ${v}`));
  // ECA with taps [0.5, 1, −1] over zero-padded means [0, 2, 3, 0]: out₀ = 0.5·0 + 2 − 3 = −1, out₁ = 1 + 3 − 0 = 4.
  const eca = efficientChannelGate(x, tf.tensor1d([0.5, 1, -1]));
  const ecaExpected = [1 * sigmoid(-1), 2 * sigmoid(4), 3 * sigmoid(-1), 4 * sigmoid(4)];
  Array.from(eca.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - ecaExpected[i]!) < 1e-6, `ECA ${i}: ${v}`));
});

test.run();
