// Training (src/train): the learning-rate schedules and optimisers against PyTorch's definitions, worked by hand and
// compared with torch itself where python3 has it; batch assembly and augmentation on hand-made images; checkpoints;
// then real training runs on Fashion-MNIST: a tiny ResNet learns, writes loadable weights, metrics and curves, and a
// run stopped and resumed ends bit-identical to one that was never stopped, on one thread and on two.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import type { ImageSet } from '../src/data/image-set.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { defaultFashionMnistDir, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { registerWasmGradients } from '../src/runtime/training/wasm-gradients.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { weightSlots } from '../src/weights/mapping.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { assembleBatch, epochOrder, measureNormalization, NO_AUGMENTATION, stratifiedSample, type Normalization } from '../src/train/batches.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, type Checkpoint } from '../src/train/checkpoint.js';
import { Optimizer, type OptimizerConfig } from '../src/train/optimizer.js';
import type { EpochRecord } from '../src/train/plot.js';
import type { ProgressReporter } from '../src/train/progress.js';
import { Replica } from '../src/train/replica.js';
import { learningRate } from '../src/train/schedule.js';
import type { TrainConfig } from '../src/train/config.js';
import { train, type TrainResult } from '../src/train/train.js';
import { tinyGraph } from './support/tiny-fashion.js';
import { pythonHas } from './support/python.js';

// ---------------------------------------------------------------------------------------------------------------
// PyTorch, when python3 has it: each comparison runs one short script fed JSON on standard input.

const PYTHON = '/usr/bin/python3';
let torchChecked: boolean | undefined;
function torchAvailable(): boolean {
  torchChecked ??= existsSync(PYTHON) && pythonHas(PYTHON, 'torch');
  if (!torchChecked) console.log(`\n  train.test.ts skipped a PyTorch comparison: ${PYTHON} cannot import torch\n`);
  return torchChecked;
}

function runPython<T>(script: string, input: unknown): T {
  const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

const relative = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

// ---------------------------------------------------------------------------------------------------------------
// Backend: wasm, with netspec's gradient kernels, as `netspec train` runs.

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  registerWasmGradients();
});

// ---------------------------------------------------------------------------------------------------------------
// 1. Learning-rate schedules.

test('constant: the peak at every step', () => {
  for (const step of [0, 1, 50, 99, 100]) assert.is(learningRate('constant', 0.1, step, 100), 0.1);
});

test('cosine (CosineAnnealingLR, T_max = total steps, η_min = 0): peak, peak / 2 at the midpoint, 0 at the end', () => {
  // lr(t) = peak · (1 + cos(π t / T)) / 2. t = 0: peak · 2/2; t = 50 of 100: peak · (1 + 0)/2; t = 100: peak · 0/2.
  const peak = 0.4;
  assert.is(learningRate('cosine', peak, 0, 100), peak);
  assert.ok(Math.abs(learningRate('cosine', peak, 50, 100) - 0.2) < 1e-15);
  assert.ok(Math.abs(learningRate('cosine', peak, 100, 100)) < 1e-15);
  // t = 25: peak · (1 + cos(π/4))/2 = 0.4 · (1 + 0.70710678…)/2 = 0.34142135…
  assert.ok(Math.abs(learningRate('cosine', peak, 25, 100) - 0.2 * (1 + Math.SQRT1_2)) < 1e-15);
});

test('onecycle, as OneCycleLR with its defaults, worked by hand for 100 steps', () => {
  // pct_start 0.3: phase 1 ends at step 0.3 · 100 − 1 = 29, phase 2 at step 100 − 1 = 99.
  // initial = peak / div_factor = 1 / 25 = 0.04; minimum = initial / final_div_factor = 0.04 / 1e4 = 4e-6.
  // Cosine annealing between the phase ends: lr = end + (start − end) · (1 + cos(π · pct)) / 2.
  const peak = 1;
  const at = (step: number) => learningRate('onecycle', peak, step, 100);
  assert.ok(relative(at(0), 0.04) < 1e-12, `step 0: ${at(0)}`);
  assert.ok(relative(at(29), 1) < 1e-12, `step 29 (end of warm-up): ${at(29)}`);
  assert.ok(relative(at(99), 4e-6) < 1e-9, `step 99 (last): ${at(99)}`);
  // Mid-warm-up would be step 14.5; halfway through the annealing is step 29 + 70/2 = 64: (1 + 4e-6) / 2.
  assert.ok(relative(at(64), 0.500002) < 1e-12, `step 64: ${at(64)}`);
  // Step 10 of the warm-up: pct = 10/29, lr = 1 + (0.04 − 1) · (1 + cos(π · 10/29)) / 2.
  assert.ok(relative(at(10), 1 - (0.96 * (1 + Math.cos((Math.PI * 10) / 29))) / 2) < 1e-12);
  // The peak is the maximum, and the warm-up rises while the annealing falls.
  const trace = Array.from({ length: 100 }, (_, i) => at(i));
  assert.is(Math.max(...trace), trace[29]);
  for (let i = 1; i < 100; i++) assert.ok(i <= 29 ? trace[i]! > trace[i - 1]! : trace[i]! < trace[i - 1]!, `step ${i}`);
});

test('onecycle equals torch.optim.lr_scheduler.OneCycleLR over 100 steps (python3 with torch)', () => {
  if (!torchAvailable()) return;
  const script = `
import json, sys, warnings, torch
warnings.simplefilter('ignore')
cfg = json.load(sys.stdin)
out = {}
for total in cfg['totals']:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=cfg['peak'])
    s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg['peak'], total_steps=total)
    lrs = []
    for _ in range(total):
        lrs.append(s.get_last_lr()[0]); opt.step(); s.step()
    out[str(total)] = lrs
print(json.dumps(out))`;
  const peak = 0.4;
  const totals = [100, 37, 7];
  const expected = runPython<Record<string, number[]>>(script, { peak, totals });
  for (const total of totals) {
    const trace = expected[String(total)]!;
    assert.is(trace.length, total);
    trace.forEach((lr, step) =>
      assert.ok(
        relative(learningRate('onecycle', peak, step, total), lr) <= 1e-9,
        `total ${total}, step ${step}: ${learningRate('onecycle', peak, step, total)} vs torch ${lr}`,
      ),
    );
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Optimisers.

const sgd = (nesterov: boolean, weightDecay: number, momentum = 0.9): OptimizerConfig => ({
  name: 'sgd',
  momentum,
  nesterov,
  weightDecay,
  betas: [0.9, 0.999],
  epsilon: 1e-8,
});
const adam = (weightDecay: number): OptimizerConfig => ({ name: 'adam', momentum: 0, nesterov: false, weightDecay, betas: [0.9, 0.999], epsilon: 1e-8 });

/** Runs `steps` optimiser steps on a fresh variable from `initial`, the i-th step with gradients[i]; returns the weights. */
function optimise(config: OptimizerConfig, initial: number[], gradients: number[][], lr: number): Float32Array {
  const variable = tf.variable(tf.tensor1d(initial));
  const optimizer = new Optimizer(config, [variable]);
  for (const g of gradients) {
    const gradient = tf.tensor1d(g);
    optimizer.step([gradient], lr);
    gradient.dispose();
  }
  const result = variable.dataSync() as Float32Array;
  optimizer.dispose();
  variable.dispose();
  return result.slice();
}

test('SGD with momentum 0.9 and weight decay 0.1, worked by hand for 3 steps (plain and Nesterov)', () => {
  // w₀ = 1, gradient 0.5 at every step, lr 0.1. torch.optim.SGD: d = g + wd·w; buf = μ·buf + d (buf₀ = 0, so the
  // first buf is d); plain: w −= lr·buf; Nesterov: w −= lr·(d + μ·buf).
  // Plain:    d = 0.5 + 0.1·1 = 0.6,         buf = 0.6,                      w = 1 − 0.06 = 0.94
  //           d = 0.5 + 0.094 = 0.594,       buf = 0.54 + 0.594 = 1.134,     w = 0.94 − 0.1134 = 0.8266
  //           d = 0.5 + 0.08266 = 0.58266,   buf = 1.0206 + 0.58266 = 1.60326, w = 0.8266 − 0.160326 = 0.666274
  // Nesterov: d = 0.6, buf = 0.6, step 0.6 + 0.54 = 1.14,                    w = 1 − 0.114 = 0.886
  //           d = 0.5886, buf = 0.54 + 0.5886 = 1.1286, step 0.5886 + 1.01574 = 1.60434, w = 0.886 − 0.160434 = 0.725566
  //           d = 0.5725566, buf = 1.01574 + 0.5725566 = 1.5882966, step 0.5725566 + 1.42946694 = 2.00202354,
  //           w = 0.725566 − 0.200202354 = 0.525363646
  const steps = [[0.5], [0.5], [0.5]];
  const plain = [0.94, 0.8266, 0.666274];
  const nesterov = [0.886, 0.725566, 0.525363646];
  for (let n = 1; n <= 3; n++) {
    assert.ok(relative(optimise(sgd(false, 0.1), [1], steps.slice(0, n), 0.1)[0]!, plain[n - 1]!) < 1e-6, `plain, step ${n}`);
    assert.ok(relative(optimise(sgd(true, 0.1), [1], steps.slice(0, n), 0.1)[0]!, nesterov[n - 1]!) < 1e-6, `Nesterov, step ${n}`);
  }
});

test("Adam's first step moves every weight by lr against the sign of its gradient (bias correction, by hand)", () => {
  // m₁ = (1 − β₁)·g, v₁ = (1 − β₂)·g²; m̂ = m₁ / (1 − β₁) = g, v̂ = g², so the step is lr · g / (|g| + ε) ≈ lr · sign(g).
  const after = optimise(adam(0), [1, -2, 0.5], [[0.3, -4, 1e-3]], 0.01);
  [0.99, -1.99, 0.49].forEach((expected, i) => assert.ok(relative(after[i]!, expected) < 1e-6, `weight ${i}: ${after[i]}`));
});

const INITIAL = [1, -2, 0.5, 3, -0.75];
const GRADIENTS = [
  [0.5, 1, -0.3, 0.2, -1.5],
  [-0.4, 0.8, 0.1, 0.6, 0.05],
  [0.3, -0.7, 0.9, -0.5, 2],
];
const optimizerCases: { label: string; config: OptimizerConfig; lr: number; torch: string }[] = [
  {
    label: 'SGD momentum 0.9, weight decay 5e-4',
    config: sgd(false, 5e-4),
    lr: 0.1,
    torch: 'torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=False, weight_decay=5e-4)',
  },
  {
    label: 'SGD Nesterov momentum 0.9, weight decay 5e-4',
    config: sgd(true, 5e-4),
    lr: 0.1,
    torch: 'torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)',
  },
  { label: 'Adam', config: adam(0), lr: 0.05, torch: 'torch.optim.Adam([p], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)' },
  { label: 'Adam, weight decay 1e-2', config: adam(1e-2), lr: 0.05, torch: 'torch.optim.Adam([p], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)' },
];

test('SGD (plain and Nesterov) and Adam (with and without weight decay) equal torch.optim over 3 steps (python3 with torch)', () => {
  if (!torchAvailable()) return;
  // torch in float64, so the reference carries no rounding of its own to speak of; netspec's float32 must be within 1e-6.
  const script = `
import json, sys, torch
cfg = json.load(sys.stdin)
out = []
for make in cfg['optimizers']:
    p = torch.nn.Parameter(torch.tensor(cfg['initial'], dtype=torch.float64))
    opt = eval(make)
    trace = []
    for g in cfg['gradients']:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        trace.append(p.detach().tolist())
    out.append(trace)
print(json.dumps(out))`;
  const expected = runPython<number[][][]>(script, { initial: INITIAL, gradients: GRADIENTS, optimizers: optimizerCases.map((c) => c.torch) });
  optimizerCases.forEach(({ label, config, lr }, c) => {
    for (let n = 1; n <= GRADIENTS.length; n++) {
      const actual = optimise(config, INITIAL, GRADIENTS.slice(0, n), lr);
      const reference = expected[c]![n - 1]!;
      reference.forEach((value, i) => assert.ok(relative(actual[i]!, value) <= 1e-6, `${label}, step ${n}, weight ${i}: ${actual[i]} vs torch ${value}`));
      // Every weight moved: the comparison is not of the initial values with themselves.
      reference.forEach((value, i) => assert.ok(Math.abs(value - INITIAL[i]!) > 1e-3, `${label}: weight ${i} moves`));
    }
  });
});

test('state() then restore() into a fresh optimiser continues exactly as the uninterrupted one', () => {
  for (const { label, config, lr } of optimizerCases) {
    const straight = optimise(config, INITIAL, GRADIENTS, lr);
    // Two steps, save; a new variable and optimiser take the weights and the state; the third step there.
    const first = tf.variable(tf.tensor1d(INITIAL));
    const before = new Optimizer(config, [first]);
    for (const g of GRADIENTS.slice(0, 2)) tf.tidy(() => before.step([tf.tensor1d(g)], lr));
    const saved = before.state();
    const weights = (first.dataSync() as Float32Array).slice();
    before.dispose();
    first.dispose();
    assert.is(saved.steps, 2);
    assert.is(saved.slots[0]!.length, config.name === 'sgd' ? 1 : 2, `${label}: slots per variable`);
    const second = tf.variable(tf.tensor1d(weights));
    const after = new Optimizer(config, [second]);
    after.restore(saved);
    tf.tidy(() => after.step([tf.tensor1d(GRADIENTS[2]!)], lr));
    assert.equal([...(second.dataSync() as Float32Array)], [...straight], `${label}: bit-identical after restore`);
    after.dispose();
    second.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Batches: normalisation, augmentation, order.

/** Two 2×2 grey images; pixel / 255 = 0, .2, .4, .6 and .8, 1, .2, .4. */
const handMade: ImageSet = {
  images: Uint8Array.from([0, 51, 102, 153, 204, 255, 51, 102]),
  labels: Uint8Array.from([3, 7]),
  count: 2,
  height: 2,
  width: 2,
  channels: 1,
  classes: 10,
};

test('measureNormalization: the mean and population standard deviation of the pixels / 255, per channel', () => {
  // Sum = 0 + .2 + .4 + .6 + .8 + 1 + .2 + .4 = 3.6, mean = 3.6 / 8 = 0.45.
  // Sum of squares = 0 + .04 + .16 + .36 + .64 + 1 + .04 + .16 = 2.4; variance = 2.4 / 8 − 0.45² = 0.3 − 0.2025 = 0.0975.
  const { mean, std } = measureNormalization(handMade);
  assert.is(mean.length, 1);
  assert.ok(Math.abs(mean[0]! - 0.45) < 1e-12);
  assert.ok(Math.abs(std[0]! - Math.sqrt(0.0975)) < 1e-12);
  // Two channels are kept apart: one 1×2 image with pixels (0, 51) and (255, 153): channel 0 holds 0 and 1
  // (mean .5, std .5), channel 1 holds .2 and .6 (mean .4, std .2).
  const twoChannels = measureNormalization({
    ...handMade,
    images: Uint8Array.from([0, 51, 255, 153]),
    labels: Uint8Array.from([0]),
    count: 1,
    height: 1,
    width: 2,
    channels: 2,
  });
  twoChannels.mean.forEach((m, c) => assert.ok(Math.abs(m - [0.5, 0.4][c]!) < 1e-12, `mean ${c}`));
  twoChannels.std.forEach((s, c) => assert.ok(Math.abs(s - [0.5, 0.2][c]!) < 1e-12, `std ${c}`));
});

test('assembleBatch without augmentation: (pixel / 255 − mean) / std, in the order asked, with the labels', () => {
  const normalization: Normalization = { mean: [0.45], std: [0.25] };
  const { images, labels } = assembleBatch(handMade, [1, 0], normalization);
  // Image 1 first: (.8 − .45)/.25 = 1.4, (1 − .45)/.25 = 2.2, (.2 − .45)/.25 = −1, (.4 − .45)/.25 = −0.2;
  // then image 0: −1.8, −1, −0.2, 0.6.
  const expected = [1.4, 2.2, -1, -0.2, -1.8, -1, -0.2, 0.6];
  assert.is(images.length, 8);
  expected.forEach((value, i) => assert.ok(Math.abs(images[i]! - value) < 1e-6, `pixel ${i}: ${images[i]} vs ${value}`));
  assert.equal([...labels], [7, 3]);
});

test("assembleBatch with crop padding and flip: the window and mirror PyTorch's RandomCrop then RandomHorizontalFlip pick", () => {
  // One 3×3 image, pixels 10·(row·3 + col + 1): p00 = 10 … p22 = 90. Normalisation mean .5, std .25, so a pixel p becomes
  // (p/255 − .5)/.25 and padding (zero before normalisation, as RandomCrop pads the image) becomes −2.
  const set: ImageSet = {
    images: Uint8Array.from({ length: 18 }, (_, i) => 10 * ((i % 9) + 1)),
    labels: Uint8Array.from([1, 2]),
    count: 2,
    height: 3,
    width: 3,
    channels: 1,
    classes: 10,
  };
  const normalization: Normalization = { mean: [0.5], std: [0.25] };
  const value = (p: number) => (p / 255 - 0.5) / 0.25;
  const PAD = -2;
  // Each image draws three numbers: the vertical offset, the horizontal offset (each floor(r · 3) − 1 for padding 1),
  // then the flip (r < 0.5). Image 0: r = 0 → dy = −1; r = 0.99 → dx = +1; r = 0.1 → flipped.
  // Image 1: r = 0.5 → dy = 0; r = 0.5 → dx = 0; r = 0.9 → not flipped, so it comes out unchanged.
  const draws = [0, 0.99, 0.1, 0.5, 0.5, 0.9];
  let next = 0;
  const { images, labels } = assembleBatch(set, [0, 1], normalization, { cropPadding: 1, horizontalFlip: true }, () => draws[next++]!);
  assert.is(next, 6, 'three draws per image');
  // Image 0 by hand: pad to 5×5 (the image at rows and columns 1–3), crop the 3×3 window at row 1 + dy = 0 and column
  // 1 + dx = 2:   0   0   0        then mirror each row:   0   0   0
  //              p01 p02  0                                0  p02 p01
  //              p11 p12  0                                0  p12 p11
  const image0 = [PAD, PAD, PAD, PAD, value(30), value(20), PAD, value(60), value(50)];
  const image1 = [10, 20, 30, 40, 50, 60, 70, 80, 90].map(value);
  [...image0, ...image1].forEach((expected, i) => assert.ok(Math.abs(images[i]! - expected) < 1e-6, `pixel ${i}: ${images[i]} vs ${expected}`));
  assert.equal([...labels], [1, 2]);
  // Flip alone, on image 1 (no padding: no offsets drawn, one draw for the flip): each row mirrored.
  const flipped = assembleBatch(set, [1], normalization, { cropPadding: 0, horizontalFlip: true }, () => 0.2);
  [30, 20, 10, 60, 50, 40, 90, 80, 70].map(value).forEach((expected, i) => assert.ok(Math.abs(flipped.images[i]! - expected) < 1e-6, `flipped pixel ${i}`));
  // No augmentation draws nothing.
  assembleBatch(set, [0, 1], normalization, NO_AUGMENTATION, () => {
    throw new Error('no draws without augmentation');
  });
});

test('epochOrder: a permutation, the same for the same (seed, epoch), different across epochs and seeds', () => {
  const order = epochOrder(1000, 7, 0);
  assert.equal(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.equal([...epochOrder(1000, 7, 0)], [...order]);
  assert.equal([...epochOrder(1000, 7, 3)], [...epochOrder(1000, 7, 3)]);
  const differs = (a: Int32Array, b: Int32Array) => a.some((v, i) => v !== b[i]);
  assert.ok(differs(order, epochOrder(1000, 7, 1)), 'epoch 1 differs from epoch 0');
  assert.ok(differs(order, epochOrder(1000, 8, 0)), 'seed 8 differs from seed 7');
  assert.ok(
    differs(
      order,
      Int32Array.from({ length: 1000 }, (_, i) => i),
    ),
    'shuffled',
  );
});

// ---------------------------------------------------------------------------------------------------------------
// 4. Checkpoints.

const scratch = () => mkdtempSync(join(tmpdir(), 'netspec-train-'));

const checkpointConfig = (optimizer: OptimizerConfig): TrainConfig => ({
  epochs: 3,
  batchSize: 32,
  optimizer,
  learningRate: 0.1,
  schedule: 'onecycle',
  augmentation: { cropPadding: 2, horizontalFlip: true },
  seed: 5,
  trainLimit: 100,
  replicas: 1,
});

/** A checkpoint of the tiny model with every weight of it, values distinct and reproducible, and two variables' slots. */
function handMadeCheckpoint(optimizer: OptimizerConfig): Checkpoint {
  const values = (n: number, start: number) => Float32Array.from({ length: n }, (_, i) => start + i / 7 - Math.PI * (i % 3));
  const slotCount = optimizer.name === 'sgd' ? 1 : 2;
  return {
    state: {
      format: 'netspec-checkpoint',
      version: 1,
      model: 'tiny_fashion',
      config: checkpointConfig(optimizer),
      normalization: { mean: [0.2860405969887955], std: [0.3530242445149223] },
      position: { epoch: 1, step: 2, lossSum: 123.456789012345, correct: 17, seen: 64, seconds: 1.5 },
      history: [{ epoch: 1, trainLoss: 2.1, trainAccuracy: 0.25, testLoss: 1.9, testAccuracy: 0.3, seconds: 3.25 }],
    },
    // Distinct values of either sign, but a BatchNorm variance's, which loading refuses below 0.
    weights: weightSlots(tinyGraph()).map((slot, i) => {
      const data = values(
        slot.tfjsShape.reduce((a, b) => a * b, 1),
        i / 10,
      );
      return { name: slot.tfjsName, shape: slot.tfjsShape, data: slot.tfjsName.endsWith('/moving_variance') ? data.map(Math.abs) : data };
    }),
    optimizer: { steps: 42, slots: [Array.from({ length: slotCount }, (_, s) => values(18, s)), Array.from({ length: slotCount }, (_, s) => values(2, -s))] },
  };
}

test('a checkpoint round-trips its weights, optimiser slots and state exactly (SGD and Adam)', () => {
  const dir = scratch();
  for (const optimizer of [sgd(true, 5e-4), adam(1e-2)]) {
    const path = join(dir, `${optimizer.name}.safetensors`);
    const written = handMadeCheckpoint(optimizer);
    writeCheckpoint(path, written);
    const read = readCheckpoint(path, tinyGraph());
    assert.equal(read.state, written.state);
    assert.equal(
      read.weights.map((w) => [w.name, [...w.shape], [...w.data]]),
      written.weights.map((w) => [w.name, [...w.shape], [...w.data]]),
    );
    assert.is(read.optimizer.steps, 42);
    assert.equal(
      read.optimizer.slots.map((slots) => slots.map((s) => [...s])),
      written.optimizer.slots.map((slots) => slots.map((s) => [...s])),
    );
  }
  rmSync(dir, { recursive: true });
});

test("reading a checkpoint refuses another model's and a plain safetensors file, saying why", () => {
  const dir = scratch();
  const path = join(dir, 'checkpoint.safetensors');
  writeCheckpoint(path, handMadeCheckpoint(sgd(true, 5e-4)));
  assert.throws(
    () => readCheckpoint(path, tinyGraph({ name: 'resnet20_fashion' })),
    (error: Error) => error.message === `${path} is a checkpoint of tiny_fashion, not of resnet20_fashion`,
  );
  const plain = join(dir, 'plain.safetensors');
  writeFileSync(plain, writeSafetensors(new Map([['conv1.weight', { shape: [2], data: Float32Array.from([1, 2]) }]])));
  assert.throws(
    () => readCheckpoint(plain, tinyGraph()),
    (error: Error) => error.message === `${plain} is not a netspec training checkpoint (no netspec.checkpoint metadata)`,
  );
  rmSync(dir, { recursive: true });
});

/** The message readCheckpoint fails with on the tiny graph (or `graph`) for the hand-made checkpoint changed by `edit`. */
function checkpointRefusal(edit: (checkpoint: Checkpoint) => void, graph = tinyGraph(), optimizer = adam(1e-2)): string {
  const dir = scratch();
  const path = join(dir, 'checkpoint.safetensors');
  const checkpoint = handMadeCheckpoint(optimizer);
  edit(checkpoint);
  writeCheckpoint(path, checkpoint);
  try {
    readCheckpoint(path, graph);
  } catch (error) {
    return (error as Error).message.replace(`${path} cannot be resumed from: `, '');
  } finally {
    rmSync(dir, { recursive: true });
  }
  throw new Error('the checkpoint was accepted');
}

test('resume checks the checkpoint before using it: a widened spec, missing tensors or slots, bad settings, numbers and positions, one line each', () => {
  const config = (c: Checkpoint) => c.state.config as unknown as Record<string, unknown>;
  const cases: [(c: Checkpoint) => void, string | RegExp, AnalyzedGraph?][] = [
    // The spec's second stage widened from 16 to 32 channels since the checkpoint was written.
    [
      () => {},
      /^its weights are not those of tiny_fashion as the spec describes it \(was the spec changed\?\): layer2\.0\.conv1\/kernel is \[3, 3, 8, 16\] there but \[3, 3, 8, 32\] in the spec; .* \(and \d+ more\)$/,
      tinyGraph({ stages: { widths: [8, 32], depths: [1, 1], strides: [1, 2] } }),
    ],
    [(c) => c.weights.shift(), 'its weights are not those of tiny_fashion as the spec describes it (was the spec changed?): missing conv1/kernel'],
    [(c) => c.optimizer.slots[0]!.pop(), "the optimiser's exp_avg_sq of variable 0 is missing"],
    [(c) => (config(c).learningRate = 'NaN'), 'its settings are unusable: the learning rate is "NaN"; it must be a number above 0 to 100'],
    [(c) => (config(c).learningRate = Infinity), 'its settings are unusable: the learning rate is null; it must be a number above 0 to 100'],
    [
      (c) => ((c.state.config.optimizer as unknown as Record<string, unknown>).name = 'rmsprop'),
      'its settings are unusable: the optimiser "rmsprop" is not one of sgd, adam',
    ],
    [(c) => (config(c).batchSize = 0), 'its settings are unusable: the batch size is 0; it must be an integer from 1 to 65536'],
    [(c) => (config(c).epochs = 2.5), 'its settings are unusable: the epoch count is 2.5; it must be an integer from 1 to 10000'],
    [(c) => (config(c).schedule = 'linear'), 'its settings are unusable: the schedule "linear" is not one of onecycle, cosine, constant, poly, steps'],
    [(c) => (c.optimizer.slots[1]![0]![1] = NaN), 'optimizer/1/exp_avg holds 1 NaN value (at index 1)'],
    [(c) => (c.weights[3]!.data[0] = -Infinity), `model/${weightSlots(tinyGraph())[3]!.tfjsName} holds 1 -Inf value (at index 0)`],
    [(c) => (c.state.normalization.std[0] = 0), 'its input normalisation is unusable: the standard deviation of channel 0 is 0, not positive'],
    [
      (c) => (c.state.normalization.mean.push(0.5), c.state.normalization.std.push(0.5)),
      'its input normalisation is unusable: it normalises 2 channels where the model takes 1',
    ],
    [
      (c) => ((c.state as { position: unknown }).position = { ...c.state.position, epoch: 7 }),
      'its position (epoch 7, 17 of 64 correct) does not fit a run of 3 epochs',
    ],
    [
      (c) => ((c.state as { position: unknown }).position = { ...c.state.position, lossSum: null }),
      /^its position .* is not whole epoch, step and image counts with finite sums$/,
    ],
    [(c) => ((c.state as { history: unknown }).history = []), 'its history does not hold one record per finished epoch (1)'],
  ];
  for (const [edit, expected, graph] of cases) {
    const message = checkpointRefusal(edit, graph);
    assert.not.match(message, /\n/, 'one line');
    if (typeof expected === 'string') assert.is(message, expected);
    else assert.match(message, expected);
  }
});

test('a checkpoint whose header length is not a multiple of 4 loads (regression: "start offset of Float32Array should be a multiple of 4")', () => {
  const dir = scratch();
  const path = join(dir, 'checkpoint.safetensors');
  const written = handMadeCheckpoint(sgd(true, 0));
  writeCheckpoint(path, written);
  const bytes = readFileSync(path);
  const length = Number(bytes.readBigUInt64LE(0));
  // The header padded with spaces to a length of 2 mod 4, as another writer might leave it.
  let header = bytes
    .subarray(8, 8 + length)
    .toString()
    .trimEnd();
  while (Buffer.byteLength(header) % 4 !== 2) header += ' ';
  const moved = Buffer.alloc(8 + Buffer.byteLength(header) + bytes.length - 8 - length);
  moved.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  moved.write(header, 8);
  bytes.copy(moved, 8 + Buffer.byteLength(header), 8 + length);
  writeFileSync(path, moved);
  const read = readCheckpoint(path, tinyGraph());
  assert.equal([...read.weights[0]!.data], [...written.weights[0]!.data]);
  rmSync(dir, { recursive: true });
});

/** A small image set of `count` 28×28 grey images with varied pixels and every label in turn. */
function syntheticSet(count: number, pixel = (i: number) => (i * 37) % 251): ImageSet {
  return {
    images: Uint8Array.from({ length: count * 784 }, (_, i) => pixel(i)),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: 28,
    width: 28,
    channels: 1,
    classes: 10,
  };
}

const shortRun = (overrides: Partial<TrainConfig> = {}): TrainConfig => ({
  epochs: 1,
  batchSize: 8,
  optimizer: sgd(false, 0),
  learningRate: 0.1,
  schedule: 'constant',
  augmentation: NO_AUGMENTATION,
  seed: 0,
  trainLimit: null,
  replicas: 1,
  ...overrides,
});

test('resume refuses optimiser slots that are not one per trained variable of its size, naming the file', async () => {
  const dir = scratch();
  const handMade = handMadeCheckpoint(sgd(false, 0));
  const state = { ...handMade.state, config: shortRun({ epochs: 3 }), position: { epoch: 1, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 } };
  writeCheckpoint(join(dir, CHECKPOINT_FILE), { ...handMade, state });
  const set = syntheticSet(16);
  const failure = await train({
    graph: tinyGraph(),
    data: { train: set, test: set },
    config: shortRun(),
    out: dir,
    resume: true,
    log: () => {},
    progress: quiet,
  }).then(
    () => 'trained',
    (error: Error) => error.message,
  );
  assert.match(
    failure,
    new RegExp(
      `^${join(dir, CHECKPOINT_FILE).replace(/[.]/g, '\\.')} cannot be resumed from: it holds the optimiser's slots of 2 variables; the model trains \\d+$`,
    ),
  );
  rmSync(dir, { recursive: true });
});

test('a constant input channel is refused before training, as torchvision refuses a deviation of 0, and nothing is written', async () => {
  const dir = scratch();
  const set = syntheticSet(16, () => 128);
  assert.throws(() => measureNormalization(set), /^cannot train on these images: channel 0 holds the value 128 in every pixel, so its standard deviation is 0/);
  const failure = await train({ graph: tinyGraph(), data: { train: set, test: set }, config: shortRun(), out: dir, log: () => {}, progress: quiet }).then(
    () => 'trained',
    (error: Error) => error.message,
  );
  assert.match(failure, /channel 0 holds the value 128 in every pixel/);
  assert.equal(readdirSync(dir), [], 'nothing written');
  rmSync(dir, { recursive: true });
});

test('a diverged run (a NaN loss) stops with one line before it writes a checkpoint or weights', async () => {
  const dir = scratch();
  const set = syntheticSet(16);
  const graph = tinyGraph();
  // Weights to start from with one NaN in the classifier's bias: the first step's loss is NaN.
  const weights = new Map(
    weightSlots(graph).map((slot) => [
      slot.tfjsName,
      {
        name: slot.tfjsName,
        shape: slot.tfjsShape,
        data: new Float32Array(slot.tfjsShape.reduce((a, b) => a * b, 1)).fill(slot.tfjsName.includes('moving_variance') ? 1 : 0.01),
      },
    ]),
  );
  weights.get('fc/bias')!.data[3] = NaN;
  const failure = await train({
    graph,
    data: { train: set, test: set },
    config: shortRun(),
    out: dir,
    init: { weights, source: 'nan-weights' },
    log: () => {},
    progress: quiet,
  }).then(
    () => 'trained',
    (error: Error) => error.message,
  );
  assert.is(
    failure,
    `training diverged at epoch 1, step 1: the loss is NaN; nothing of it was saved, and ${join(dir, CHECKPOINT_FILE)} keeps the last finished epoch, if any: lower the learning rate (--lr) or clip the gradients (--clip-grad) and train again`,
  );
  assert.equal(readdirSync(dir), [], 'no checkpoint, no weights');
  rmSync(dir, { recursive: true });
});

test('--limit draws from every class in proportion to its size, seeded, where the first N images would be one class', () => {
  // 100 images sorted by class, as an image folder lists them: 50 of class 0, 30 of class 1, 20 of class 2.
  const labels = Uint8Array.from({ length: 100 }, (_, i) => (i < 50 ? 0 : i < 80 ? 1 : 2));
  const picked = stratifiedSample(labels, 3, 10, 7);
  const perClass = [0, 1, 2].map((c) => [...picked].filter((i) => labels[i] === c).length);
  // 10 × 50/100 = 5, 10 × 30/100 = 3, 10 × 20/100 = 2.
  assert.equal(perClass, [5, 3, 2]);
  assert.equal(
    [...picked],
    [...picked].sort((a, b) => a - b),
    'in ascending order',
  );
  assert.equal([...stratifiedSample(labels, 3, 10, 7)], [...picked], 'the same for the same seed');
  assert.not.equal([...stratifiedSample(labels, 3, 10, 8)], [...picked], 'another for another seed');
  // Remainders: 7 × 0.5 = 3.5, 7 × 0.3 = 2.1, 7 × 0.2 = 1.4 → 3, 2, 1 and the last image to the largest remainder, class 0.
  assert.equal(
    [0, 1, 2].map((c) => [...stratifiedSample(labels, 3, 7, 1)].filter((i) => labels[i] === c).length),
    [4, 2, 1],
  );
  // Three classes of 10 and a limit of 8: 8/3 = 2.67 each, so 2, 2, 2 and the two left over to the first two classes.
  const even = Uint8Array.from({ length: 30 }, (_, i) => Math.floor(i / 10));
  assert.equal(
    [0, 1, 2].map((c) => [...stratifiedSample(even, 3, 8, 1)].filter((i) => even[i] === c).length),
    [3, 3, 2],
  );
  assert.is(stratifiedSample(labels, 3, 500, 1).length, 100, 'a limit past the count takes every image');
});

// ---------------------------------------------------------------------------------------------------------------
// 5 and 6. Training on the real Fashion-MNIST.

const realDir = defaultFashionMnistDir();
const realInstalled = existsSync(realDir);
const withData = realInstalled ? test : test.skip;
if (!realInstalled) console.log(`\n  train.test.ts skipped training on Fashion-MNIST: ${realDir} does not exist (apt-get install dataset-fashion-mnist)\n`);
let fashion: { train: ImageSet; test: ImageSet };
const firstImages = (set: ImageSet, count: number): ImageSet => ({
  ...set,
  count,
  images: set.images.subarray(0, count * set.height * set.width * set.channels),
  labels: set.labels.subarray(0, count),
});

const quiet: ProgressReporter = { step() {}, end() {} };
const SGD = sgd(true, 5e-4);

withData('training the tiny ResNet on 512 images: the loss falls, the test accuracy is well above chance, and the outputs load', async () => {
  fashion ??= loadFashionMnist(realDir);
  const graph = tinyGraph();
  const out = scratch();
  // 8 epochs of 8 steps. Augmentation off: 64 steps are too few for it to help. Each epoch is evaluated on the first
  // 2,000 test images (fast); the saved weights are then evaluated on all 10,000 below.
  // So short a run leaves BatchNorm's running statistics behind the weights, and the test accuracy (inference mode) moves
  // a lot from one run to the next: over seeds 0–2 and peak rates 0.05, 0.1 and 0.2 it ended between 38% and 58% on the
  // first 2,000 test images, while the same weights with batch statistics scored 44–59% (PyTorch on the same recipe:
  // 52–64%). So the accuracy asserted is 30%, three times chance, and not 50%.
  const config: TrainConfig = {
    epochs: 8,
    batchSize: 64,
    optimizer: SGD,
    learningRate: 0.1,
    schedule: 'onecycle',
    augmentation: NO_AUGMENTATION,
    seed: 0,
    trainLimit: 512,
    replicas: 1,
  };
  const lines: string[] = [];
  const started = performance.now();
  const result = await train({
    graph,
    data: { train: fashion.train, test: firstImages(fashion.test, 2000) },
    config,
    out,
    backend: 'wasm',
    log: (line) => lines.push(line),
    progress: quiet,
  });
  const seconds = (performance.now() - started) / 1000;
  const { history } = result;
  console.log(
    `  tiny_fashion, 512 images, 8 epochs in ${seconds.toFixed(1)} s: ${history.map((r) => `${r.trainLoss.toFixed(3)}/${(100 * r.testAccuracy).toFixed(1)}%`).join(' ')} (train loss/test accuracy on 2,000)`,
  );
  assert.is(result.interrupted, false);
  assert.equal(
    history.map((r) => r.epoch),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  // Chance is a loss of ln 10 = 2.303 and an accuracy of 10%.
  assert.ok(history[0]!.trainLoss > 2, `epoch 1 starts near chance: ${history[0]!.trainLoss}`);
  assert.ok(history.at(-1)!.trainLoss < 0.75 * history[0]!.trainLoss, `the training loss falls: ${history.map((r) => r.trainLoss.toFixed(3)).join(', ')}`);
  assert.ok(history.at(-1)!.trainAccuracy > 0.4, `train accuracy ${history.at(-1)!.trainAccuracy}`);
  assert.match(lines[0]!, /^netspec: training tiny_fashion on 512 images for 8 epochs of 8 steps \(batch 64, sgd, onecycle learning rate 0\.1, 1 replica\)$/);
  assert.is(lines.filter((line) => /^epoch \d\/8 {2}train loss/.test(line)).length, 8);

  // The outputs: a loadable weights folder, metrics.json with the history, curves.svg, and the last checkpoint.
  assert.equal(result.files, {
    checkpoint: join(out, CHECKPOINT_FILE),
    weights: join(out, 'weights'),
    metrics: join(out, 'metrics.json'),
    curves: join(out, 'curves.svg'),
  });
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.history, history);
  assert.equal(metrics.config, config);
  assert.is(metrics.model, 'tiny_fashion');
  assert.is(metrics.testAccuracy, history.at(-1)!.testAccuracy);
  const normalization = metrics.normalization as Normalization;
  // Measured on the whole training set (not only the 512 images used): Fashion-MNIST's well-known 0.2860 and 0.3530.
  assert.ok(Math.abs(normalization.mean[0]! - 0.286) < 5e-4 && Math.abs(normalization.std[0]! - 0.353) < 5e-4, JSON.stringify(normalization));
  const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /tiny_fashion: 8 epochs/);
  assert.ok(existsSync(join(out, CHECKPOINT_FILE)));

  const model = await loadWeights(() => buildModel(graph), join(out, 'weights'));
  const accuracy = (set: ImageSet) => {
    let correct = 0;
    for (let start = 0; start < set.count; start += 1000) {
      const indices = Int32Array.from({ length: Math.min(1000, set.count - start) }, (_, i) => start + i);
      const batch = assembleBatch(set, indices, normalization);
      correct += tf.tidy(() => {
        const predicted = (model.predict(tf.tensor4d(batch.images, [indices.length, 28, 28, 1]), { batchSize: 500 }) as tf.Tensor).argMax(1);
        return tf.equal(predicted, tf.tensor1d(batch.labels, 'int32')).sum().dataSync()[0]!;
      });
    }
    return correct / set.count;
  };
  // The loaded weights give the accuracy training reported on the same 2,000 images (within 4 images), and on
  // the whole test set an accuracy well above chance.
  const onFirst = accuracy(firstImages(fashion.test, 2000));
  assert.ok(Math.abs(onFirst - history.at(-1)!.testAccuracy) <= 0.002, `loaded ${onFirst} vs trained ${history.at(-1)!.testAccuracy}`);
  const onAll = accuracy(fashion.test);
  console.log(`  the saved weights classify ${(100 * onAll).toFixed(2)}% of the 10,000 test images`);
  assert.ok(onAll > 0.3, `test accuracy ${onAll}`);
  model.dispose();
  rmSync(out, { recursive: true });
});

/** A progress reporter that counts steps, and a stop request that turns on after `after` steps, as Ctrl-C does. */
function stopAfter(after: number): { progress: ProgressReporter; shouldStop: () => boolean } {
  let steps = 0;
  return { progress: { step: () => void steps++, end() {} }, shouldStop: () => steps >= after };
}

const withoutSeconds = (history: readonly EpochRecord[]) => history.map(({ seconds: _seconds, ...rest }) => rest);

/** Every weight of two weights folders and both final checkpoints' optimiser slots, compared bit for bit. */
async function assertSameOutcome(a: string, b: string, label: string): Promise<void> {
  const [first, second] = await Promise.all([readWeightsFolder(join(a, 'weights')), readWeightsFolder(join(b, 'weights'))]);
  assert.equal([...second.weights.keys()], [...first.weights.keys()], `${label}: the same weights`);
  assert.ok(first.weights.size > 0);
  for (const [name, weight] of first.weights) {
    const other = second.weights.get(name)!;
    assert.equal(other.shape, weight.shape, `${label}: ${name} shape`);
    assert.ok(
      Buffer.from(other.data.buffer, other.data.byteOffset, other.data.byteLength).equals(
        Buffer.from(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength),
      ),
      `${label}: ${name} differs`,
    );
  }
  const [ca, cb] = [readCheckpoint(join(a, CHECKPOINT_FILE), tinyGraph()), readCheckpoint(join(b, CHECKPOINT_FILE), tinyGraph())];
  assert.is(cb.optimizer.steps, ca.optimizer.steps);
  ca.optimizer.slots.forEach((slots, i) =>
    slots.forEach((slot, s) => assert.equal([...cb.optimizer.slots[i]![s]!], [...slot], `${label}: optimiser slot ${i}/${s}`)),
  );
  assert.equal(withoutSeconds(cb.state.history), withoutSeconds(ca.state.history), `${label}: checkpoint history`);
}

async function resumeReproduces(replicas: number, stops: readonly number[]): Promise<void> {
  fashion ??= loadFashionMnist(realDir);
  const graph = tinyGraph();
  // 250 images in batches of 64: steps of 64, 64, 64 and 58 images, 4 per epoch; augmentation on, so that the
  // resumed run must also draw the same crops and flips. Evaluated on the first 1,000 test images (two batches of
  // 500, so that with two replicas each evaluates one).
  const config: TrainConfig = {
    epochs: 2,
    batchSize: 64,
    optimizer: SGD,
    learningRate: 0.2,
    schedule: 'onecycle',
    augmentation: { cropPadding: 2, horizontalFlip: true },
    seed: 3,
    trainLimit: 250,
    replicas,
  };
  const data = { train: fashion.train, test: firstImages(fashion.test, 1000) };
  const common = { graph, data, config, backend: 'wasm', log: () => {} };
  const straight = scratch();
  const a = await train({ ...common, out: straight, progress: quiet });
  assert.is(a.history.length, 2);
  for (const after of stops) {
    const out = scratch();
    const lines: string[] = [];
    const stop = stopAfter(after);
    const first: TrainResult = await train({ ...common, out, log: (line) => lines.push(line), ...stop });
    assert.is(first.interrupted, true, `stopped after step ${after}`);
    assert.not.ok(existsSync(join(out, 'weights')) || existsSync(join(out, 'metrics.json')), 'an interrupted run writes only its checkpoint');
    const position = readCheckpoint(join(out, CHECKPOINT_FILE), tinyGraph()).state.position;
    // After step 4, the last of epoch 1, the epoch is finished and evaluated before stopping; after step 6, epoch 2
    // stops with 2 of its 4 steps done.
    const expected = after % 4 === 0 ? { epoch: after / 4, step: 0 } : { epoch: Math.floor(after / 4), step: after % 4 };
    assert.equal({ epoch: position.epoch, step: position.step }, expected, `position after step ${after}`);
    assert.match(
      lines.at(-1)!,
      after % 4 === 0
        ? /^netspec: stopped after epoch 1; checkpoint saved to .*checkpoint\.safetensors \(continue with --resume\)$/
        : /^netspec: stopped at epoch 2, step 2 of 4; checkpoint saved to/,
    );
    // The resumed run is given other settings, which it must ignore for the checkpoint's.
    const other: TrainConfig = { ...config, optimizer: adam(0), learningRate: 0.01, seed: 99, batchSize: 10, augmentation: NO_AUGMENTATION, replicas: 1 };
    const resumedLines: string[] = [];
    const resumed = await train({ ...common, config: other, out, resume: true, progress: quiet, log: (line) => resumedLines.push(line) });
    assert.is(resumed.interrupted, false);
    assert.match(
      resumedLines[0]!,
      new RegExp(
        `\\(batch 64, sgd, onecycle learning rate 0\\.2, ${replicas} replicas?\\); resuming at epoch ${expected.epoch + 1}, step ${expected.step + 1}$`,
      ),
    );
    assert.equal(withoutSeconds(resumed.history), withoutSeconds(a.history), `history after stopping at step ${after}`);
    assert.equal(withoutSeconds(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).history), withoutSeconds(a.history));
    await assertSameOutcome(straight, out, `${replicas} replica(s), stopped after step ${after}`);
    rmSync(out, { recursive: true });
  }
  rmSync(straight, { recursive: true });
}

withData('a run stopped after epoch 1, or in the middle of epoch 2, and resumed ends bit-identical to an uninterrupted one', async () => {
  await resumeReproduces(1, [4, 6]);
});

withData('the same with 2 replicas in worker threads, which run this source as the test does', async () => {
  await resumeReproduces(2, [6]);
});

test('a replica given no images returns zero gradients without running the model (regression: the wasm backend divided by zero)', () => {
  const replica = new Replica(tinyGraph(), SGD);
  const result = replica.gradients(new Float32Array(0), new Int32Array(0));
  assert.equal({ count: result.count, lossSum: result.lossSum, correct: result.correct }, { count: 0, lossSum: 0, correct: 0 });
  assert.is(result.gradients.length, replica.trainableSize);
  assert.ok(result.gradients.every((g) => g === 0));
  replica.dispose();
});

withData('a last batch of one image on two replicas leaves one share empty, and training goes on with finite weights', async () => {
  fashion ??= loadFashionMnist(realDir);
  const out = scratch();
  // 65 images in batches of 64: the second step has one image, which the main replica takes; the worker gets none.
  const config: TrainConfig = {
    epochs: 1,
    batchSize: 64,
    optimizer: SGD,
    learningRate: 0.1,
    schedule: 'onecycle',
    augmentation: NO_AUGMENTATION,
    seed: 0,
    trainLimit: 65,
    replicas: 2,
  };
  const result = await train({
    graph: tinyGraph(),
    data: { train: fashion.train, test: firstImages(fashion.test, 100) },
    config,
    out,
    backend: 'wasm',
    log: () => {},
    progress: quiet,
  });
  assert.is(result.history.length, 1);
  assert.ok(Number.isFinite(result.history[0]!.trainLoss) && Number.isFinite(result.history[0]!.testLoss));
  for (const [name, weight] of (await readWeightsFolder(join(out, 'weights'))).weights) assert.ok(weight.data.every(Number.isFinite), `${name} is finite`);
  rmSync(out, { recursive: true });
});

withData("resuming without a checkpoint, or from another model's, fails naming the file", async () => {
  fashion ??= loadFashionMnist(realDir);
  const out = scratch();
  const options = { graph: tinyGraph(), data: fashion, config: checkpointConfig(SGD), out, resume: true, backend: 'wasm', log: () => {}, progress: quiet };
  await train(options).then(
    () => assert.unreachable('resumed from nothing'),
    (error: Error) => assert.is(error.message, `cannot resume: ${join(out, CHECKPOINT_FILE)} does not exist`),
  );
  const handMade = handMadeCheckpoint(SGD);
  writeCheckpoint(join(out, CHECKPOINT_FILE), { ...handMade, state: { ...handMade.state, model: 'tiny' } });
  await train(options).then(
    () => assert.unreachable('resumed from another model'),
    (error: Error) => assert.is(error.message, `${join(out, CHECKPOINT_FILE)} is a checkpoint of tiny, not of tiny_fashion`),
  );
  rmSync(out, { recursive: true });
});

test.run();
