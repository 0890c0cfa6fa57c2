// The fused training-mode BatchNorm (src/runtime/training/batch-norm-training.ts and its layer): output and gradients on
// wasm and cpu against tfjs' own composition (tf.moments, tf.batchNorm and their gradients) on cpu, the running
// statistics against PyTorch's update rule worked out in float64, and the layer's name, weights and serialisation.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchNormalization } from '../src/runtime/ops/batch-norm.js';
import { batchNormTraining } from '../src/runtime/training/batch-norm-training.js';
import { relativeError } from './support/error.js';
import { seededRandom } from './support/mutate.js';

const EPSILON = 1e-5;
const SHAPE = [3, 5, 4, 6];
const CHANNELS = 6;

function random(size: number, seed: number, low: number, high: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: size }, () => low + (high - low) * r.next());
}

// x far from zero mean and unit variance, so a mistake in either moment shows.
const X = random(3 * 5 * 4 * 6, 1, -2, 5);
const GAMMA = random(CHANNELS, 2, 0.5, 1.5);
const BETA = random(CHANNELS, 3, -1, 1);
const DY = random(3 * 5 * 4 * 6, 4, -1, 1);

type Values = Float32Array[];

/** y, the batch mean and variance, and dL/dx, dL/dγ, dL/dβ of L = Σ y · dy. */
function fusedOn(): Values {
  return tf.tidy(() => {
    const [x, gamma, beta, dy] = [tf.tensor(X, SHAPE), tf.tensor1d(GAMMA), tf.tensor1d(BETA), tf.tensor(DY, SHAPE)];
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, EPSILON);
    const grads = tf.grads((a, g, b) => tf.sum(tf.mul(batchNormTraining(a!, g as tf.Tensor1D, b as tf.Tensor1D, EPSILON).y, dy)))([x, gamma, beta]);
    return [y, mean, variance, ...grads].map((t) => (t.dataSync() as Float32Array).slice());
  });
}

/** The same through tfjs' generic ops: what tfjs-layers' BatchNormalization computes in training. */
function tfjsComposition(): Values {
  return tf.tidy(() => {
    const [x, gamma, beta, dy] = [tf.tensor(X, SHAPE), tf.tensor1d(GAMMA), tf.tensor1d(BETA), tf.tensor(DY, SHAPE)];
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return { y: tf.batchNorm(a, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, EPSILON), mean, variance };
    };
    const { y, mean, variance } = f(x, gamma, beta);
    const grads = tf.grads((a, g, b) => tf.sum(tf.mul(f(a!, g!, b!).y, dy)))([x, gamma, beta]);
    return [y, mean, variance, ...grads].map((t) => (t.dataSync() as Float32Array).slice());
  });
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];

function assertClose(label: string, actual: Float32Array, expected: Float32Array, tolerance = 1e-5): void {
  assert.is(actual.length, expected.length, `${label}: length`);
  const error = tf.tidy(() => relativeError(tf.tensor(actual), tf.tensor(expected)));
  assert.ok(error <= tolerance, `${label}: relative max |Δ| ${error.toExponential(2)} > ${tolerance}`);
}

test.before(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

test("on wasm and on cpu, the fused kernels equal tfjs' composition of moments and batchNorm on cpu: y, statistics and all three gradients", async () => {
  await tf.setBackend('cpu');
  const expected = tfjsComposition();
  const onCpu = fusedOn();
  await tf.setBackend('wasm');
  const onWasm = fusedOn();
  NAMES.forEach((name, i) => {
    assertClose(`cpu ${name}`, onCpu[i]!, expected[i]!);
    assertClose(`wasm ${name}`, onWasm[i]!, expected[i]!);
  });
});

/** Per-channel mean and biased variance of X in float64, with M values per channel. */
function channelMoments(): { mean: number[]; variance: number[]; count: number } {
  const count = X.length / CHANNELS;
  const mean = Array.from({ length: CHANNELS }, (_, c) => X.filter((_, i) => i % CHANNELS === c).reduce((a, b) => a + b, 0) / count);
  const variance = mean.map((mu, c) => X.filter((_, i) => i % CHANNELS === c).reduce((a, v) => a + (v - mu) ** 2, 0) / count);
  return { mean, variance, count };
}

function trainingLayer(): { layer: BatchNormalization; model: tf.LayersModel } {
  const input = tf.input({ shape: SHAPE.slice(1) });
  const layer = new BatchNormalization({ name: 'bn', axis: -1, epsilon: EPSILON, momentum: 0.9 });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  layer.setWeights([tf.tensor1d(GAMMA), tf.tensor1d(BETA), tf.tensor1d([0.5, -0.5, 1, 0, 2, -1]), tf.tensor1d([1, 2, 0.5, 1.5, 1, 3])]);
  return { layer, model };
}

test('one training call moves the running statistics as PyTorch does: momentum 0.1 toward the mean and the unbiased variance (M / (M − 1) times the biased)', async () => {
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const { layer, model } = trainingLayer();
    tf.tidy(() => void model.apply(tf.tensor(X, SHAPE), { training: true }));
    const [, , runningMean, runningVariance] = layer.getWeights().map((w) => w.dataSync());
    const { mean, variance, count } = channelMoments();
    // PyTorch: running = (1 − 0.1)·running + 0.1·batch, with the variance term n/(n − 1)·σ², here M = 3·5·4 = 60.
    assert.is(count, 60);
    const expectedMean = [0.5, -0.5, 1, 0, 2, -1].map((old, c) => 0.9 * old + 0.1 * mean[c]!);
    const expectedVariance = [1, 2, 0.5, 1.5, 1, 3].map((old, c) => 0.9 * old + 0.1 * variance[c]! * (60 / 59));
    assertClose(`${backend} running mean`, Float32Array.from(runningMean!), Float32Array.from(expectedMean), 1e-6);
    assertClose(`${backend} running variance`, Float32Array.from(runningVariance!), Float32Array.from(expectedVariance), 1e-6);
    model.dispose();
  }
  await tf.setBackend('wasm');
});

test("in inference the layer normalises with its running statistics exactly as tfjs-layers' BatchNormalization does", () => {
  const { layer, model } = trainingLayer();
  const reference = tf.layers.batchNormalization({ axis: -1, epsilon: EPSILON, momentum: 0.9 });
  const x = tf.tensor(X, SHAPE);
  reference.apply(x);
  reference.setWeights(layer.getWeights());
  const ours = model.predict(x) as tf.Tensor;
  const theirs = reference.apply(x) as tf.Tensor;
  assert.equal(Array.from(ours.dataSync()), Array.from(theirs.dataSync()));
  tf.dispose([x, ours, theirs]);
  model.dispose();
  reference.dispose();
});

test("the layer keeps tfjs' class name and weight names, and a model saved as JSON loads back into it", async () => {
  const { layer, model } = trainingLayer();
  assert.is(layer.getClassName(), 'BatchNormalization');
  assert.equal(
    layer.weights.map((w) => w.originalName),
    ['bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance'],
  );
  const loaded = await tf.models.modelFromJSON(model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] as never);
  assert.ok(loaded.getLayer('bn') instanceof BatchNormalization, 'deserialised as the fused layer');
  model.dispose();
  loaded.dispose();
});

test('no leaks: a training call and its gradients leave tf.memory().numTensors as it was', () => {
  const { layer, model } = trainingLayer();
  const x = tf.tensor(X, SHAPE);
  const before = tf.memory().numTensors;
  const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor).mul(1) as tf.Scalar, variables);
  tf.dispose([value, ...Object.values(grads)]);
  assert.is(tf.memory().numTensors, before);
  x.dispose();
  model.dispose();
});

test.run();
