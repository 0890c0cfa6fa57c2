// The PyTorch engine trains detectors and segmenters: from the same initial weights and on the same batches as
// netspec's own trainer, its first steps' losses (torchvision's RetinaNet.compute_loss, the cross-entropy of out and
// aux) are the tfjs trainer's; `netspec train --engine torch` leaves the weights folder, metrics.json and curves.svg
// that `eval` reads; an image no DataLoader worker can read ends the run in one line. Every torchrun starts at once
// in `before`, since each spends seconds starting up, and each test awaits the runs it looks at.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sceneFcn } from './support/dense-specs.js';
import { SeededDropout } from '../src/runtime/ops/dropout.js';
import { writeSceneDataset, type SceneDataset } from '../scripts/scenes.js';
import { parseDataSource } from '../src/commands/data-source.js';
import { openDetectionSource, openSegmentationSource } from '../src/data/annotated-source.js';
import { categoryMapping } from '../src/data/categories.js';
import { detectionConfig } from '../src/emit/detection-constant.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { compileSpecFile } from '../src/project/compile-files.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { imageTransformFor } from '../src/runtime/images/pipeline.js';
import { epochOrder, randomFor } from '../src/train/batches.js';
import { DENSE_DEFAULTS } from '../src/train/dense/recipes.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../src/train/config.js';
import type { DenseTargets } from '../src/train/dense/dense-loss.js';
import type { DenseData } from '../src/train/dense/dense-batches.js';
import { batchMaker } from '../src/train/dense/dense-train.js';
import { Replica } from '../src/train/replica.js';
import { learningRate } from '../src/train/schedule.js';
import { trainDenseWithTorch } from '../src/train/torch-dense.js';
import type { TorchStep } from '../src/train/torch-engine.js';
import { trainStep } from '../src/train/train.js';

const haveTorch = spawnSync('torchrun', ['--help'], { stdio: 'ignore' }).status === 0;
const define = haveTorch ? test : test.skip;
if (!haveTorch) console.log('\n  torch-dense.test.ts skipped: it needs torchrun (python3-torch)\n');

/** Steps whose losses the engines must agree on. */
const STEPS = 5;
/**
 * Relative agreement of each step's loss. Measured: 1e-6 or better (float32 rounding through the same arithmetic);
 * a different matcher, focal α, normalisation, anchor order or pixel fitting parts them by far more than 1e-3.
 */
const TOLERANCE = 1e-3;

const cli = resolve('dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'netspec-torch-dense-'));
let scenes: SceneDataset;
/** The scenes again, every image PNG: jpeg-js and libjpeg decode the JPEGs up to 3 levels apart, which is not the engines' doing. */
let lossless: SceneDataset;
const specs = { fcn: '', retinanet: '' };

const backbone = {
  stem: { type: 'conv', width: 8, kernelSize: 3, stride: 2, pool: 'max' },
  block: { type: 'bottleneck', expansion: 2 },
} as const;

type Ran = { status: number | null; stderr: string };
/** The runs, started in `before`: each engine's step losses, and the command lines' outcomes. */
let runs: {
  agreement: Record<'fcn' | 'retinanet', Promise<{ torch: number[][]; tfjs: number[][] }>>;
  detection: Promise<Ran>;
  segmentation: Promise<Ran>;
  unreadable: Promise<Ran>;
  resumed: Promise<Ran>;
};

/** `netspec ARGS` without blocking, so that the other runs' reports are read meanwhile. */
function netspec(args: readonly string[]): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, NETSPEC_BACKEND: 'wasm' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => done({ status, stderr }));
  });
}

const write = (name: string, spec: object) => {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(spec));
  return path;
};

test.before(async () => {
  if (!haveTorch) return;
  scenes = writeSceneDataset(join(root, 'scenes'), { train: 24, val: 8 });
  lossless = writeSceneDataset(join(root, 'lossless'), { train: 24, val: 8, formats: 'png' });
  specs.fcn = write('fcn', sceneFcn);
  specs.retinanet = write('retinanet', {
    name: 'scene_retinanet',
    input: { height: 96, width: 128, channels: 3 },
    ...backbone,
    stages: { widths: [4, 8, 16, 16], depths: [1, 1, 1, 1], strides: [1, 2, 2, 2] },
    neck: { type: 'fpn', channels: 16, from: ['C3', 'C4', 'C5'], extra: 'p6p7' },
    head: { type: 'retinanet', classes: 3, anchors: { sizes: [[16], [32], [64], [128], [256]], ratios: [[0.5, 1, 2]] } },
  });
  // A dataset of its own with a training image cut short after its header: only a DataLoader worker decodes it.
  const broken = writeSceneDataset(join(root, 'broken'), { train: 8, val: 2 });
  truncateSync(join(root, 'broken', 'masks', 'train', 'images', 'scene_0001.jpg'), 400);
  await initBackend({ backend: 'wasm', log: () => {} });
  const epochs = ['--epochs', '2'];
  runs = {
    detection: netspec([
      ...['train', specs.retinanet, '--data', scenes.coco.train, '--val-data', scenes.coco.val],
      ...['--engine', 'torch', '--out', join(root, 'retinanet-run'), ...epochs],
    ]),
    segmentation: netspec(['train', specs.fcn, '--data', scenes.masks, '--engine', 'torch', '--out', join(root, 'fcn-run'), ...epochs]),
    unreadable: netspec(['train', specs.fcn, '--data', broken.masks, '--engine', 'torch', '--out', join(root, 'broken-run'), '--augment', 'none']),
    agreement: { fcn: agreement('fcn'), retinanet: agreement('retinanet') },
    resumed: stoppedAndResumed(),
  };
  // Each is awaited by its test; a rejection before then is not unhandled.
  for (const run of [...Object.values(runs.agreement), runs.detection, runs.segmentation, runs.unreadable, runs.resumed]) run.catch(() => {});
});

test.after(() => rmSync(root, { recursive: true, force: true }));

/**
 * The command line's segmentation run again, with the recipe's settings as the command takes them, stopped after its
 * first epoch and resumed with `netspec train --resume`.
 */
async function stoppedAndResumed(): Promise<Ran> {
  const compiled = compileSpecFile(specs.fcn);
  if (!compiled.ok) throw new Error(`${specs.fcn} does not compile`);
  const { graph } = compiled;
  const recipe = DENSE_DEFAULTS.segmentation;
  const config: TrainConfig = {
    ...DEFAULT_CONFIG,
    epochs: 2,
    batchSize: recipe.batch,
    learningRate: (recipe.rate.value * recipe.batch) / recipe.rate.images,
    optimizer: { ...DEFAULT_CONFIG.optimizer, name: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
    schedule: recipe.schedule,
    augmentation: { cropPadding: 0, horizontalFlip: true, segmentationRecipe: true },
    clipGradNorm: null,
    replicas: 1,
  };
  const out = join(root, 'resumed-run');
  const launch = { nproc: 1, nnodes: 1, nodeRank: 0 };
  const data = denseData(graph, scenes);
  await trainDenseWithTorch({
    graph,
    module: compiled.pytorchModule,
    data,
    transform: imageTransformFor(graph),
    frozen: [],
    maxPixels: 1 << 24,
    config,
    out,
    launch,
    stopAfterEpochs: 1,
    log: () => {},
    progress: () => {},
  });
  return netspec(['train', specs.fcn, '--data', scenes.masks, '--engine', 'torch', '--out', out, '--resume']);
}

/** The scene data (lossless unless given) as netspec's trainer reads it, for a detector or a segmenter. */
function denseData(graph: AnalyzedGraph, dataset = lossless): DenseData {
  if (graph.task!.kind === 'segmentation') {
    const source = parseDataSource(dataset.masks, 'train');
    if (source.kind !== 'annotated') throw new Error('masks: is annotated data');
    const [train, val] = ['train', 'val'].map((split) => openSegmentationSource(source.source, { split }));
    return { kind: 'segmentation', train: train!, val: val!, classNames: ['background', 'disc', 'square', 'triangle'] };
  }
  const [train, val] = [dataset.coco.train, dataset.coco.val].map((data) =>
    openDetectionSource({ kind: 'coco', imagesDir: undefined, annotations: data.replace(/^coco:/, '') }),
  );
  return { kind: 'detection', train: train!, val: val!, mapping: categoryMapping(train!.categories, 3, train!.source), configAt: () => detectionConfig(graph) };
}

/**
 * The first steps' losses (the total, then each part) of both engines, one epoch from the seed's weights with the
 * recipe's settings but no augmentation, and the FCN's dropout off in both: tfjs draws its dropout unseeded.
 */
async function agreement(name: 'fcn' | 'retinanet'): Promise<{ torch: number[][]; tfjs: number[][] }> {
  const compiled = compileSpecFile(specs[name]);
  if (!compiled.ok) throw new Error(`${specs[name]} does not compile`);
  const { graph } = compiled;
  const data = denseData(graph);
  const detection = data.kind === 'detection';
  const config: TrainConfig = {
    ...DEFAULT_CONFIG,
    // Two epochs, the first run: the schedules reach over both, and the engine stops without scoring.
    epochs: 2,
    batchSize: 4,
    learningRate: detection ? 0.01 : 0.02,
    optimizer: { ...DEFAULT_CONFIG.optimizer, name: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
    schedule: detection ? 'steps' : 'poly',
    augmentation: { cropPadding: 0, horizontalFlip: false },
    clipGradNorm: detection ? 10 : null,
    replicas: 1,
  };
  const transform = imageTransformFor(graph);
  const steps: TorchStep[] = [];
  const torchRun = trainDenseWithTorch({
    graph,
    module: compiled.pytorchModule.replaceAll(/nn\.Dropout\([^)]*\)/g, 'nn.Dropout(0.0)'),
    data,
    transform,
    frozen: [],
    maxPixels: 1 << 24,
    config,
    out: join(root, `agreement-${name}`),
    launch: { nproc: 1, nnodes: 1, nodeRank: 0 },
    stopAfterEpochs: 1,
    log: () => {},
    progress: (step) => void steps.push(step),
  });
  const tfjs = await tfjsLosses(graph, data, config, transform);
  await torchRun;
  // Each step's losses from the running means the engine reports.
  const torch = steps.slice(0, STEPS).map((step, i) => {
    const before = steps[i - 1];
    const sum = (at: TorchStep | undefined, value: (s: TorchStep) => number) => (at ? value(at) * at.done : 0);
    const part = (value: (s: TorchStep) => number) => (sum(step, value) - sum(before, value)) / (step.done - (before?.done ?? 0));
    return [part((s) => s.loss), ...Object.keys(step.losses!).map((key) => part((s) => s.losses![key]!))];
  });
  return { torch, tfjs };
}

/** The first steps' losses of netspec's trainer on the same batches (its own batch maker, order and schedule). */
async function tfjsLosses(graph: AnalyzedGraph, data: DenseData, config: TrainConfig, transform: ReturnType<typeof imageTransformFor>): Promise<number[][]> {
  const replica = new Replica(graph, config.optimizer);
  replica.initialise(graph, config.seed);
  for (const layer of replica.model.layers) if (layer instanceof SeededDropout) (layer as unknown as { rate: number }).rate = 0;
  const batchOf = batchMaker(data, transform, config);
  const order = epochOrder(data.train.length, config.seed, 0);
  const total = Math.ceil(data.train.length / config.batchSize) * config.epochs;
  const losses: number[][] = [];
  for (let step = 0; step < STEPS; step++) {
    const batch = await batchOf(order.subarray(step * config.batchSize, (step + 1) * config.batchSize), randomFor(config.seed, 2, 0, step));
    const rate = learningRate(config.schedule, config.learningRate, step, total);
    const [result] = await trainStep(replica, undefined, batch, rate, config.clipGradNorm ?? undefined);
    losses.push([result!.lossSum / result!.count, ...Object.values(result!.parts).map((sum) => sum / result!.count)]);
  }
  replica.dispose();
  return losses;
}

for (const name of ['retinanet', 'fcn'] as const) {
  define(`the first ${STEPS} steps of a ${name === 'fcn' ? 'FCN' : 'RetinaNet'}: the same losses in PyTorch and in netspec's trainer`, async () => {
    const { torch, tfjs } = await runs.agreement[name];
    assert.is(torch.length, STEPS);
    let worst = 0;
    torch.forEach((losses, step) =>
      losses.forEach((loss, k) => {
        const relative = Math.abs(loss - tfjs[step]![k]!) / Math.abs(tfjs[step]![k]!);
        worst = Math.max(worst, relative);
        assert.ok(relative <= TOLERANCE, `step ${step + 1}, loss ${k}: torch ${loss}, tfjs ${tfjs[step]![k]}`);
      }),
    );
    console.log(`  ${name}: worst relative difference of ${STEPS} steps' losses ${worst.toExponential(2)}`);
  });
}

/** The run folder's report, and `eval` of its weights. */
function finished(out: string) {
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(out, 'weights', 'model.json'), 'utf8'));
  return { metrics, manifest, curves: readFileSync(join(out, 'curves.svg'), 'utf8') };
}

define('a RetinaNet trained with --engine torch on COCO files: the recipe, both losses each epoch, the final AP, the categories for eval', async () => {
  const run = await runs.detection;
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /batch 4, sgd, steps learning rate 0\.0025, gradients clipped to norm 10/);
  assert.match(run.stderr, /^epoch 2\/2 {2}train loss \d\.\d{4} \(classification \d\.\d{4}, boxRegression \d\.\d{4}\) {2}\d+:\d\d$/m);
  const out = join(root, 'retinanet-run');
  const { metrics, manifest, curves } = finished(out);
  assert.equal({ task: metrics.task, engine: metrics.engine, processes: metrics.processes }, { task: 'detection', engine: 'torch', processes: 1 });
  assert.is(metrics.history.length, 2);
  const [first, last] = metrics.history;
  assert.equal(Object.keys(first.losses), ['classification', 'boxRegression']);
  assert.ok(Math.abs(first.trainLoss - (first.losses.classification + first.losses.boxRegression)) < 1e-6);
  // Only the final weights are scored: the first epoch records no scores.
  assert.equal(first.scores, {});
  assert.equal(Object.keys(last.scores), ['AP', 'AP50']);
  assert.is(Object.keys(metrics.evaluation.stats).length, 12);
  assert.equal(manifest.classes, ['disc', 'square', 'triangle']);
  assert.is(manifest.categories.kind, 'contiguous');
  assert.match(curves, /panel scores/);
  const evaluated = spawnSync(
    process.execPath,
    [cli, 'eval', specs.retinanet, '--weights', join(out, 'weights'), '--data', scenes.coco.val, '--runtime', 'tfjs'],
    {
      encoding: 'utf8',
    },
  );
  assert.is(evaluated.status, 0, evaluated.stderr);
  assert.match(evaluated.stdout, /disc/);
});

define('an FCN trained with --engine torch on a mask folder (the reference recipe): out and aux each epoch, the mean IoU eval finds', async () => {
  const run = await runs.segmentation;
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /batch 4, sgd, poly learning rate 0\.0025\)/);
  const out = join(root, 'fcn-run');
  const { metrics, manifest } = finished(out);
  const last = metrics.history.at(-1);
  assert.equal(Object.keys(last.losses), ['out', 'aux']);
  assert.ok(Math.abs(last.trainLoss - (last.losses.out + 0.5 * last.losses.aux)) < 1e-6);
  assert.equal(manifest.classes, ['background', 'disc', 'square', 'triangle']);
  const evaluated = spawnSync(
    process.execPath,
    [cli, 'eval', specs.fcn, '--weights', join(out, 'weights'), '--data', scenes.masks, '--split', 'val', '--runtime', 'tfjs', '--json'],
    { encoding: 'utf8' },
  );
  assert.is(evaluated.status, 0, evaluated.stderr);
  assert.is(JSON.parse(evaluated.stdout).meanIoU, last.scores.meanIoU);
});

define('a run stopped after its first epoch and resumed from the command line ends with the weights of the run never stopped, dropout and all', async () => {
  const [straight, resumed] = await Promise.all([runs.segmentation, runs.resumed]);
  assert.is(straight.status, 0, straight.stderr);
  assert.is(resumed.status, 0, resumed.stderr);
  // The generator's state is in the checkpoint: the FCN's dropout draws on as it would have.
  assert.ok(
    readFileSync(join(root, 'resumed-run', 'weights.safetensors')).equals(readFileSync(join(root, 'fcn-run', 'weights.safetensors'))),
    'the weights differ',
  );
});

/** Fits images of an index as the engine's DataLoader does, with the keys' random numbers: JSON in, JSON out. */
const FIT_IMAGES = `
import json, sys
import numpy as np
import netspec_torch_dense as dense
from torchvision.ops import box_iou
from torchvision.models.detection._utils import Matcher
request = json.load(sys.stdin)
index = json.load(open(request["index"]))
images = dense.DenseImages(index, request["config"])
out = []
for key in request["keys"]:
    pixels, target = images[tuple(key)]
    if index["task"] == "detection":
        anchors = dense.torch.tensor(index["anchors"]).reshape(-1, 4)
        matched = Matcher(0.5, 0.4, True)(box_iou(target["boxes"], anchors)) if len(target["boxes"]) else dense.torch.full((len(anchors),), -1)
        target = dense.torch.where(matched >= 0, target["labels"][matched.clamp(min=0)], matched)
    out.append({"pixels": pixels.permute(1, 2, 0).flatten().tolist(), "target": target.flatten().tolist()})
print(json.dumps(out))`;

define(
  "the engine's augmentations draw the very pixels and targets of netspec's trainer: scale jitter and flip, torchvision's segmentation recipe",
  async () => {
    // The agreement runs left their indices of the lossless scenes.
    await Promise.all(Object.values(runs.agreement));
    const cases = [
      { name: 'retinanet', augmentation: { cropPadding: 0, horizontalFlip: true, scaleRange: [0.5, 1.5] as [number, number] } },
      { name: 'fcn', augmentation: { cropPadding: 0, horizontalFlip: true, segmentationRecipe: true } },
    ] as const;
    for (const { name, augmentation } of cases) {
      const compiled = compileSpecFile(specs[name]);
      if (!compiled.ok) throw new Error(`${specs[name]} does not compile`);
      const config: TrainConfig = { ...DEFAULT_CONFIG, batchSize: 4, augmentation, seed: 3, replicas: 1 };
      const data = denseData(compiled.graph);
      // The second batch of the second epoch: its random numbers come from netspec's generator at (epoch 1, step 1).
      const indices = epochOrder(data.train.length, config.seed, 1).subarray(4, 8);
      const batch = await batchMaker(data, imageTransformFor(compiled.graph), config)(indices, randomFor(config.seed, 2, 1, 1));
      const request = { index: join(root, `agreement-${name}`, 'torch-data.json'), config, keys: [...indices].map((index, k) => [index, 1, 1, k]) };
      const run = spawnSync('/usr/bin/python3', ['-c', FIT_IMAGES], {
        input: JSON.stringify(request),
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: resolve('python') },
        maxBuffer: 1 << 28,
      });
      assert.is(run.status, 0, run.stderr);
      const fitted = JSON.parse(run.stdout) as { pixels: number[]; target: number[] }[];
      const size = batch.images.length / indices.length;
      const targets = batch.targets as DenseTargets;
      fitted.forEach(({ pixels, target }, k) => {
        assert.equal(Float32Array.from(pixels), batch.images.subarray(k * size, (k + 1) * size), `${name} image ${k}`);
        const expected = targets.kind === 'detection' ? targets.images[k]!.classes : targets.masks.subarray(k * target.length, (k + 1) * target.length);
        assert.equal(target, [...expected], `${name} targets ${k}`);
      });
    }
  },
);

define('an image a DataLoader worker cannot read ends the run with one line naming it, and nothing half-written', async () => {
  const run = await runs.unreadable;
  assert.is(run.status, 1, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.match(lines.at(-1)!, /^netspec: \S*scene_0001\.jpg: cannot be read: /);
  assert.not.match(run.stderr, /Traceback|ChildFailedError/);
  const out = join(root, 'broken-run');
  for (const file of ['checkpoint.safetensors', 'weights', 'metrics.json', 'weights.safetensors']) assert.not.ok(existsSync(join(out, file)), file);
});

test.run();
