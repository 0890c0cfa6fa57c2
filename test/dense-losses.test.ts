// The training losses of detectors and segmenters against torchvision 0.14 run live: RetinaNet.compute_loss (its
// Matcher, box_iou, BoxCoder and sigmoid_focal_loss) and the segmentation reference's cross-entropy with ignore
// index 255 plus half the auxiliary head's, values and gradients, on batches built to sit on every edge: boxes at
// IoU 0.5 and 0.4 exactly, ties, low-quality matches (even at IoU 0), an image without boxes, masks of 255.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initBackend } from '../src/runtime/backends/node.js';
import { generateAnchors, retinanetDefaultAnchors } from '../src/runtime/tasks/detection.js';
import { anchorTargets, boxIou, encodeBoxes, matchAnchors } from '../src/train/dense/anchor-matching.js';
import { retinanetLoss } from '../src/train/dense/detection-loss.js';
import { segmentationLoss } from '../src/train/dense/segmentation-loss.js';
import { mulberry32 } from '../src/random/mulberry32.js';

const PYTHON = '/usr/bin/python3';
const CLASSES = 3;

interface DetectionImage {
  readonly boxes: number[];
  readonly labels: number[];
}

interface DetectionCase {
  readonly anchors: number[];
  readonly images: readonly DetectionImage[];
  readonly logits: number[];
  readonly regression: number[];
}

interface SegmentationCase {
  readonly shape: [number, number, number, number];
  readonly out: number[];
  readonly aux?: number[];
  readonly masks: number[];
}

/**
 * Anchors and boxes placed by hand, one situation each (IoUs worked out as intersection / union):
 * - A0 (0,0,10,10) and box (0,0,10,5): 50 / 100 = 0.5, the high threshold itself: foreground.
 * - box (40,0,50,10) is A2 exactly (IoU 1) and covers A3 (40,0,50,4) at 40 / 100 = 0.4, the low threshold: A3 is
 *   between the thresholds and, A2 being the box's best, stays so.
 * - box (20,0,30,4) meets A1 (20,0,30,10) at 40 / 100 = 0.4, its best: a low-quality match, made foreground.
 * - box (80,0,90,10) meets A4 (80,0,90,2) and A5 (80,8,90,10) at 20 / 100 = 0.2 each: a tie, both made foreground.
 * - two identical boxes of classes 1 and 2 on A6 (100,0,110,10): a tie across boxes, the first box's class wins.
 */
const HAND_ANCHORS = [0, 0, 10, 10, 20, 0, 30, 10, 40, 0, 50, 10, 40, 0, 50, 4, 80, 0, 90, 2, 80, 8, 90, 10, 100, 0, 110, 10];
const HAND_IMAGE: DetectionImage = {
  boxes: [0, 0, 10, 5, 40, 0, 50, 10, 20, 0, 30, 4, 80, 0, 90, 10, 100, 0, 110, 10, 100, 0, 110, 10],
  labels: [0, 1, 2, 0, 1, 2],
};

function randomNormal(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

function randomBoxes(random: () => number, count: number, size: number): DetectionImage {
  const boxes = Array.from({ length: count }, () => {
    const [x, y] = [random() * size * 0.8, random() * size * 0.8];
    return [x, y, x + 2 + random() * size * 0.4, y + 2 + random() * size * 0.4].map(Math.fround);
  }).flat();
  return { boxes, labels: Array.from({ length: count }, () => Math.floor(random() * CLASSES)) };
}

/** The cases: the hand-placed anchors, then torchvision's default anchors over a 64² input's P3 and P4. */
function detectionCases(): DetectionCase[] {
  const random = mulberry32(11);
  const outputs = (anchors: number, images: number) => ({
    logits: randomNormal(random, images * anchors * CLASSES).map((v) => v * 2 - 3),
    regression: randomNormal(random, images * anchors * 4).map((v) => v * 0.5),
  });
  const hand: DetectionCase = { anchors: HAND_ANCHORS, images: [HAND_IMAGE, { boxes: [], labels: [] }], ...outputs(7, 2) };
  const defaults = retinanetDefaultAnchors();
  const levels = generateAnchors(
    64,
    64,
    [
      { height: 8, width: 8 },
      { height: 4, width: 4 },
    ],
    { sizes: defaults.sizes.slice(0, 2), ratios: defaults.ratios.slice(0, 2) },
  );
  const anchors = [...levels[0]!, ...levels[1]!];
  const count = anchors.length / 4;
  // The third image's last box lies outside the input: its best IoU is 0, so every anchor it misses is "its best" and
  // takes back its own best box: torchvision's low-quality rule at IoU 0, kept as torchvision has it.
  const outside = randomBoxes(random, 2, 64);
  const grid: DetectionCase = {
    anchors,
    images: [randomBoxes(random, 3, 64), randomBoxes(random, 1, 64), { boxes: [...outside.boxes, 200, 200, 210, 210], labels: [...outside.labels, 1] }],
    ...outputs(count, 3),
  };
  return [hand, grid];
}

function segmentationCases(): SegmentationCase[] {
  const random = mulberry32(5);
  const make = (shape: [number, number, number, number], withAux: boolean, masks: number[]): SegmentationCase => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { shape, out: randomNormal(random, size), aux: withAux ? randomNormal(random, size) : undefined, masks };
  };
  const pixels = 2 * 5 * 7;
  const someIgnored = Array.from({ length: pixels }, () => (random() < 0.2 ? 255 : Math.floor(random() * 4)));
  // The second image all 255: the batch's mean is over the first image's scored pixels only.
  const oneImageIgnored = someIgnored.map((v, i) => (i >= pixels / 2 ? 255 : v));
  return [make([2, 5, 7, 4], true, someIgnored), make([2, 5, 7, 4], false, oneImageIgnored), make([1, 3, 3, 4], true, new Array(9).fill(255))];
}

const REFERENCE = `
import json, sys, types, torch
import torch.nn.functional as F
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead
from torchvision.models.detection._utils import Matcher
from torchvision.ops import box_iou
cases = json.load(open(sys.argv[1]))
head = RetinaNetHead(8, 1, ${CLASSES})
matcher = Matcher(0.5, 0.4, allow_low_quality_matches=True)
model = types.SimpleNamespace(head=head, proposal_matcher=matcher)
detection = []
for case in cases['detection']:
    anchors = torch.tensor(case['anchors'], dtype=torch.float32).reshape(-1, 4)
    n = len(case['images'])
    logits = torch.tensor(case['logits'], dtype=torch.float32).reshape(n, anchors.shape[0], -1).requires_grad_()
    regression = torch.tensor(case['regression'], dtype=torch.float32).reshape(n, anchors.shape[0], 4).requires_grad_()
    targets = [{'boxes': torch.tensor(i['boxes'], dtype=torch.float32).reshape(-1, 4), 'labels': torch.tensor(i['labels'], dtype=torch.int64)} for i in case['images']]
    losses = RetinaNet.compute_loss(model, targets, {'cls_logits': logits, 'bbox_regression': regression}, [anchors] * n)
    (losses['classification'] + losses['bbox_regression']).backward()
    iou = [box_iou(t['boxes'], anchors).flatten().tolist() for t in targets if len(t['boxes'])]
    matches = [matcher(box_iou(t['boxes'], anchors)).tolist() for t in targets if len(t['boxes'])]
    encoded = [model.head.regression_head.box_coder.encode_single(t['boxes'], anchors[:len(t['boxes'])]).flatten().tolist() for t in targets if len(t['boxes'])]
    detection.append({'classification': losses['classification'].item(), 'boxRegression': losses['bbox_regression'].item(),
        'logitsGrad': logits.grad.flatten().tolist(), 'regressionGrad': regression.grad.flatten().tolist(), 'iou': iou, 'matches': matches, 'encoded': encoded})
matrices = []
for case in cases['matrices']:
    m = torch.tensor(case['iou'], dtype=torch.float32).reshape(case['boxes'], -1)
    matrices.append(matcher(m).tolist())
segmentation = []
for case in cases['segmentation']:
    nhwc = lambda v: torch.tensor(v, dtype=torch.float32).reshape(case['shape']).permute(0, 3, 1, 2).contiguous().requires_grad_()
    out = nhwc(case['out'])
    masks = torch.tensor(case['masks'], dtype=torch.int64).reshape(case['shape'][:3])
    loss = F.cross_entropy(out, masks, ignore_index=255)
    result = {'out': loss.item()}
    total = loss
    if case.get('aux') is not None:
        aux = nhwc(case['aux'])
        aux_loss = F.cross_entropy(aux, masks, ignore_index=255)
        result['aux'] = aux_loss.item()
        total = loss + 0.5 * aux_loss
    result['total'] = total.item()
    if torch.isfinite(total):
        total.backward()
        result['outGrad'] = out.grad.permute(0, 2, 3, 1).flatten().tolist()
    segmentation.append(result)
print(json.dumps({'detection': detection, 'matrices': matrices, 'segmentation': segmentation}).replace('NaN', 'null'))
`;

/**
 * IoU matrices [boxes, anchors] for the matcher alone: thresholds met exactly, ties between boxes for an anchor and
 * between anchors for a box, a box whose best is 0.
 */
const MATRICES = [
  { boxes: 2, iou: [0.5, 0.4, 0.39, 0.1, 0.7, 0.2, 0.45, 0.45, 0.6, 0.3, 0.2, 0.2, 0.1, 0.05, 0.6, 0.6] },
  { boxes: 3, iou: [0, 0, 0, 0, 0.3, 0.3, 0.1, 0.2, 0.3, 0.3, 0.2, 0.1] },
];

let reference: {
  detection: {
    classification: number;
    boxRegression: number;
    logitsGrad: number[];
    regressionGrad: number[];
    iou: number[][];
    matches: number[][];
    encoded: number[][];
  }[];
  matrices: number[][];
  segmentation: { out: number; aux?: number; total: number | null; outGrad?: number[] }[];
};
const detection = detectionCases();
const segmentation = segmentationCases();

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  const dir = mkdtempSync(join(tmpdir(), 'netspec-losses-'));
  try {
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ detection, matrices: MATRICES, segmentation }));
    const run = spawnSync(PYTHON, ['-c', REFERENCE, join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`the PyTorch reference failed: ${run.stderr}`);
    reference = JSON.parse(run.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, relative = 1e-5): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(...Array.from(expected, Math.abs), 1e-12);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (diff > relative * scale) assert.unreachable(`${what}[${i}]: ${actual[i]} against PyTorch's ${expected[i]} (relative ${diff / scale})`);
  }
}

const boxesOf = (image: DetectionImage) => Float32Array.from(image.boxes);

test('box IoU, the matcher and the box encoding agree with torchvision exactly', () => {
  detection.forEach((c, k) => {
    const anchors = Float32Array.from(c.anchors);
    const withBoxes = c.images.filter((image) => image.labels.length > 0);
    withBoxes.forEach((image, i) => {
      const iou = boxIou(boxesOf(image), anchors);
      assert.equal([...iou], reference.detection[k]!.iou[i], `case ${k} image ${i}: IoU`);
      assert.equal([...matchAnchors(iou, image.labels.length)], reference.detection[k]!.matches[i], `case ${k} image ${i}: matches`);
      assertClose(
        encodeBoxes(boxesOf(image), anchors.subarray(0, image.boxes.length)),
        reference.detection[k]!.encoded[i]!,
        `case ${k} image ${i}: encoding`,
        1e-6,
      );
    });
  });
  MATRICES.forEach((m, k) => assert.equal([...matchAnchors(Float32Array.from(m.iou), m.boxes)], reference.matrices[k], `matrix ${k}`));
});

test('the hand-placed anchors match as worked out: 0.5 is foreground, 0.4 between, low-quality ties kept, the first box wins a tie', () => {
  const targets = anchorTargets(Float32Array.from(HAND_ANCHORS), boxesOf(HAND_IMAGE), Int32Array.from(HAND_IMAGE.labels));
  // A0 box 0 (class 0), A1 low quality → box 2 (class 2), A2 box 1 (class 1), A3 between (−2), A4 and A5 box 3
  // (class 0), A6 box 4 (class 1, not box 5's 2).
  assert.equal([...targets.classes], [0, 2, 1, -2, 0, 0, 1]);
  assert.is(targets.foreground, 6);
});

test("RetinaNet's loss and its gradients equal torchvision's compute_loss", () => {
  detection.forEach((c, k) => {
    const anchors = Float32Array.from(c.anchors);
    const count = anchors.length / 4;
    const targets = c.images.map((image) => anchorTargets(anchors, boxesOf(image), Int32Array.from(image.labels)));
    const logits = tf.tensor3d(c.logits, [c.images.length, count, CLASSES]);
    const regression = tf.tensor3d(c.regression, [c.images.length, count, 4]);
    const parts = retinanetLoss(logits, regression, targets);
    const [classification, boxRegression] = [parts.classification.dataSync()[0]!, parts.boxRegression.dataSync()[0]!];
    assertClose([classification], [reference.detection[k]!.classification], `case ${k}: classification loss`);
    assertClose([boxRegression], [reference.detection[k]!.boxRegression], `case ${k}: box loss`);
    const grads = tf.grads((l, r) => {
      const loss = retinanetLoss(l as tf.Tensor3D, r as tf.Tensor3D, targets);
      return loss.classification.add(loss.boxRegression);
    })([logits, regression]);
    assertClose(grads[0]!.dataSync(), reference.detection[k]!.logitsGrad, `case ${k}: logit gradients`);
    assertClose(grads[1]!.dataSync(), reference.detection[k]!.regressionGrad, `case ${k}: regression gradients`);
    tf.dispose([logits, regression, parts.classification, parts.boxRegression, ...grads]);
  });
});

test('the segmentation loss and its gradients equal cross_entropy(ignore_index=255) + 0.5 × aux; a batch all ignored gives 0, not NaN', () => {
  segmentation.forEach((c, k) => {
    const out = tf.tensor4d(c.out, c.shape);
    const aux = c.aux ? tf.tensor4d(c.aux, c.shape) : undefined;
    const masks = Uint8Array.from(c.masks);
    const loss = segmentationLoss(out, aux, masks);
    const expected = reference.segmentation[k]!;
    if (expected.total === null) {
      // PyTorch's mean over no scored pixels is 0 / 0.
      assert.is(loss.total.dataSync()[0], 0, `case ${k}: all ignored`);
    } else {
      assertClose([loss.out.dataSync()[0]!], [expected.out], `case ${k}: out`);
      if (expected.aux !== undefined) assertClose([loss.aux!.dataSync()[0]!], [expected.aux], `case ${k}: aux`);
      assertClose([loss.total.dataSync()[0]!], [expected.total], `case ${k}: total`);
      const [grad] = tf.grads((o) => segmentationLoss(o as tf.Tensor4D, aux, masks).total)([out]);
      assertClose(grad!.dataSync(), expected.outGrad!, `case ${k}: gradient of out`);
      grad!.dispose();
    }
    tf.dispose([out, aux, loss.out, loss.aux, loss.total].filter((t) => t !== undefined));
  });
});

test('a mask value beyond the head and not 255 is refused, naming both', () => {
  const out = tf.zeros([1, 1, 2, 3]) as tf.Tensor4D;
  assert.throws(() => segmentationLoss(out, undefined, Uint8Array.from([1, 7])), /class 7, but the head has 3 classes/);
  out.dispose();
});

test.run();
