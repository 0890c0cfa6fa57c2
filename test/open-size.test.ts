// Open input sizes: every layer's shape as an exact formula of the input's height and width, checked against the
// analysis and the built model at random admissible sizes; the sizes a model takes, and the refusals of those it
// cannot; and one compiled model of each kind run at three sizes: torchvision's resnet18 against the open classifier,
// and small FCN, DeepLabV3 and RetinaNet models in tfjs and in their one ONNX file against the PyTorch module netspec
// generated from the same spec (itself held to torchvision's models in dense-parity.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { analyzeAt, type AnalyzedGraph } from '../src/ir/analyze.js';
import { dimAt, macsAt, macsFormula, macsFormulaText, shapeFormula, shapeFormulaText } from '../src/ir/shape-formulas.js';
import { sizeProblem } from '../src/ir/sizes.js';
import { naturalBatchSize, naturalSize, type ImageTransform, type Placement } from '../src/runtime/images/pipeline.js';
import type { Pixels } from '../src/runtime/images/pixels.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { createSession } from '../src/runtime/onnx/index.js';
import { loadWeights, readWeightsFolder } from '../src/runtime/weights/files.js';
import { exportCheckpoint, importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { readSafetensors, type FloatTensor } from '../src/weights/safetensors.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';
import { relativeError } from './support/error.js';
import { seededRandom } from './support/mutate.js';
import { pythonHas } from './support/python.js';
import { typeCheck } from './support/typecheck.js';
import { writeSceneDataset } from '../scripts/scenes.js';

const PYTHON = '/usr/bin/python3';
// The PyTorch references need Debian's python3-torch and python3-torchvision; without them those tests skip, saying so.
const torchAvailable = pythonHas(PYTHON, 'torch', 'torchvision');
const withTorch = torchAvailable ? test : test.skip;
if (!torchAvailable)
  console.log(
    `\n  open-size.test.ts: the PyTorch references are skipped: no torch and torchvision at ${PYTHON} (apt-get install -y python3-torch python3-torchvision)\n`,
  );
const TOLERANCE = 1e-4;
const SIZES = [
  [97, 61],
  [224, 160],
  [333, 517],
] as const;
const folder = mkdtempSync(join(tmpdir(), 'netspec-open-size-'));
test.after(() => rmSync(folder, { recursive: true, force: true }));

/** A spec with its input opened: no height or width, and the given bounds. */
function opened(spec: object, bounds: object = {}): Record<string, unknown> {
  const { input } = spec as { input: { channels: number } };
  return { ...spec, input: { channels: input.channels, ...bounds } };
}

function compile(name: string, spec: object) {
  const path = join(folder, `${name}.json`);
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return compileSpec(path, readFileSync(path));
}

function compiled(name: string, spec: object): AnalyzedGraph & { readonly sizes: NonNullable<AnalyzedGraph['sizes']> } {
  const result = compile(name, spec);
  if (!result.ok) throw new Error(`${name}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
  if (!result.graph.sizes) throw new Error(`${name} has a fixed size`);
  return result.graph as AnalyzedGraph & { readonly sizes: NonNullable<AnalyzedGraph['sizes']> };
}

const specFile = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as object;
const dense = {
  fcn: { ...denseBackbone, name: 'open_fcn', head: { type: 'fcn', classes: 3, aux: true } },
  deeplabv3: { ...denseBackbone, name: 'open_deeplab', head: { type: 'deeplabv3', classes: 3, aux: true } },
  retinanet: { ...tinyRetinanet(4), name: 'open_retinanet' },
};

/** Random admissible sides: multiples of the model's from its smallest to `largest` (or its own largest). */
function randomSides(graph: AnalyzedGraph, count: number, seed: number, largest = graph.sizes!.maximum): [number, number][] {
  const { minimum, multiple } = graph.sizes!;
  const random = seededRandom(seed);
  const steps = Math.floor((Math.min(largest, graph.sizes!.maximum) - minimum) / multiple) + 1;
  const side = () => minimum + random.int(steps) * multiple;
  return Array.from({ length: count }, () => [side(), side()]);
}

test('side formulas as torchvision floors them: a ResNet-50 stem halves to ⌈H/2⌉ and ⌈H/4⌉, its last stage is ⌈H/32⌉, and the CIFAR ResNet-18 multiply-accumulates are 149,184·H·W at full size', () => {
  const resnet50 = compiled('resnet50', opened(specFile('specs/imagenet/resnet50.json')));
  const formula = (name: string) =>
    shapeFormulaText(
      shapeFormula(
        resnet50,
        resnet50.layers.findIndex((layer) => layer.op.name === name),
      ),
    );
  // conv1: 7×7, stride 2, padding 3: ⌊(H + 2·3 − 7)/2⌋ + 1 = ⌊(H − 1)/2⌋ + 1 = ⌈H/2⌉.
  assert.is(formula('conv1'), '⌈H/2⌉×⌈W/2⌉×64');
  // maxpool: 3×3, stride 2, padding 1 on ⌈H/2⌉: ⌊(⌈H/2⌉ − 1)/2⌋ + 1 = ⌈H/4⌉.
  assert.is(formula('maxpool'), '⌈H/4⌉×⌈W/4⌉×64');
  assert.is(formula('layer4.2.relu3'), '⌈H/32⌉×⌈W/32⌉×2048');
  assert.is(formula('fc'), '1000');
  // The default multiple is the total stride, 32; a 1×1 map is the least every layer reads, so 32 is the smallest.
  assert.equal([resnet50.sizes.minimum, resnet50.sizes.maximum, resnet50.sizes.multiple], [32, 2048, 32]);
  const cifar = compiled('resnet18_cifar', opened(specFile('specs/resnet18.json'), { maxSize: 512 }));
  // Full size: the 3×3 stem, 3·3·3·64 = 1,728, and stage 1's four 3×3 convolutions, 4·3·3·64·64 = 147,456.
  assert.is(macsFormulaText(macsFormula(cifar)).split(' + ')[0], `${(1_728 + 147_456).toLocaleString('en-US')}·H·W`);
});

test('at 50 random admissible sizes per spec, every layer formula and the MAC formula equal the analysis at that size', () => {
  const specs: [string, object][] = [
    ['resnet18_cifar', opened(specFile('specs/resnet18.json'), { sizeMultiple: 1, maxSize: 512 })],
    ['resnet50d', opened(specFile('specs/timm/resnet50d.json'), { sizeMultiple: 1 })],
    ['resnetaa50', opened(specFile('specs/timm/resnetaa50.json'))],
    ['fcn_resnet50', opened(specFile('specs/segmentation/fcn_resnet50.json'), { sizeMultiple: 1 })],
    ['deeplabv3_resnet50', opened(specFile('specs/segmentation/deeplabv3_resnet50.json'), { sizeMultiple: 1 })],
    ['retinanet_resnet50_fpn', opened(specFile('specs/detection/retinanet_resnet50_fpn.json'), { sizeMultiple: 1 })],
  ];
  for (const [name, spec] of specs) {
    const graph = compiled(name, spec);
    const formula = macsFormula(graph);
    randomSides(graph, 50, name.length).forEach(([height, width]) => {
      assert.is(sizeProblem(graph.sizes, height, width), null, `${name} at ${height}×${width}`);
      const at = analyzeAt(graph, height, width);
      at.layers.forEach((layer, i) => {
        const dims = shapeFormula(graph, i).map((dim) => dimAt(dim, height, width));
        assert.equal(dims, [...layer.outputShape], `${name} ${layer.op.name} at ${height}×${width}`);
      });
      assert.is(macsAt(formula, height, width), at.macs, `${name} MACs at ${height}×${width}`);
    });
  }
});

test('sizes a model cannot take: below the smallest, branches that disagree, bounds on a fixed size, half a size; each a positioned diagnostic naming what breaks', () => {
  const refusal = (name: string, spec: object) => {
    const result = compile(name, spec);
    assert.not.ok(result.ok, name);
    return result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`);
  };
  // timm's BlurPool2d reflect-pads one pixel, so it needs two to read: at a side of 8, layer3's (at ⌈8/16⌉ = 1) has one.
  const blur = refusal('resnetblur50d_small', opened(specFile('specs/timm/resnetblur50d.json'), { sizeMultiple: 1, minSize: 8 }));
  assert.equal(
    blur.map((line) => line.replace(/^(\S+) \S+/, '$1')),
    ['NS302 at an input side of 8, layer3.0.aa would read a side of 1, and it takes at least 2; the smallest side this model takes is 17'],
  );
  // Left to itself, the smallest is found: ⌈17/16⌉ = 2 at layer3's blur.
  assert.is(compiled('resnetblur50d_any', opened(specFile('specs/timm/resnetblur50d.json'), { sizeMultiple: 1 })).sizes.minimum, 17);
  const averaged = refusal('resnetaa50_any', opened(specFile('specs/timm/resnetaa50.json'), { sizeMultiple: 1 }));
  assert.equal(averaged.length, 1);
  assert.match(
    averaged[0]!,
    /^NS302 \d+:\d+ at an input side of 35, the inputs of layer2\.0\.add would have sides 4 and 5, which cannot be joined; input\.sizeMultiple 32 avoids it$/,
  );
  const fixed = refusal('fixed_bounds', { ...specFile('specs/resnet18.json'), input: { height: 32, width: 32, channels: 3, minSize: 16 } });
  assert.equal(
    fixed.map((line) => line.replace(/^(\S+) \S+/, '$1')),
    ['NS215 input.minSize bounds an open size, but this spec fixes its input at 32×32; leave out height and width to open it'],
  );
  const half = refusal('half', { ...specFile('specs/resnet18.json'), input: { height: 32, channels: 3 } });
  assert.equal(
    half.map((line) => line.replace(/^(\S+) \S+/, '$1')),
    ['NS102 input gives "height" without "width"; give both for a fixed size, or neither for an open size'],
  );
  const retinanet = compiled('retinanet_any', opened(specFile('specs/detection/retinanet_resnet50_fpn.json'), { sizeMultiple: 1 }));
  // P7 is a 3×3 convolution of stride 2 and padding 1 on P6 = ⌈H/64⌉: any side works, down to 1.
  assert.is(sizeProblem(retinanet.sizes, 97, 61), null);
});

/** One compiled open-size model per kind; resnet18 is torchvision's own, the small dense ones their generated module. */
const running = {
  resnet18: opened({ ...specFile('specs/imagenet/resnet18.json'), head: { type: 'classifier', classes: 10 } }, { sizeMultiple: 1 }),
  open_fcn: opened(dense.fcn, { sizeMultiple: 1 }),
  open_deeplab: opened(dense.deeplabv3, { sizeMultiple: 1 }),
  open_retinanet: opened(dense.retinanet, { sizeMultiple: 1 }),
};
const runningGraphs = new Map<string, AnalyzedGraph>();
const pairs: string[] = [];
let compiledReady: Promise<void> | undefined;
let referenceReady: Promise<void> | undefined;

/** Compiles each model once, writing its PyTorch module for the reference script, and starts the wasm backend. */
function compileRunning(): Promise<void> {
  compiledReady ??= (async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    for (const [name, spec] of Object.entries(running)) {
      const result = compile(name, spec);
      if (!result.ok) throw new Error(`${name}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
      runningGraphs.set(name, result.graph);
      writeFileSync(join(folder, `${name}.py`), result.pytorchModule);
      pairs.push(`${name}=${join(folder, `${name}.py`)}`);
    }
  })();
  return compiledReady;
}

/** Has PyTorch write each model's weights and its outputs at the three sizes, and imports the weights. */
function references(): Promise<void> {
  referenceReady ??= (async () => {
    await compileRunning();
    const sizes = SIZES.map(([h, w]) => `${h}x${w}`).join(',');
    const run = spawnSync(PYTHON, ['scripts/open-size-reference.py', folder, sizes, ...pairs], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`open-size-reference.py failed:\n${run.stderr}`);
    for (const [name, graph] of runningGraphs) {
      const path = join(folder, `${name}.safetensors`);
      const imported = importCheckpoint(graph, path, readSafetensors(path, readFileSync(path)));
      writeWeightsFolder(join(folder, `${name}.weights`), graph.name, imported.weights, imported.skippedLayers);
    }
  })();
  return referenceReady;
}

const io = (name: string, [height, width]: readonly [number, number]) =>
  readSafetensors('io', readFileSync(join(folder, `${name}.${height}x${width}.safetensors`))).tensors;
/** Feature maps NCHW → NHWC; vectors and anchor tables as they are. */
const asTfjs = (t: FloatTensor) =>
  tf.tidy(() => (t.shape.length === 4 ? tf.tensor(t.data, [...t.shape]).transpose([0, 2, 3, 1]) : tf.tensor(t.data, [...t.shape])));

function assertClose(actual: tf.Tensor, expected: FloatTensor, what: string): void {
  const reference = asTfjs(expected);
  assert.equal(actual.shape, reference.shape, `${what}: shape`);
  const error = relativeError(actual, reference);
  reference.dispose();
  assert.ok(error <= TOLERANCE, `${what}: relative max |Δ| ${error.toExponential(2)}`);
}

const outputKey = (graph: AnalyzedGraph, name: string) => (graph.outputs.length === 1 ? 'output' : name);

for (const name of Object.keys(running)) {
  withTorch(
    `${name}, compiled once with an open size: the tfjs model, its ONNX file on onnxruntime and the generated PyTorch module give the reference's outputs at ${SIZES.map((s) => s.join('×')).join(', ')}`,
    async () => {
      await references();
      const graph = runningGraphs.get(name)!;
      const net = await loadWeights(buildModel(graph), join(folder, `${name}.weights`));
      assert.equal(net.inputs[0]!.shape, [null, null, null, 3], 'the tfjs model takes any batch, height and width');
      const { manifest, weights } = await readWeightsFolder(join(folder, `${name}.weights`));
      const session = await createSession(emitOnnx(graph, exportCheckpoint(graph, 'weights', weights, manifest.skipped)), { log: () => {} });
      for (const size of SIZES) {
        const tensors = io(name, size);
        const input = asTfjs(tensors.get('input')!) as tf.Tensor4D;
        const outputs = [net.predict(input)].flat() as tf.Tensor[];
        const onnx = await session.run({ input: new ort.Tensor('float32', tensors.get('input')!.data, [...tensors.get('input')!.shape]) });
        graph.outputs.forEach((output, i) => {
          const expected = tensors.get(outputKey(graph, output.name))!;
          const at = `${output.name} at ${size.join('×')}`;
          assertClose(outputs[i]!, expected, `${at}, tfjs`);
          const emitted = asTfjs(tensors.get(`emitted.${outputKey(graph, output.name)}`)!);
          assertClose(emitted, expected, `${at}, the generated PyTorch module`);
          const fromOnnx = tf.tensor(onnx[output.name]!.data as Float32Array, [...onnx[output.name]!.dims]);
          const nhwc = fromOnnx.rank === 4 ? fromOnnx.transpose([0, 2, 3, 1]) : fromOnnx;
          assertClose(nhwc, expected, `${at}, onnxruntime`);
          // The formula of the output's shape, at this size, is the shape every engine gave.
          const index = graph.layers.findIndex((layer) => layer.op.name === output.op);
          assert.equal([2, ...shapeFormula(graph, index).map((dim) => dimAt(dim, size[0], size[1]))], outputs[i]!.shape, `${at}: formula`);
          tf.dispose([emitted, fromOnnx, nhwc]);
        });
        tf.dispose([input, ...outputs]);
      }
      await session.release();
      net.dispose();
    },
  );
}

test('the built small models, at 20 random sizes each, give every layer the shape its formula gives', async () => {
  await compileRunning();
  for (const name of ['open_fcn', 'open_deeplab', 'open_retinanet']) {
    const graph = runningGraphs.get(name)!;
    const net = buildModel(graph);
    const probe = tf.model({ inputs: net.inputs, outputs: graph.layers.slice(1).map((layer) => net.getLayer(layer.op.name).output as tf.SymbolicTensor) });
    for (const [height, width] of randomSides(graph, 20, name.length, 160)) {
      const outputs = tf.tidy(() => probe.predict(tf.zeros([1, height, width, 3])) as tf.Tensor[]);
      outputs.forEach((output, i) => {
        const dims = shapeFormula(graph, i + 1).map((dim) => dimAt(dim, height, width));
        assert.equal(output.shape, [1, ...dims], `${name} ${graph.layers[i + 1]!.op.name} at ${height}×${width}`);
      });
      tf.dispose(outputs);
    }
    net.dispose();
  }
});

/** What an open-size generated module exports, as far as this test reads it. */
interface OpenModule {
  readonly sizes: { readonly minimum: number; readonly maximum: number; readonly multiple: number };
  readonly inputShape: (height: number, width: number) => readonly number[];
  readonly outputShapes: (height: number, width: number) => Record<string, readonly number[]>;
  readonly macs: (height: number, width: number) => number;
  createModel(): tf.LayersModel;
  predict(model: tf.LayersModel, x: tf.Tensor4D): Record<string, tf.Tensor>;
  detect?(model: tf.LayersModel, x: tf.Tensor4D): { boxes: Float32Array }[];
  segment?(model: tf.LayersModel, x: tf.Tensor4D, placements?: readonly Placement[]): { height: number; width: number }[];
  preprocess(model: tf.LayersModel, images: readonly Pixels[]): { input: tf.Tensor4D; placements: readonly Placement[] };
  readonly imageTransform: ImageTransform;
}

test("the generated modules of open-size specs type-check, and the tfjs ones run at two sizes, refuse a size the spec's multiple excludes, segment and detect", async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  const modules = join('test', `.open-size-${process.pid}`);
  mkdirSync(modules, { recursive: true });
  try {
    const files: string[] = [];
    for (const name of ['open_fcn', 'open_retinanet']) {
      const result = compile(`${name}_module`, opened(dense[name === 'open_fcn' ? 'fcn' : 'retinanet'], { sizeMultiple: 8, minSize: 16 }));
      if (!result.ok) throw new Error(name);
      writeFileSync(join(modules, `${name}.ts`), result.code);
      writeFileSync(join(modules, `${name}.onnx.ts`), result.onnxModule);
      files.push(join(modules, `${name}.ts`), join(modules, `${name}.onnx.ts`));
    }
    assert.is(typeCheck(files), '');
    const fcn = (await import(`./${modules.slice('test/'.length)}/open_fcn.ts`)) as OpenModule;
    assert.equal(fcn.sizes, { minimum: 16, maximum: 2048, multiple: 8 });
    const model = fcn.createModel();
    for (const [height, width] of [
      [16, 40],
      [64, 24],
    ] as const) {
      const outputs = fcn.predict(model, tf.zeros([1, height, width, 3]) as tf.Tensor4D);
      assert.equal(outputs.out!.shape, [1, ...fcn.outputShapes(height, width).out!], `out at ${height}×${width}`);
      assert.equal(fcn.outputShapes(height, width).out, [height, width, 3]);
      tf.dispose(Object.values(outputs));
    }
    assert.throws(
      () => fcn.predict(model, tf.zeros([1, 20, 40, 3]) as tf.Tensor4D),
      /open_fcn takes heights and widths that are multiples of 8 from 16 to 2048, got 20×40/,
    );
    const masks = fcn.segment!(model, tf.zeros([2, 24, 32, 3]) as tf.Tensor4D);
    assert.equal(
      masks.map((mask) => [mask.height, mask.width]),
      [
        [24, 32],
        [24, 32],
      ],
    );
    // Two photos of their own sizes through the module's one pipeline: torchvision's segmentation size, the shorter
    // side to 520 (both scaled 13 times), so 520×780 and 650×520, padded to the batch's largest sides rounded up to
    // multiples of 8: 656×784.
    assert.equal(fcn.imageTransform.sizes, { minSize: 520, maxSize: 2048, multiple: 8, smallest: 16 });
    const photos = [solidImage(40, 60), solidImage(50, 40)];
    const prepared = fcn.preprocess(model, photos);
    assert.equal(prepared.input.shape, [2, 656, 784, 3]);
    assert.equal(
      prepared.placements.map((p) => [p.filled.height, p.filled.width]),
      [
        [520, 780],
        [650, 520],
      ],
    );
    const back = fcn.segment!(model, prepared.input, prepared.placements);
    assert.equal(
      back.map((mask) => [mask.height, mask.width]),
      [
        [40, 60],
        [50, 40],
      ],
    );
    prepared.input.dispose();
    model.dispose();
    const retinanet = (await import(`./${modules.slice('test/'.length)}/open_retinanet.ts`)) as OpenModule;
    const detector = retinanet.createModel();
    // Anchors per location 3, over levels ⌈H/8⌉ … ⌈H/128⌉: at 40×64, 3·(5·8 + 3·4 + 2·2 + 1·1 + 1·1) = 174.
    assert.equal(retinanet.outputShapes(40, 64).cls_logits, [174, 4]);
    const raw = retinanet.predict(detector, tf.zeros([1, 40, 64, 3]) as tf.Tensor4D);
    assert.equal(raw.cls_logits!.shape, [1, 174, 4]);
    tf.dispose(Object.values(raw));
    const found = retinanet.detect!(detector, tf.randomUniform([1, 40, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D);
    assert.is(found.length, 1);
    for (let i = 0; i < found[0]!.boxes.length; i += 4) {
      const [x1, y1, x2, y2] = found[0]!.boxes.subarray(i, i + 4);
      assert.ok(x1! >= 0 && y1! >= 0 && x2! <= 64 && y2! <= 40, 'boxes are clipped to the 40×64 input');
    }
    detector.dispose();
  } finally {
    rmSync(modules, { recursive: true, force: true });
  }
});

/** A `height`×`width` RGB image of one grey. */
const solidImage = (height: number, width: number): Pixels => ({ width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) });

test('an open-size segmenter trains at the one size --size gives, and the weights serve every size: eval at natural sizes scores them', () => {
  const netspec = (...args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { encoding: 'utf8' });
  const scenes = writeSceneDataset(join(folder, 'scenes'), { train: 4, val: 2 });
  const path = join(folder, 'open_fcn_train.json');
  // The scene masks' four classes: background, disc, square, triangle.
  writeFileSync(path, JSON.stringify(opened({ ...dense.fcn, head: { type: 'fcn', classes: 4, aux: true } }, { sizeMultiple: 8 })));
  const run = join(folder, 'open-run');
  const untakeable = netspec('train', path, '--data', scenes.masks, '--out', run, '--size', '64x60');
  assert.is(untakeable.status, 1);
  assert.match(untakeable.stderr, /open_fcn_train\.json:\d+:\d+: error NS302: 64×60: the width 60 is not a multiple of 8/);
  const trained = netspec('train', path, '--data', scenes.masks, '--out', run, '--size', '64x96', '--epochs', '1', '--workers', '1');
  assert.is(trained.status, 0, trained.stderr);
  const scored = netspec('eval', path, '--weights', join(run, 'weights'), '--data', scenes.masks, '--split', 'val', '--min-size', '40', '--json');
  assert.is(scored.status, 0, scored.stderr);
  const report = JSON.parse(scored.stdout) as { images: number; globalAccuracy: number };
  assert.is(report.images, 2);
  assert.ok(report.globalAccuracy > 0 && report.globalAccuracy <= 1, String(report.globalAccuracy));
});

withTorch("natural sizes as torchvision's GeneralizedRCNNTransform makes them: each image's resized size and the padded batch", () => {
  const images = [
    [480, 640],
    [375, 500],
    [1000, 200],
    [61, 97],
    [800, 800],
  ] as const;
  const script = [
    'import json, sys, torch',
    'from torchvision.models.detection.transform import GeneralizedRCNNTransform',
    't = GeneralizedRCNNTransform(800, 1333, [0.0] * 3, [1.0] * 3, size_divisible=32)',
    't.eval()',
    'images = [torch.zeros(3, h, w) for h, w in json.loads(sys.argv[1])]',
    'with torch.no_grad():',
    '    batch, _ = t(images)',
    'print(json.dumps({"sizes": [list(s) for s in batch.image_sizes], "batch": list(batch.tensors.shape[-2:])}))',
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', script, JSON.stringify(images)], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const reference = JSON.parse(run.stdout) as { sizes: [number, number][]; batch: [number, number] };
  const policy = { minSize: 800, maxSize: 1333, multiple: 32 };
  const mine = images.map(([height, width]) => naturalSize({ height, width }, policy));
  assert.equal(
    mine.map((size) => [size.height, size.width]),
    reference.sizes,
  );
  const batch = naturalBatchSize(
    images.map(([height, width]) => ({ height, width })),
    policy,
  );
  assert.equal([batch.height, batch.width], reference.batch);
});

test('netspec check prints the formulas of an open-size spec, its figures at --size, a positioned line for a size it cannot take, and a usage error for --size on a fixed size', () => {
  const path = join(folder, 'open_fcn_cli.json');
  writeFileSync(path, JSON.stringify(opened(dense.fcn), null, 2));
  const check = (...args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), 'check', ...args], { encoding: 'utf8' });
  const formulas = check(path);
  assert.is(formulas.status, 0, formulas.stderr);
  // The 3×3 stem of stride 2 and padding 1: ⌊(H + 2 − 3)/2⌋ + 1 = ⌈H/2⌉; the head's logits go back to H×W.
  assert.match(formulas.stdout, /^backbone\.conv1 \(conv2d\) +⌈H\/2⌉×⌈W\/2⌉×8 +216 +216·⌈H\/2⌉·⌈W\/2⌉$/m);
  assert.match(formulas.stdout, /^Input: H×W×3 {4}Outputs: out H×W×3, aux H×W×3$/m);
  assert.match(formulas.stdout, /^Sizes: H and W multiples of 32 from 32 to 2048$/m);
  const sized = check(path, '--size', '64x96', '--json');
  assert.is(sized.status, 0, sized.stderr);
  const summary = JSON.parse(sized.stdout) as { input: number[]; layers: { name: string; outputShape: number[]; macs: number }[] };
  assert.equal(summary.input, [64, 96, 3]);
  // ⌈64/2⌉ × ⌈96/2⌉ = 32 × 48 outputs of 3·3·3·8 = 216 multiply-accumulates each.
  assert.equal(summary.layers[1], { name: 'backbone.conv1', op: 'conv2d', outputShape: [32, 48, 8], params: 216, macs: 32 * 48 * 216 });
  const refused = check(path, '--size', '64x100');
  assert.is(refused.status, 1);
  assert.match(
    refused.stderr,
    /^.*open_fcn_cli\.json:\d+:\d+: error NS302: 64×100: the width 100 is not a multiple of 32, as this model's sides must be\n1 error in 1 spec\n$/,
  );
  const fixed = check('specs/resnet18.json', '--size', '64x64');
  assert.is(fixed.status, 2);
  assert.match(fixed.stderr, /--size is for specs whose input size is open; specs\/resnet18\.json fixes it at 32×32/);
});

test.run();
