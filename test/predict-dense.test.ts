// `netspec predict` on segmentation and detection models, through the CLI, with weights whose results can be worked
// by hand: heads whose last convolution has a zero kernel give the same logits at every pixel and anchor, so the mask,
// the blended PNG and the first detection's box follow from the biases and the letterbox arithmetic alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { initialWeights } from '../src/weights/init.js';
import { writeSafetensors, type FloatTensor } from '../src/weights/safetensors.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';

const segmentation = { ...denseBackbone, name: 'tiny_fcn', head: { type: 'fcn', classes: 21, aux: true } };
const detection = tinyRetinanet(91);

const root = mkdtempSync(join(tmpdir(), 'netspec-predict-dense-'));
const cli = (args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A 74×58 RGB image whose pixel (x, y) is (x, y, 200). */
function writeImage(name: string): void {
  const png = new PNG({ width: 74, height: 58 });
  for (let y = 0; y < 58; y++) for (let x = 0; x < 74; x++) png.data.set([x, y, 200, 255], 4 * (y * 74 + x));
  writeFileSync(join(root, name), PNG.sync.write(png));
}

/** The spec and a weights folder imported through the CLI, its weights drawn as declared and then `edit`ed. */
function prepare(spec: { name: string }, edit: (weights: Map<string, FloatTensor>) => void): void {
  writeFileSync(join(root, `${spec.name}.json`), JSON.stringify(spec));
  const compiled = compileSpec('tiny.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!compiled.ok) throw new Error('does not compile');
  const weights = initialWeights(compiled.graph, 3);
  edit(weights);
  writeFileSync(join(root, `${spec.name}.safetensors`), writeSafetensors(weights));
  const run = cli(['weights', 'import', `${spec.name}.json`, `${spec.name}.safetensors`, '--out', `${spec.name}.weights`]);
  assert.is(run.status, 0, run.stderr);
}

const fill = (tensor: FloatTensor, value: (i: number) => number) => tensor.data.forEach((_, i) => (tensor.data[i] = value(i)));

test('segmentation: every pixel of the class the biases favour, VOC names, and the mask blended over the image', () => {
  prepare(segmentation, (weights) => {
    fill(weights.get('classifier.4.weight')!, () => 0);
    fill(weights.get('classifier.4.bias')!, (i) => (i === 15 ? 5 : 0));
  });
  writeImage('street.png');
  const run = cli(['predict', 'tiny_fcn.json', '--weights', 'tiny_fcn.weights', '--out', 'results', 'street.png']);
  assert.is(run.status, 0, run.stderr);
  assert.equal(
    run.stdout.trimEnd().split('\n'),
    // The share and the colour person is drawn in, VOC's (192, 128, 128).
    ['street.png → results/street.segmentation.png', '100.00%  person  #c08080'].map((l, i) => (i === 0 ? l : `  ${l}`)),
  );
  const blended = PNG.sync.read(readFileSync(join(root, 'results', 'street.segmentation.png')));
  assert.equal([blended.width, blended.height], [74, 58]);
  // Class 15 (person) is VOC's (192, 128, 128); at alpha 0.5 pixel (10, 20) = (10, 20, 200) becomes
  // round(0.5·10 + 0.5·192) = 101, round(0.5·20 + 0.5·128) = 74, round(0.5·200 + 0.5·128) = 164.
  const at = 4 * (20 * 74 + 10);
  assert.equal([...blended.data.subarray(at, at + 3)], [101, 74, 164]);
  // Its own earlier result is replaced (the PNG carries netspec's tEXt mark); a user's file at that path is not.
  const again = cli(['predict', 'tiny_fcn.json', '--weights', 'tiny_fcn.weights', '--out', 'results', 'street.png']);
  assert.is(again.status, 0, again.stderr);
  assert.equal(PNG.sync.read(readFileSync(join(root, 'results', 'street.segmentation.png'))).data, blended.data);
  writeFileSync(join(root, 'results', 'street.segmentation.png'), 'a picture of mine');
  const mine = cli(['predict', 'tiny_fcn.json', '--weights', 'tiny_fcn.weights', '--out', 'results', 'street.png']);
  assert.is(mine.status, 1);
  assert.is(
    mine.stderr,
    'netspec: cannot write results/street.segmentation.png: it exists and was not written by netspec; move it away or choose another path\n',
  );
  assert.is(readFileSync(join(root, 'results', 'street.segmentation.png'), 'utf8'), 'a picture of mine');
});

test("detection: the anchors as boxes when the regression is zero, in the image's pixels, as JSON and drawn", () => {
  prepare(detection, (weights) => {
    for (const name of ['head.classification_head.cls_logits', 'head.regression_head.bbox_reg']) fill(weights.get(`${name}.weight`)!, () => 0);
    // Label 3 (COCO's "car") at logit 3 for every anchor, every other class at −10: 91 classes per anchor.
    fill(weights.get('head.classification_head.cls_logits.bias')!, (i) => (i % 91 === 3 ? 3 : -10));
    fill(weights.get('head.regression_head.bbox_reg.bias')!, () => 0);
  });
  writeImage('road.png');
  const run = cli(['predict', 'tiny_retinanet.json', '--weights', 'tiny_retinanet.weights', '--out', 'results', 'road.png']);
  assert.is(run.status, 0, run.stderr);
  const found = JSON.parse(readFileSync(join(root, 'results', 'road.detections.json'), 'utf8')) as {
    width: number;
    height: number;
    detections: { label: number; name: string; score: number; box: number[] }[];
  };
  assert.equal([found.width, found.height], [74, 58]);
  assert.ok(found.detections.length > 1);
  assert.ok(found.detections.every((d) => d.label === 3 && d.name === 'car'));
  // Every anchor scores σ(3) = 0.952574; the first in torchvision's order is level 0's first anchor, ratio 0.5 and
  // size 8: half-widths 8/√0.5/2 = 5.657 and 8·√0.5/2 = 2.828, rounded to the cell anchor (−6, −3, 6, 3) at (0, 0),
  // clipped to the 29×23 part of the input the image fills: (0, 0, 6, 3). The image was scaled by
  // min(37/58, 29/74) = 29/74 to round(74·29/74) × round(58·29/74) = 29 × 23, and boxes go back by those sides, as
  // torchvision's resize_boxes takes them: (0, 0, 6·74/29, 3·58/23) = (0, 0, 15.310, 7.565).
  const [first] = found.detections;
  assert.ok(Math.abs(first!.score - 0.952574) < 1e-6, String(first!.score));
  first!.box.forEach((v, i) => assert.ok(Math.abs(v - [0, 0, 15.3103, 7.5652][i]!) < 1e-3, `box ${first!.box}`));
  assert.ok(found.detections.every((d) => d.box[2]! <= 74 && d.box[3]! <= 58));
  const drawn = PNG.sync.read(readFileSync(join(root, 'results', 'road.detections.png')));
  assert.equal([drawn.width, drawn.height], [74, 58]);
  assert.match(
    run.stdout,
    new RegExp(
      `^road\\.png → results/road\\.detections\\.png, results/road\\.detections\\.json: ${found.detections.length} detections scoring 0\\.5 or more\\n  0\\.953  car at \\(0\\.0, 0\\.0, 15\\.3, 7\\.6\\)`,
    ),
  );
  const strict = cli(['predict', 'tiny_retinanet.json', '--weights', 'tiny_retinanet.weights', '--out', 'strict', '--min-score', '0.96', 'road.png']);
  assert.is(strict.status, 0, strict.stderr);
  assert.equal((JSON.parse(readFileSync(join(root, 'strict', 'road.detections.json'), 'utf8')) as { detections: unknown[] }).detections, []);
  assert.not.match(strict.stderr, /scoreThreshold/);
  // Under the head's scoreThreshold (0.05 by default) --min-score cannot show more, and predict says so.
  const low = cli(['predict', 'tiny_retinanet.json', '--weights', 'tiny_retinanet.weights', '--out', 'low', '--min-score', '0', 'road.png']);
  assert.is(low.status, 0, low.stderr);
  assert.match(low.stderr, /^netspec: decoding drops detections scoring under 0\.05, the spec's scoreThreshold; --min-score 0 shows those from 0\.05 /m);
});

test('every result path is checked before any work: a file netspec did not write, or two images writing one file, leave nothing behind', () => {
  writeImage('x.png');
  writeImage('x.jpg');
  // A file of the user's where a result would go.
  mkdirSync(join(root, 'orphan'), { recursive: true });
  writeFileSync(join(root, 'orphan', 'road.detections.png'), 'an earlier result');
  writeImage('road.png');
  const leftover = cli(['predict', 'tiny_retinanet.json', '--weights', 'tiny_retinanet.weights', '--out', 'orphan', 'road.png']);
  assert.is(leftover.status, 1);
  assert.is(
    leftover.stderr,
    'netspec: cannot write orphan/road.detections.png: it exists and was not written by netspec; move it away or choose another path\n',
  );
  assert.not.ok(existsSync(join(root, 'orphan', 'road.detections.json')), 'no JSON written beside the refused PNG');
  assert.is(leftover.stdout, '');
  const collide = cli(['predict', 'tiny_retinanet.json', '--weights', 'tiny_retinanet.weights', '--out', 'both', 'x.png', 'x.jpg']);
  assert.is(collide.status, 1);
  assert.is(
    collide.stderr,
    'netspec: x.png and x.jpg would both write both/x.detections.json; predict them into different --out folders, or rename one\n' +
      'netspec: x.png and x.jpg would both write both/x.detections.png; predict them into different --out folders, or rename one\n',
  );
  assert.not.ok(existsSync(join(root, 'both')), 'nothing written, not even the folder');
});

test('an unreadable image is reported on one line and the others are still processed', () => {
  writeImage('good.png');
  writeFileSync(join(root, 'bad.png'), 'not an image');
  const run = cli(['predict', 'tiny_fcn.json', '--weights', 'tiny_fcn.weights', '--out', 'mixed', 'bad.png', 'good.png']);
  assert.is(run.status, 1);
  assert.match(run.stderr, /netspec: cannot read the image bad\.png: /);
  assert.ok(existsSync(join(root, 'mixed', 'good.segmentation.png')));
  assert.not.ok(existsSync(join(root, 'mixed', 'bad.segmentation.png')));
});

test('with weights that vary by pixel and anchor, onnxruntime (which auto takes, installed here) and TensorFlow.js give the same masks and detections', () => {
  const varied = { segmentation: { ...segmentation, name: 'varied_fcn' }, detection: { ...detection, name: 'varied_retinanet' } };
  prepare(varied.segmentation, () => {});
  // Car near the threshold, each anchor's score moved far from its neighbours' (towers of gain about 1, a logits kernel
  // in [−1, 1]): no ties for suppression to break differently on the two engines.
  prepare(varied.detection, (weights) => {
    for (const [name, tensor] of weights) if (/^head\.\w+_head\.conv\.\d\.0\.weight$/.test(name)) fill(tensor, (i) => 20 * tensor.data[i]!);
    fill(weights.get('head.classification_head.cls_logits.weight')!, (i) => ((i * 7919) % 201) / 100 - 1);
    fill(weights.get('head.classification_head.cls_logits.bias')!, (i) => (i % 91 === 3 ? 1 : -10));
  });
  writeImage('scene.png');
  for (const { name } of Object.values(varied)) {
    const [auto, tfjs] = ['auto', 'tfjs'].map((runtime) => {
      const run = cli(['predict', `${name}.json`, '--weights', `${name}.weights`, '--runtime', runtime, '--out', `same-${runtime}`, 'scene.png']);
      assert.is(run.status, 0, run.stderr);
      return run;
    });
    assert.match(auto!.stderr, new RegExp(`^netspec: running ${name} on onnxruntime \\(installed; --runtime tfjs to use TensorFlow\\.js\\)\n`));
    assert.match(tfjs!.stderr, new RegExp(`^netspec: running ${name} on TensorFlow\\.js \\(\\w+\\)\n`));
    // The same text but for the folder each run wrote to.
    assert.is(auto!.stdout.replaceAll('same-auto', 'same-tfjs'), tfjs!.stdout, name);
  }
  const mask = (runtime: string) => PNG.sync.read(readFileSync(join(root, `same-${runtime}`, 'scene.segmentation.png'))).data;
  assert.equal(mask('auto'), mask('tfjs'));
  const found = (runtime: string) =>
    (
      JSON.parse(readFileSync(join(root, `same-${runtime}`, 'scene.detections.json'), 'utf8')) as {
        detections: { label: number; score: number; box: number[] }[];
      }
    ).detections;
  const [onnx, tfjs] = [found('auto'), found('tfjs')];
  assert.ok(onnx.length > 1 && onnx.length === tfjs.length, `${onnx.length} and ${tfjs.length} detections`);
  onnx.forEach((d, i) => {
    const other = tfjs[i]!;
    assert.is(d.label, other.label);
    assert.ok(Math.abs(d.score - other.score) < 1e-4, `detection ${i}: score ${d.score} against ${other.score}`);
    d.box.forEach((v, k) => assert.ok(Math.abs(v - other.box[k]!) < 1e-3, `detection ${i}: box ${d.box} against ${other.box}`));
  });
});

test("an open-size detector at torchvision's natural size: --min-size 116 scales the 74×58 image by 2, the batch pads to 128×256, and boxes come back by those sides, alike on both engines", () => {
  const open = { ...detection, name: 'open_retinanet', input: { channels: 3 } };
  prepare(open, (weights) => {
    for (const name of ['head.classification_head.cls_logits', 'head.regression_head.bbox_reg']) fill(weights.get(`${name}.weight`)!, () => 0);
    fill(weights.get('head.classification_head.cls_logits.bias')!, (i) => (i % 91 === 3 ? 3 : -10));
    fill(weights.get('head.regression_head.bbox_reg.bias')!, () => 0);
  });
  writeImage('lane.png');
  const found = (['tfjs', 'onnx'] as const).map((runtime) => {
    const run = cli([
      'predict',
      'open_retinanet.json',
      '--weights',
      'open_retinanet.weights',
      '--out',
      `open-${runtime}`,
      '--runtime',
      runtime,
      '--min-size',
      '116',
      '--max-size',
      '400',
      'lane.png',
    ]);
    assert.is(run.status, 0, run.stderr);
    return JSON.parse(readFileSync(join(root, `open-${runtime}`, 'lane.detections.json'), 'utf8')) as { detections: { score: number; box: number[] }[] };
  });
  // min(116/58, 400/74) = 2 (PyTorch's float32 reciprocal of 58 times 116 rounds back to 2): 116 × 148, padded to
  // multiples of the spec's total stride, 128: 128 × 256. Level 0's first anchor (−6, −3, 6, 3), clipped to the
  // 148 × 116 the image fills, is (0, 0, 6, 3), and back by 74/148 and 58/116: (0, 0, 3, 1.5).
  for (const { detections } of found) {
    assert.ok(Math.abs(detections[0]!.score - 0.952574) < 1e-6, String(detections[0]!.score));
    detections[0]!.box.forEach((v, i) => assert.ok(Math.abs(v - [0, 0, 3, 1.5][i]!) < 1e-4, `box ${detections[0]!.box}`));
  }
  assert.is(found[0]!.detections.length, found[1]!.detections.length);
  const fixed = cli(['predict', 'tiny_retinanet.json', '--weights', 'tiny_retinanet.weights', '--min-size', '116', 'lane.png']);
  assert.is(fixed.status, 2);
  assert.match(
    fixed.stderr,
    /^netspec: --min-size and --max-size are for detectors and segmenters whose spec leaves the input size open; tiny_retinanet fixes its input at 37×29\n/,
  );
});

test.run();
