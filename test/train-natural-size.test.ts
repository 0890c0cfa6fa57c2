// Training open-size detectors and segmenters at natural sizes: batches sized as torchvision's size policy sizes
// them (worked by hand), a step of the open model equal to the same model compiled at the batch's size, and
// `netspec train` end to end with its refusals.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSceneDataset, type SceneDataset } from '../scripts/scenes.js';
import { analyzeSpecFile } from '../src/commands/print-diagnostics.js';
import { openDetectionSource } from '../src/data/annotated-source.js';
import { categoryMapping } from '../src/data/categories.js';
import type { SegmentationDataset } from '../src/data/dataset.js';
import { detectionConfig } from '../src/emit/detection-constant.js';
import { analyzeAt, type AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { imageTransformFor, withAskedSizes } from '../src/runtime/images/pipeline.js';
import { mulberry32 } from '../src/random/mulberry32.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../src/train/config.js';
import type { DenseTargets } from '../src/train/dense/dense-loss.js';
import { anchorsBySize, segmentationBatch } from '../src/train/dense/dense-batches.js';
import { batchMaker, segmentationCrop } from '../src/train/dense/dense-train.js';
import { Replica } from '../src/train/replica.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';

const cli = resolve('dist', 'cli.js');
let root: string;
let scenes: SceneDataset;
const specs = { retinanet: '', fcn: '', classifier: '' };

function netspec(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NETSPEC_BACKEND: 'wasm' } });
}

/** A spec with its input's height and width left out. */
const opened = (spec: { input: { channels: number } }, bounds: object = {}) => ({ ...spec, input: { channels: spec.input.channels, ...bounds } });

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  root = mkdtempSync(join(tmpdir(), 'netspec-train-natural-'));
  scenes = writeSceneDataset(join(root, 'scenes'), { train: 6, val: 2 });
  const write = (name: string, spec: object) => {
    const path = join(root, `${name}.json`);
    writeFileSync(path, JSON.stringify(spec));
    return path;
  };
  specs.retinanet = write('open_retinanet', { ...opened(tinyRetinanet(3)), name: 'open_retinanet' });
  specs.fcn = write('open_fcn', { ...opened(denseBackbone, { sizeMultiple: 8 }), name: 'open_fcn', head: { type: 'fcn', classes: 4, aux: true } });
  specs.classifier = write('open_classifier', { ...opened(denseBackbone), name: 'open_classifier', head: { type: 'classifier', classes: 4 } });
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const config = (overrides: Partial<TrainConfig>): TrainConfig => ({ ...DEFAULT_CONFIG, ...overrides });

/** One image of `width`×`height`, all grey 100, its mask all class 1. */
const plainImage = (width: number, height: number) => ({
  pixels: { width, height, channels: 3 as const, data: new Uint8Array(width * height * 3).fill(100) },
  mask: new Uint8Array(width * height).fill(1),
});

test('a segmenter batch at natural sizes: each image at its own size, padded to the batch size with 0 and 255', async () => {
  const graph = analyzeSpecFile(specs.fcn);
  // Shorter side 24, longer at most 40, multiple 8, as torchvision's GeneralizedRCNNTransform(24, 40) sizes them:
  //   30 × 20 (w × h): min(24 / 20, 40 / 30) = 1.2 → 36 × 24;
  //   17 × 41: min(24 / 17, 40 / 41) = 40 / 41, which float32 rounds down, so 41 · 40 / 41 falls short of 40: 16 × 39.
  //   The batch: the widest 36 and tallest 39, rounded up to multiples of 8: 40 × 40.
  const transform = withAskedSizes(imageTransformFor(graph), graph, { minSize: 24, maxSize: 40 });
  const images = [plainImage(30, 20), plainImage(17, 41)];
  const dataset = { length: 2, load: async (i: number) => ({ ...images[i]!, image: { maskPath: `mask ${i}` } }) } as unknown as SegmentationDataset;
  const batch = await segmentationBatch({ dataset, classes: 4, augment: false }, [0, 1], transform, mulberry32(1));
  assert.equal(batch.size, { height: 40, width: 40 });
  const masks = (batch.targets as Extract<DenseTargets, { kind: 'segmentation' }>).masks;
  const filled = [
    { width: 36, height: 24 },
    { width: 16, height: 39 },
  ];
  filled.forEach((size, i) => {
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const inside = x < size.width && y < size.height;
        const at = i * 1600 + y * 40 + x;
        assert.is(masks[at], inside ? 1 : 255, `image ${i} mask at (${x}, ${y})`);
        // Grey 100 normalised by ImageNet's red mean and deviation; the padding is 0, the mean colour.
        const red = batch.images[at * 3]!;
        assert.ok(inside ? Math.abs(red - (100 / 255 - 0.485) / 0.229) < 1e-5 : red === 0, `image ${i} pixel at (${x}, ${y}): ${red}`);
      }
    }
  });
  // With the recipe on, torchvision's crop of 480 for its 520 scales to 24: round(24 · 480 / 520) = 22, up to 24.
  assert.equal(segmentationCrop(transform.sizes!), { size: { height: 24, width: 24 }, baseSize: 24 });
  const cropped = await segmentationBatch({ dataset, classes: 4, augment: true, crop: segmentationCrop(transform.sizes!) }, [0, 1], transform, mulberry32(1));
  assert.equal(cropped.size, { height: 24, width: 24 });
});

test('anchors are made once per batch size, the latest sixteen sizes kept: a run over many sizes holds a bounded few', () => {
  const made: string[] = [];
  const anchorsAt = anchorsBySize(([height, width]) => {
    made.push(`${height}x${width}`);
    return { input: [height, width], levels: [[height / 32, width / 32]], anchors: { sizes: [[32]], ratios: [[1]] } } as never;
  });
  const first = anchorsAt({ height: 64, width: 96 });
  // One anchor a cell of the 2 × 3 level, centred on it: the first cell's is (0, 0) ± 16.
  assert.equal([...first.subarray(0, 4)], [-16, -16, 16, 16]);
  assert.is(first.length, 2 * 3 * 4);
  assert.is(anchorsAt({ height: 64, width: 96 }), first);
  for (let k = 1; k <= 16; k++) anchorsAt({ height: 64, width: 96 + 32 * k });
  assert.is(made.length, 17);
  assert.ok(anchorsAt({ height: 64, width: 96 }) !== first, 'the oldest size was let go, and is made again');
  assert.is(made.length, 18);
});

/** The largest difference over the largest magnitude of the expected values. */
function relativeError(actual: number | Float32Array, expected: number | Float32Array): number {
  const [a, e] = [actual, expected].map((x) => (typeof x === 'number' ? [x] : [...x])) as [number[], number[]];
  if (a.length !== e.length) return Infinity;
  return Math.max(...a.map((v, i) => Math.abs(v - e[i]!))) / Math.max(...e.map(Math.abs));
}

/** The loss and flat gradients of one step of `graph` on the batch from the same weights. */
function step(graph: AnalyzedGraph, weightsFrom: Replica | undefined, batch: Awaited<ReturnType<ReturnType<typeof batchMaker>>>) {
  const replica = new Replica(graph, DEFAULT_CONFIG.optimizer);
  if (weightsFrom) replica.setWeights(weightsFrom.weights());
  else replica.initialise(graph, 11);
  return { replica, result: replica.gradients(batch.images, batch.targets, 5, batch.size) };
}

test('a detector step at natural sizes gives the loss and gradients of the same model compiled at the batch size', async () => {
  const graph = analyzeSpecFile(specs.retinanet);
  const annotations = (source: string) => openDetectionSource({ kind: 'coco', imagesDir: undefined, annotations: source.replace(/^coco:/, '') });
  const [train, val] = [annotations(scenes.coco.train), annotations(scenes.coco.val)];
  const data = {
    kind: 'detection',
    train,
    val,
    mapping: categoryMapping(train.categories, 3, train.source),
    configAt: (size: readonly [number, number]) => detectionConfig(graph, size),
  } as const;
  // The scenes are 128 × 96: min(64 / 96, 100 / 128) = 0.6666… gives 85 × 64; P7's stride of 128 pads both to 128.
  const transform = withAskedSizes(imageTransformFor(graph), graph, { minSize: 64, maxSize: 100 });
  const augmentation = { cropPadding: 0, horizontalFlip: true, scaleRange: [0.8, 1.2] as const };
  const batch = await batchMaker(data, transform, config({ augmentation }))(Int32Array.from([0, 1, 2]), mulberry32(4));
  assert.equal(batch.size, { height: 128, width: 128 });
  const open = step(graph, undefined, batch);
  const fixed = step({ ...analyzeAt(graph, 128, 128), sizes: undefined }, open.replica, batch);
  try {
    assert.ok(open.result.lossSum > 0 && Number.isFinite(open.result.lossSum), String(open.result.lossSum));
    assert.ok(relativeError(open.result.lossSum, fixed.result.lossSum) < 1e-6, `${open.result.lossSum} against ${fixed.result.lossSum}`);
    for (const part of ['classification', 'boxRegression'])
      assert.ok(
        relativeError(open.result.parts[part]!, fixed.result.parts[part]!) < 1e-6,
        `${part}: ${open.result.parts[part]} against ${fixed.result.parts[part]}`,
      );
    const error = relativeError(open.result.gradients, fixed.result.gradients);
    assert.ok(error < 1e-5, `gradients differ by ${error}`);
  } finally {
    open.replica.dispose();
    fixed.replica.dispose();
  }
});

test('netspec train at natural sizes: a detector and a segmenter train without --size, the policy saved and said; eval scores the weights', () => {
  const detector = join(root, 'run-retinanet');
  const trained = netspec(
    'train',
    specs.retinanet,
    '--data',
    scenes.coco.train,
    '--val-data',
    scenes.coco.val,
    '--out',
    detector,
    '--epochs',
    '1',
    '--min-size',
    '64',
    '--max-size',
    '100',
  );
  assert.is(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /at natural sizes \(shorter side 64, longer at most 100, batches padded to multiples of 128\)/);
  const metrics = JSON.parse(readFileSync(join(detector, 'metrics.json'), 'utf8')) as { config: TrainConfig };
  assert.equal(metrics.config.naturalSizes, { minSize: 64, maxSize: 100 });
  const scored = netspec('eval', specs.retinanet, '--weights', join(detector, 'weights'), '--data', scenes.coco.val, '--min-size', '64', '--json');
  assert.is(scored.status, 0, scored.stderr);
  assert.is((JSON.parse(scored.stdout) as { images: number }).images, 2);

  const segmenter = join(root, 'run-fcn');
  const recipe = netspec('train', specs.fcn, '--data', scenes.masks, '--out', segmenter, '--epochs', '1', '--min-size', '40');
  assert.is(recipe.status, 0, recipe.stderr);
  // round(40 · 480 / 520) = 37, up to the multiple of 8: 40.
  assert.match(recipe.stderr, /in 40×40 crops of images resized around a shorter side of 40/);
  const resumed = netspec('train', specs.fcn, '--data', scenes.masks, '--out', segmenter, '--resume', '--min-size', '48');
  assert.is(resumed.status, 2);
  assert.match(resumed.stderr, /--resume continues with the checkpoint's own settings; drop --min-size/);
});

test('what natural sizes do not take is refused in one line: a classifier, the PyTorch engine, --size with --min-size, --min-size on a fixed size', () => {
  const out = join(root, 'refused');
  const cases = [
    {
      args: ['train', specs.classifier, '--data', scenes.masks, '--out', out],
      status: 1,
      line: 'netspec: training open_classifier, whose input size is open, needs --size HxW: one size it takes to train at (the weights then serve every size)',
    },
    {
      args: ['train', specs.fcn, '--data', scenes.masks, '--out', out, '--engine', 'torch'],
      status: 1,
      line: "netspec: --engine torch trains open_fcn, whose input size is open, at one size: give --size HxW (natural sizes are netspec's trainer's)",
    },
    {
      args: ['train', specs.fcn, '--data', scenes.masks, '--out', out, '--size', '64x64', '--min-size', '40'],
      status: 2,
      line: 'netspec: --size runs one size, --min-size and --max-size natural sizes: give one or the other',
    },
    {
      args: ['train', 'specs/segmentation/fcn_resnet50.json', '--data', scenes.masks, '--out', out, '--min-size', '40'],
      status: 2,
      line: 'netspec: --min-size and --max-size are for detectors and segmenters whose spec leaves the input size open; fcn_resnet50 fixes its input at 520×520',
    },
  ];
  for (const { args, status, line } of cases) {
    const run = netspec(...args);
    assert.is(run.status, status, `${args.join(' ')}: ${run.stderr}`);
    assert.is(
      run.stderr.split('\n').find((text) => text.startsWith('netspec: ')),
      line,
    );
  }
});

test.run();
