// Pascal VOC AP at IoU 0.5 on a case worked by hand: difficult objects, a duplicate detection, an IoU of exactly
// 0.5 in VOC's inclusive pixel arithmetic, a class never detected and a class without objects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MetricsInputError } from '../src/metrics/input-error.js';
import { evaluateVoc, formatVoc, vocJson, type VocDetection, type VocObject } from '../src/metrics/voc.js';

const objects: VocObject[] = [
  // Image a: a cat 10×10 pixels (1…10 inclusive), and a difficult cat beside it.
  { imageId: 'a', className: 'cat', box: [1, 1, 10, 10] },
  { imageId: 'a', className: 'cat', box: [21, 1, 30, 10], difficult: true },
  // Image b: a cat 20×20, and a dog that is never detected.
  { imageId: 'b', className: 'cat', box: [1, 1, 20, 20] },
  { imageId: 'b', className: 'dog', box: [5, 5, 14, 14] },
];
const detections: VocDetection[] = [
  { imageId: 'a', className: 'cat', box: [1, 1, 10, 10], score: 0.9 },
  { imageId: 'a', className: 'cat', box: [21, 1, 30, 10], score: 0.8 },
  { imageId: 'a', className: 'cat', box: [1, 1, 10, 10], score: 0.7 },
  { imageId: 'b', className: 'cat', box: [1, 1, 20, 10], score: 0.6 },
];

test('AP with all-point interpolation, difficult objects ignored, +1 pixel widths, IoU 0.5 accepted', () => {
  const result = evaluateVoc(objects, detections, ['cat', 'dog', 'bird']);
  // cat: positives 2 (the difficult one is not counted). By score:
  //   .9 on the first cat, IoU 1: TP.
  //   .8 on the difficult cat: neither TP nor FP.
  //   .7 on the first cat again, already taken: FP.
  //   .6 [1,1,20,10] on the 20×20 cat: widths with +1 are 20 and 10, intersection 200, union 200 + 400 − 200 = 400,
  //      IoU exactly 0.5 ≥ 0.5: TP. (Without the +1: 19·9 / (19·19) = 0.47, a FP; with py-faster-rcnn's strict
  //      "> 0.5" a FP as well.)
  // tp = [1, 1, 1, 2], fp = [0, 0, 1, 1]; recall = [.5, .5, .5, 1], precision = [1, 1, .5, 2/3].
  // Framed: mrec = [0, .5, .5, .5, 1, 1], mpre = [0, 1, 1, .5, 2/3, 0] → monotone from the right
  // [1, 1, 1, 2/3, 2/3, 0]. Recall steps at i = 0 (0 → .5) and i = 3 (.5 → 1):
  // AP = (.5 − 0)·1 + (1 − .5)·(2/3) = 0.8333….
  const [cat, dog, bird] = result.classes;
  assert.equal(cat, { name: 'cat', ap: 0.5 + 0.5 * (2 / 3), positives: 2, detections: 4 });
  // dog: one object, no detection: AP 0. bird: no object at all: no AP, left out of the mean.
  assert.equal(dog, { name: 'dog', ap: 0, positives: 1, detections: 0 });
  assert.equal(bird, { name: 'bird', ap: null, positives: 0, detections: 0 });
  assert.is(result.mAP, (0.5 + 0.5 * (2 / 3) + 0) / 2);
  assert.is(formatVoc(result), 'AP for cat = 0.8333\nAP for dog = 0.0000\nAP for bird = n/a (no objects)\nMean AP = 0.4167\n');
  assert.equal(vocJson(result).mAP, result.mAP);
});

test('were the difficult object counted, recall would stop at 2/3', () => {
  // The same data with the difficult flag dropped: positives 3, and the .8 detection becomes a TP on it:
  // tp = [1, 2, 2, 3], fp = [0, 0, 1, 1] → recall [1/3, 2/3, 2/3, 1], precision [1, 1, 2/3, 3/4];
  // monotone [1, 1, 3/4, 3/4]; AP = (1/3)·1 + (1/3)·1 + (1/3)·(3/4) = 0.9166….
  const undifficult = objects.map((o) => ({ ...o, difficult: false }));
  const ap = evaluateVoc(undifficult, detections, ['cat']).classes[0]!.ap!;
  assert.ok(Math.abs(ap - (1 / 3 + 1 / 3 + 0.25)) < 1e-15, String(ap));
});

test('equal scores keep their input order; a box or score that is not finite is refused', () => {
  // Two detections of score .5 on one cat: the first listed is the TP, the second the FP.
  // Listed [miss, hit]: tp = [0, 1], fp = [1, 1] → precision [0, .5], recall [0, 1] → AP = 1·.5 = 0.5.
  // Listed [hit, miss]: tp = [1, 1], fp = [0, 1] → precision [1, .5], recall [1, 1] → AP = 1.
  const cat: VocObject[] = [{ imageId: 'a', className: 'cat', box: [1, 1, 10, 10] }];
  const hit = { imageId: 'a', className: 'cat', box: [1, 1, 10, 10], score: 0.5 };
  const miss = { imageId: 'a', className: 'cat', box: [50, 50, 60, 60], score: 0.5 };
  assert.is(evaluateVoc(cat, [miss, hit], ['cat']).classes[0]!.ap, 0.5);
  assert.is(evaluateVoc(cat, [hit, miss], ['cat']).classes[0]!.ap, 1);
  assert.throws(
    () => evaluateVoc(cat, [{ ...hit, score: Number.NaN }], ['cat']),
    (e: unknown) => e instanceof MetricsInputError && /detection 1 \(a\): score is NaN/.test(e.message),
  );
  assert.throws(
    () => evaluateVoc([{ ...cat[0]!, box: [1, 1, 10] }], [], ['cat']),
    (e: unknown) => e instanceof MetricsInputError && /object 1 \(a\): the box/.test(e.message),
  );
});

test.run();
