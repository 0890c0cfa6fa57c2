// The one image pipeline: against torchvision's Resize → CenterCrop → ToTensor → Normalize on PIL-decoded PNGs of odd
// sizes and every mode, byte for byte; letterboxing and its inverse for boxes and masks, worked by hand; and the
// same file giving the same tensor through the generated module, calibration, eval and predict.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { folderImages } from '../src/quantize/images.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { decodeImage } from '../src/runtime/images/decode.js';
import { boxesToImage, fitImage, imageTransformFor, prepareImage, type ImageTransform } from '../src/runtime/images/pipeline.js';
import type { Pixels } from '../src/runtime/images/pixels.js';
import { modelImageTransform, prepareBatch } from '../src/runtime/images/preprocess.js';
import { classMasks } from '../src/runtime/tasks/segmentation.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { modelWeights } from '../src/runtime/weights/load.js';
import { loadEvalFolder } from '../src/train/image-folder-data.js';
import { baseSpec } from './support/base-spec.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';
import { typeCheck } from './support/typecheck.js';

const PYTHON = '/usr/bin/python3';
const havePil = spawnSync(PYTHON, ['-c', 'import PIL, torchvision'], { stdio: 'ignore' }).status === 0;
const define = havePil ? test : test.skip;
if (!havePil) console.log(`\n  image-pipeline.test.ts: the torchvision comparison is skipped; it needs ${PYTHON} with PIL and torchvision\n`);

let folder: string;
test.before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'netspec-pipeline-'));
  await initBackend({ backend: 'cpu', log: () => {} });
});
test.after(() => rmSync(folder, { recursive: true, force: true }));

/**
 * PNGs of every mode PIL writes, at odd sizes, and torchvision's transform of each for models of every channel count:
 * the bytes after Resize and CenterCrop (PILToTensor), and the floats after ToTensor and Normalize.
 */
const REFERENCE = `
import json, sys
import numpy as np
from PIL import Image
import torchvision.transforms as T
folder = sys.argv[1]
rng = np.random.default_rng(7)
images = {
    "rgb": Image.fromarray(rng.integers(0, 256, (61, 97, 3), dtype=np.uint8)),
    "tall": Image.fromarray(rng.integers(0, 256, (333, 51, 3), dtype=np.uint8)),
    "grey": Image.fromarray(rng.integers(0, 256, (45, 77), dtype=np.uint8)),
    "grey-alpha": Image.fromarray(rng.integers(0, 256, (70, 41, 2), dtype=np.uint8), "LA"),
    "rgba": Image.fromarray(rng.integers(0, 256, (70, 41, 4), dtype=np.uint8)),
    "palette": Image.fromarray(rng.integers(0, 16, (53, 67), dtype=np.uint8), "P"),
    "grey16": Image.fromarray(rng.integers(0, 65536, (39, 44), dtype=np.uint16)),
}
images["palette"].putpalette(list(rng.integers(0, 256, 48)))
cases = [("RGB", 32, "bilinear", 3), ("RGB", 24, "bicubic", 3), ("L", 29, "bilinear", 1), ("RGBA", 20, "bilinear", 4), ("LA", 20, "bilinear", 2)]
out = []
for name, image in images.items():
    image.save(f"{folder}/{name}.png")
    # PIL clips 16-bit grey to 255 when converting; netspec scales it to 8 bits as PNG decoders do: round(v / 257).
    loaded = Image.fromarray(np.round(np.asarray(Image.open(f"{folder}/{name}.png"), dtype=np.float64) / 257).astype(np.uint8)) if name == "grey16" else Image.open(f"{folder}/{name}.png")
    for mode, crop, filter, channels in cases:
        interpolation = T.InterpolationMode.BILINEAR if filter == "bilinear" else T.InterpolationMode.BICUBIC
        fitted = T.Compose([T.Resize(int(crop / 0.875), interpolation=interpolation), T.CenterCrop(crop)])(loaded.convert(mode))
        mean, std = [0.5, 0.25, 0.75, 0.1][:channels], [0.2, 0.3, 0.4, 0.5][:channels]
        normalised = T.Normalize(mean, std)(T.ToTensor()(fitted))
        out.append({"file": name, "channels": channels, "crop": crop, "interpolation": filter, "mean": mean, "std": std,
                    "bytes": T.PILToTensor()(fitted).permute(1, 2, 0).flatten().tolist(),
                    "floats": normalised.permute(1, 2, 0).flatten().tolist()})
print(json.dumps(out))
`;

interface ReferenceCase {
  readonly file: string;
  readonly channels: 1 | 2 | 3 | 4;
  readonly crop: number;
  readonly interpolation: 'bilinear' | 'bicubic';
  readonly mean: number[];
  readonly std: number[];
  readonly bytes: number[];
  readonly floats: number[];
}

define("torchvision's Resize, CenterCrop, ToTensor and Normalize on PIL-decoded PNGs of every mode: the same bytes, floats within 1e-6", async () => {
  const run = spawnSync(PYTHON, ['-c', REFERENCE, folder], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(run.status, 0, run.stderr);
  const cases = JSON.parse(run.stdout) as ReferenceCase[];
  assert.is(cases.length, 35);
  for (const reference of cases) {
    const image = await decodeImage(readFileSync(join(folder, `${reference.file}.png`)));
    const { crop, channels, interpolation, mean, std } = reference;
    const transform: ImageTransform = { height: crop, width: crop, channels, fit: 'crop', cropFraction: 0.875, interpolation, mean, std };
    const label = `${reference.file} as ${channels} channels, ${interpolation} to ${crop}`;
    assert.equal([...fitImage(image, transform).pixels.data], reference.bytes, label);
    const floats = prepareImage(image, transform).data;
    const worst = reference.floats.reduce((max, value, i) => Math.max(max, Math.abs(value - floats[i]!)), 0);
    assert.ok(worst <= 1e-6, `${label}: floats differ by ${worst}`);
  }
});

define("letterboxing: PIL's resize of the whole image to the filled part, zeros (the mean) below and to the right", () => {
  const width = 50;
  const height = 20;
  const image: Pixels = { width, height, channels: 3, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31) & 255) };
  const transform: ImageTransform = { height: 16, width: 16, channels: 3, fit: 'letterbox', mean: [0, 0, 0], std: [1, 1, 1] };
  const prepared = prepareImage(image, transform);
  // The scale is min(16 / 20, 16 / 50) = 0.32: 50 × 0.32 = 16 columns, 20 × 0.32 = 6.4 → 6 rows filled.
  assert.equal(prepared.placement.filled, { width: 16, height: 6 });
  const script = `import sys, json\nfrom PIL import Image\nimg = Image.frombytes("RGB", (${width}, ${height}), bytes(json.loads(sys.stdin.read())))\nprint(json.dumps(list(img.resize((16, 6), Image.BILINEAR).tobytes())))`;
  const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify([...image.data]), encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const pil = JSON.parse(run.stdout) as number[];
  const ours = Array.from(prepared.data.subarray(0, 16 * 6 * 3), (v) => Math.round(v * 255));
  assert.equal(ours, pil);
  assert.ok(prepared.data.subarray(16 * 6 * 3).every((v) => v === 0));
});

test('boxes go back through the placement: a letterbox divides by the filled sides, a centre crop adds its margin first', () => {
  const letterbox = fitImage(
    { width: 200, height: 100, channels: 3, data: new Uint8Array(200 * 100 * 3) },
    { height: 64, width: 64, channels: 3, fit: 'letterbox' },
  ).placement;
  // 200×100 into 64×64: scale 0.32, filled 64×32; the filled sides set the scale back: 200 / 64 and 100 / 32 = 3.125.
  assert.equal(letterbox.filled, { width: 64, height: 32 });
  const boxes = Float32Array.from([0, 0, 64, 32, 10, 5, 70, 40]);
  boxesToImage(boxes, letterbox);
  // The second box reaches past the filled part (x2 70, y2 40): it is held inside the image, 200 × 100.
  assert.equal([...boxes], [0, 0, 200, 100, 31.25, 15.625, 200, 100]);
  const crop = fitImage(
    { width: 300, height: 200, channels: 3, data: new Uint8Array(300 * 200 * 3) },
    { height: 8, width: 8, channels: 3, fit: 'crop', cropFraction: 0.5 },
  ).placement;
  // The shorter side 200 → ⌊8 / 0.5⌋ = 16, the longer ⌊16 × 300 / 200⌋ = 24; the 8×8 centre starts at (8, 4).
  assert.equal({ left: crop.left, top: crop.top, scaleX: crop.scaleX, scaleY: crop.scaleY }, { left: 8, top: 4, scaleX: 24 / 300, scaleY: 16 / 200 });
  const box = Float64Array.from([0, 0, 8, 8]);
  boxesToImage(box, crop);
  // (0 + 8) / 0.08 = 100 and (0 + 4) / 0.08 = 50; (8 + 8) / 0.08 = 200 and (8 + 4) / 0.08 = 150.
  assert.equal(
    [...box].map((v) => Math.round(v * 1e9) / 1e9),
    [100, 50, 200, 150],
  );
});

test("segmentation masks come back at the image's own size, scores sampled at each pixel's centre inside the filled part", () => {
  // A 2×4 input of two classes whose filled part is the top row (4 columns): class 1 wins in the right half.
  const logits = tf.tensor4d([1, 0, 0, 1, 0, 1, 1, 0, 9, 0, 9, 0, 9, 0, 9, 0], [1, 2, 4, 2]);
  const placement = { source: { width: 8, height: 2 }, scaleX: 0.5, scaleY: 0.5, left: 0, top: 0, filled: { width: 4, height: 1 } };
  const [mask] = classMasks(logits, [placement]);
  // Pixel x maps to input column (x + 0.5) / 2 − 0.5: 0→−0.25 (held at 0), 1→0.25, 2→0.75, 3→1.25, …, 7→3.25 (held at 3);
  // input columns read [0: class 0, 1: class 1, 2: class 1, 3: class 0] by their scores (1, 0), (0, 1), (0, 1), (1, 0).
  // Both image rows read input row 0 (row 1 lies outside the filled part).
  assert.equal(mask!.width, 8);
  assert.equal([...mask!.classes], [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
  logits.dispose();
});

test('the same PNG gives the same tensor through the generated preprocess, calibration, eval and predict', async () => {
  const spec = JSON.parse(baseSpec) as { name: string; input: { height: number; width: number; channels: number } };
  spec.name = 'pipeline_probe';
  spec.input = { height: 12, width: 12, channels: 3 };
  const compiled = compileSpec('specs/pipeline_probe.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  const images = join(folder, 'same', 'cat');
  mkdirSync(images, { recursive: true });
  const pixels: Pixels = { width: 23, height: 17, channels: 3, data: Uint8Array.from({ length: 23 * 17 * 3 }, (_, i) => (i * 13 + (i >> 4)) & 255) };
  const { encodePng } = await import('../src/runtime/images/png.js');
  writeFileSync(join(images, 'a.png'), encodePng(pixels));
  // Weights saved as netspec train saves them: their normalisation, and whole frames.
  const model = buildModel(compiled.graph);
  const weightsDir = join(folder, 'weights');
  writeWeightsFolder(weightsDir, compiled.graph.name, modelWeights(model), [], { input: { mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] } });
  await loadWeights(model, weightsDir);
  const image = await decodeImage(readFileSync(join(images, 'a.png')));
  // The generated module's preprocess is this call on the module's imageTransform.
  const generated = prepareBatch([image], modelImageTransform(model, imageTransformFor(compiled.graph)));
  const reference = generated.input.dataSync() as Float32Array;
  const manifest = JSON.parse(readFileSync(join(weightsDir, 'model.json'), 'utf8')) as { input: { mean: number[]; std: number[] } };
  const transform = imageTransformFor(compiled.graph, manifest.input);
  const calibration = await folderImages(images, 1, transform);
  const hwc = Float32Array.from({ length: reference.length }, (_, i) => calibration.data[(i % 3) * 144 + Math.floor(i / 3)]!);
  assert.equal([...hwc], [...reference], 'calibration');
  const evaluated = await loadEvalFolder(join(folder, 'same'), {
    input: [12, 12, 3],
    cropFraction: transform.cropFraction,
    interpolation: transform.interpolation,
    log: () => {},
  });
  const evalInput = Float32Array.from(evaluated.set.images, (v, i) => (v / 255 - transform.mean[i % 3]!) / transform.std[i % 3]!);
  const worst = evalInput.reduce((max, v, i) => Math.max(max, Math.abs(v - reference[i]!)), 0);
  assert.ok(worst <= 1e-6, `eval differs by ${worst}`);
  const predicted = prepareBatch([image], transform).input.dataSync();
  assert.equal([...predicted], [...reference], 'predict');
  model.dispose();
  generated.input.dispose();
});

test("a generated module's preprocess, detect and segment return results in each image's own pixels", async () => {
  const modules = join('test', `.pipeline-${process.pid}`);
  mkdirSync(modules, { recursive: true });
  const fcn = { ...denseBackbone, name: 'tiny_fcn', head: { type: 'fcn', classes: 3, aux: false } };
  try {
    for (const spec of [tinyRetinanet(5), fcn]) {
      const compiled = compileSpec(`specs/${spec.name}.json`, new TextEncoder().encode(JSON.stringify(spec)));
      if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
      writeFileSync(join(modules, `${spec.name}.ts`), compiled.code);
    }
    // An FCN without its auxiliary head has one output, which segment() reads as it is.
    assert.is(typeCheck([join(modules, 'tiny_retinanet.ts'), join(modules, 'tiny_fcn.ts')]), '');
    // The input is 37 high and 29 wide: a 58×74 image fills it exactly at half size, a 90×30 one is letterboxed.
    const image = (width: number, height: number): Pixels => ({
      width,
      height,
      channels: 3,
      data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) & 255),
    });
    const images = [image(58, 74), image(90, 30)];
    const detector = (await import(`./.pipeline-${process.pid}/tiny_retinanet.ts`)) as typeof import('../generated/detection/retinanet_resnet50_fpn.ts');
    const model = detector.createModel();
    // RetinaNet's prior bias makes every score 0.01, under the 0.05 threshold; at 0 they are ½ and boxes come out.
    const tower = model.getLayer('head.classification_head');
    tower.setWeights(tower.getWeights().map((w, i) => (tower.weights[i]!.originalName.endsWith('logits/bias') ? tf.zerosLike(w) : w)));
    const { input, placements } = detector.preprocess(model, images);
    assert.equal(
      placements.map((p) => p.filled),
      [
        { width: 29, height: 37 },
        { width: 29, height: 10 },
      ],
    );
    const inImages = detector.detect(model, input, placements);
    const inInput = detector.detect(model, input);
    // The first image fills the whole input at half size: its boxes are the input's, doubled.
    assert.ok(inInput[0]!.boxes.length > 0);
    assert.equal(
      [...inImages[0]!.boxes],
      [...inInput[0]!.boxes].map((v) => v * 2),
    );
    // The second image's boxes lie inside it, 90 × 30.
    const second = inImages[1]!.boxes;
    assert.ok(
      second.every((v, i) => v >= 0 && v <= (i % 2 === 0 ? 90 : 30)),
      `boxes ${[...second]}`,
    );
    input.dispose();
    model.dispose();
    const segmenter = (await import(`./.pipeline-${process.pid}/tiny_fcn.ts`)) as typeof import('../generated/segmentation/fcn_resnet50.ts');
    const fcnModel = segmenter.createModel();
    const batch = segmenter.preprocess(fcnModel, images);
    const masks = segmenter.segment(fcnModel, batch.input, batch.placements);
    assert.equal(
      masks.map((m) => [m.width, m.height, m.classes.length]),
      [
        [58, 74, 58 * 74],
        [90, 30, 90 * 30],
      ],
    );
    assert.ok(masks.every((m) => m.classes.every((c) => c >= 0 && c < 3)));
    batch.input.dispose();
    fcnModel.dispose();
  } finally {
    rmSync(modules, { recursive: true, force: true });
  }
});

test.run();
