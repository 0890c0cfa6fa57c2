// `netspec eval` of detectors and segmenters on the scene dataset in COCO, VOC and mask-folder layouts, through the
// CLI (dist/cli.js): a perfect results file scores 1, a model's detections written with --detections score again
// with --results to the same figures on both engines, segmentation scores equal torchvision's reference formula on
// the written masks, and every refusal is one line before any work.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { modelWeights } from '../src/runtime/weights/load.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { writeSceneDataset, type SceneDataset } from '../scripts/scenes.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';
import { pythonHas } from './support/python.js';

const cli = resolve('dist', 'cli.js');
function netspec(args: string[]) {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NETSPEC_BACKEND: 'wasm' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
const PYTHON = '/usr/bin/python3';
const haveTorch = pythonHas(PYTHON, 'torch', 'PIL');

let root: string;
let scenes: SceneDataset;
const specs = { detector: '', segmenter: '' };

/** A model of the spec with seeded random weights, as a weights folder netspec loads. */
function specWithWeights(name: string, spec: object): string {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(spec));
  const compiled = compileSpec(path, new TextEncoder().encode(JSON.stringify(spec)));
  if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  const model = buildModel(compiled.graph as AnalyzedGraph);
  // RetinaNet's prior bias starts every score at 0.01, under the 0.05 threshold: at 0 they are ½, and boxes come out.
  const weights = modelWeights(model).map((w) => (w.name.endsWith('classification_head/logits/bias') ? { ...w, data: new Float32Array(w.data.length) } : w));
  writeWeightsFolder(join(root, `${name}.weights`), compiled.graph.name, weights, []);
  model.dispose();
  return path;
}

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'netspec-eval-dense-'));
  scenes = writeSceneDataset(join(root, 'scenes'), { train: 2, val: 8 });
  await initBackend({ backend: 'cpu', log: () => {} });
  // Four scene classes (ids 1, 3 and 6 in COCO; background and three in VOC's masks).
  specs.detector = specWithWeights('detector', { ...tinyRetinanet(4), input: { height: 48, width: 64, channels: 3 } });
  specs.segmenter = specWithWeights('segmenter', {
    ...denseBackbone,
    name: 'segmenter',
    input: { height: 48, width: 64, channels: 3 },
    head: { type: 'fcn', classes: 4, aux: false },
  });
});
test.after(() => rmSync(root, { recursive: true, force: true }));

/** The twelve figures of pycocotools' summary as printed. */
const cocoStats = (stdout: string) => [...stdout.matchAll(/^ Average (?:Precision|Recall) .* = (-?\d\.\d{3})$/gm)].map((m) => Number(m[1]));

test('a results file that repeats the ground truth scores 1 (−1 where a size range has no object), AR at one detection worked out', () => {
  const truth = JSON.parse(readFileSync(scenes.coco.val.replace(/^coco:/, '').split(':')[0]!, 'utf8')) as {
    annotations: { image_id: number; category_id: number; bbox: number[]; iscrowd: number }[];
  };
  // Every object found exactly, crowds left out (they are never missed), each with score 1: every precision and recall is 1.
  const perfect = truth.annotations.filter((a) => a.iscrowd === 0).map((a) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: 1 }));
  writeFileSync(join(root, 'perfect.json'), JSON.stringify(perfect));
  const run = netspec(['eval', '--data', scenes.coco.val, '--results', join(root, 'perfect.json')]);
  assert.is(run.status, 0, run.stderr);
  const stats = cocoStats(run.stdout);
  assert.is(stats.length, 12, run.stdout);
  // With one detection an image and category (AR at maxDets 1), an image finds one of its n objects of a category:
  // recall per category is Σ min(1, n) / Σ n over images, the same at every IoU threshold; AR is its mean.
  const counts = new Map<number, Map<number, number>>();
  for (const { category_id: category, image_id: image } of perfect)
    counts.set(category, new Map(counts.get(category)).set(image, (counts.get(category)?.get(image) ?? 0) + 1));
  const recalls = [...counts.values()].map(
    (images) => [...images.values()].reduce((sum, n) => sum + Math.min(1, n), 0) / [...images.values()].reduce((sum, n) => sum + n, 0),
  );
  const oneEach = recalls.reduce((sum, r) => sum + r, 0) / recalls.length;
  assert.ok(oneEach < 1, 'some image holds two objects of a category');
  assert.is(stats[6], Number(oneEach.toFixed(3)));
  stats.forEach((value, i) => i === 6 || assert.ok(value === 1 || value === -1, `stat ${i}: ${value}`));
  const json = netspec(['eval', '--data', scenes.coco.val, '--results', join(root, 'perfect.json'), '--json']);
  assert.is((JSON.parse(json.stdout) as { coco: { stats: Record<string, number> } }).coco.stats.AP, 1);
});

test('a detector on COCO data: its --detections file scores again to the same twelve figures, on onnxruntime and tfjs alike', () => {
  const figures: number[][] = [];
  for (const runtime of ['onnx', 'tfjs']) {
    const out = join(root, `detections-${runtime}.json`);
    const run = netspec([
      'eval',
      specs.detector,
      '--weights',
      join(root, 'detector.weights'),
      '--data',
      scenes.coco.val,
      '--runtime',
      runtime,
      '--detections',
      out,
    ]);
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stderr, runtime === 'onnx' ? /running tiny_retinanet on onnxruntime/ : /running tiny_retinanet on TensorFlow\.js/);
    const stats = cocoStats(run.stdout);
    assert.is(stats.length, 12, run.stdout);
    const detections = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number; category_id: number; bbox: number[]; score: number }[];
    assert.ok(detections.length > 0);
    // Dataset ids, boxes in the 128×96 images' own pixels.
    assert.ok(
      detections.every(
        (d) => [1, 3, 6].includes(d.category_id) && d.bbox[0]! >= 0 && d.bbox[0]! + d.bbox[2]! <= 128 + 1e-3 && d.bbox[1]! + d.bbox[3]! <= 96 + 1e-3,
      ),
    );
    const again = netspec(['eval', '--data', scenes.coco.val, '--results', out]);
    assert.is(again.status, 0, again.stderr);
    assert.equal(cocoStats(again.stdout), stats);
    figures.push(stats);
  }
  // The engines differ by float rounding only; an image's detections may swap places at equal scores.
  figures[0]!.forEach((value, i) => assert.ok(Math.abs(value - figures[1]![i]!) <= 0.002, `stat ${i}: ${figures[0]} against ${figures[1]}`));
});

test("a detector on VOC data also prints VOC's mAP@0.5, over the same detections", () => {
  const run = netspec([
    'eval',
    specs.detector,
    '--weights',
    join(root, 'detector.weights'),
    '--data',
    scenes.voc,
    '--split',
    'val',
    '--runtime',
    'onnx',
    '--json',
  ]);
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { images: number; coco: { stats: number[] }; voc: { classes: { name: string }[]; mAP: number | null } };
  assert.is(report.images, 8);
  assert.equal(
    report.voc.classes.map((c) => c.name),
    ['disc', 'square', 'triangle'],
  );
});

test("a segmenter: the confusion matrix at each label's resolution, as torchvision's reference computes it from the written masks", () => {
  const masks = join(root, 'masks-out');
  const run = netspec([
    'eval',
    specs.segmenter,
    '--weights',
    join(root, 'segmenter.weights'),
    '--data',
    scenes.masks,
    '--split',
    'val',
    '--runtime',
    'onnx',
    '--masks',
    masks,
    '--json',
  ]);
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { images: number; globalAccuracy: number; iou: (number | null)[]; confusion: number[][] };
  assert.is(report.images, 8);
  const again = netspec(['eval', '--data', scenes.masks, '--split', 'val', '--results', masks, '--json']);
  assert.is(again.status, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { confusion: number[][] }).confusion, report.confusion);
  if (!haveTorch) return;
  // torchvision's references/segmentation/utils.py ConfusionMatrix on the same label and prediction PNGs.
  const reference = spawnSync(PYTHON, ['-c', CONFUSION, join(scenes.masks.replace(/^masks:/, ''), 'val', 'masks'), masks], { encoding: 'utf8' });
  assert.is(reference.status, 0, reference.stderr);
  assert.equal(report.confusion, JSON.parse(reference.stdout));
});

test("an open-size segmenter at natural sizes (--min-size 40): the same weights score on both engines, and the written masks give torchvision's confusion matrix", () => {
  // The fixed segmenter's spec with its size opened: the same layers and names, so the same weights folder loads.
  const spec = JSON.parse(readFileSync(specs.segmenter, 'utf8')) as { input: object };
  const path = join(root, 'segmenter-open.json');
  writeFileSync(path, JSON.stringify({ ...spec, input: { channels: 3, sizeMultiple: 8 } }));
  const reports = (['onnx', 'tfjs'] as const).map((runtime) => {
    const masks = join(root, `open-masks-${runtime}`);
    const args = ['eval', path, '--weights', join(root, 'segmenter.weights'), '--data', scenes.masks, '--split', 'val', '--runtime', runtime];
    const run = netspec([...args, '--min-size', '40', '--masks', masks, '--json']);
    assert.is(run.status, 0, run.stderr);
    return { masks, report: JSON.parse(run.stdout) as { images: number; globalAccuracy: number; confusion: number[][] } };
  });
  assert.is(reports[0]!.report.images, 8);
  assert.ok(Math.abs(reports[0]!.report.globalAccuracy - reports[1]!.report.globalAccuracy) < 1e-3, 'both engines');
  if (!haveTorch) return;
  const reference = spawnSync(PYTHON, ['-c', CONFUSION, join(scenes.masks.replace(/^masks:/, ''), 'val', 'masks'), reports[0]!.masks], { encoding: 'utf8' });
  assert.is(reference.status, 0, reference.stderr);
  assert.equal(reports[0]!.report.confusion, JSON.parse(reference.stdout));
});

test("the README's journey: torchvision's RetinaNet saved with torch.save, imported, scored on COCO data, and its detections scored again without the model", () => {
  if (!haveTorch) {
    console.log('  skipped: needs python3-torch and python3-torchvision');
    return;
  }
  // Random weights stand in for COCO_V1 (nothing is downloaded); the prior bias raised for the scene's categories
  // (COCO ids 1, 3 and 6) puts their scores near 0.95, far above the 0.05 threshold and every other class.
  const pth = join(root, 'retinanet.pth');
  const save = spawnSync(PYTHON, ['-c', RETINANET, pth], { encoding: 'utf8' });
  assert.is(save.status, 0, save.stderr);
  const weights = join(root, 'weights', 'retinanet');
  const spec = 'specs/detection/retinanet_resnet50_fpn.json';
  const imported = netspec(['weights', 'import', spec, pth, '--out', weights]);
  assert.is(imported.status, 0, imported.stderr);
  const results = join(root, 'results', 'retinanet-val.json');
  const scored = netspec(['eval', spec, '--weights', weights, '--data', scenes.coco.val, '--detections', results]);
  assert.is(scored.status, 0, scored.stderr);
  const stats = cocoStats(scored.stdout);
  assert.is(stats.length, 12, scored.stdout);
  // 300 detections an image, torchvision's detections_per_img, in the dataset's own category ids (91 map by identity).
  const detections = JSON.parse(readFileSync(results, 'utf8')) as { image_id: number; category_id: number }[];
  assert.is(detections.length, 8 * 300);
  assert.ok(detections.every((d) => Number.isInteger(d.category_id) && d.category_id >= 0 && d.category_id < 91));
  const again = netspec(['eval', '--data', scenes.coco.val, '--results', results]);
  assert.is(again.status, 0, again.stderr);
  assert.equal(cocoStats(again.stdout), stats);
});

const RETINANET = `
import sys, torch
import torchvision.models.detection as d
torch.manual_seed(0)
model = d.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
with torch.no_grad():
    bias = model.head.classification_head.cls_logits.bias
    bias.fill_(-4.6)
    bias.view(-1, 91)[:, [1, 3, 6]] = 3.0
torch.save(model.state_dict(), sys.argv[1])
`;

const CONFUSION = `
import json, os, sys
import numpy as np, torch
from PIL import Image
labels, predictions = sys.argv[1], sys.argv[2]
n = 4
mat = torch.zeros((n, n), dtype=torch.int64)
for name in sorted(os.listdir(labels)):
    a = torch.as_tensor(np.array(Image.open(os.path.join(labels, name))), dtype=torch.int64).flatten()
    b = torch.as_tensor(np.array(Image.open(os.path.join(predictions, name))), dtype=torch.int64).flatten()
    k = (a >= 0) & (a < n)
    inds = n * a[k] + b[k]
    mat += torch.bincount(inds, minlength=n ** 2).reshape(n, n)
print(json.dumps(mat.tolist()))
`;

test('refusals before any work: a user file at --detections, a full --masks folder, a results file naming an unknown image, mixed tasks', () => {
  const mine = join(root, 'mine.json');
  writeFileSync(mine, '[]');
  const cases: [string[], RegExp][] = [
    [
      ['eval', specs.detector, '--weights', join(root, 'detector.weights'), '--data', scenes.coco.val, '--detections', mine],
      /cannot write .*mine\.json: it exists, and a file of this kind cannot say who wrote it/,
    ],
    [
      ['eval', specs.segmenter, '--weights', join(root, 'segmenter.weights'), '--data', scenes.masks, '--split', 'val', '--masks', root],
      /--masks .* holds \d+ entries already; give an empty or new folder/,
    ],
    [['eval', specs.detector, '--weights', join(root, 'detector.weights'), '--data', scenes.masks], /holds masks for segmentation, not boxes/],
    [
      ['eval', specs.segmenter, '--weights', join(root, 'segmenter.weights'), '--data', scenes.coco.val],
      /is read for detection \(boxes\); segmentation data is voc:DIR or masks:DIR/,
    ],
  ];
  writeFileSync(join(root, 'unknown.json'), JSON.stringify([{ image_id: 999, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]));
  cases.push([['eval', '--data', scenes.coco.val, '--results', join(root, 'unknown.json')], /unknown\.json: result 1: image_id 999 is not an image of/]);
  writeFileSync(join(root, 'not-list.json'), '{"producer": "netspec"}');
  cases.push([['eval', '--data', scenes.coco.val, '--results', join(root, 'not-list.json')], /not-list\.json: is not a COCO results list/]);
  mkdirSync(join(root, 'empty-masks'), { recursive: true });
  cases.push([['eval', '--data', scenes.masks, '--split', 'val', '--results', join(root, 'empty-masks')], /empty-masks\/scene_\d+\.png: /]);
  for (const [args, message] of cases) {
    const run = netspec(args);
    assert.is(run.status, 1, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.is(
      run.stderr
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('netspec: running')).length,
      1,
      run.stderr,
    );
  }
  assert.is(readFileSync(mine, 'utf8'), '[]');
  const usage = netspec(['eval', specs.detector, '--weights', join(root, 'detector.weights'), '--data', scenes.coco.val, '--masks', join(root, 'x')]);
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /--masks applies to segmentation models/);
});

test.run();
