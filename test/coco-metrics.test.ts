// COCO box evaluation: pycocotools' own figures on seeded sets (committed in test/reference/pycocotools/, compared
// to the last bit), and tiny cases worked by hand for each rule — crowds, maxDets, area ranges, images without
// ground truth, categories without detections, score ties, IoUs exactly on a threshold.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CocoAnnotation, CocoDetection } from '../src/metrics/coco-evaluator.js';
import { CocoBoxEvaluator } from '../src/metrics/coco-evaluator.js';
import { cocoJson, formatCocoCategories, formatCocoStats } from '../src/metrics/coco-format.js';
import { IOU_THRESHOLDS, RECALL_THRESHOLDS } from '../src/metrics/coco-params.js';
import { evaluateCoco, type CocoEvaluation } from '../src/metrics/coco.js';
import { MetricsInputError } from '../src/metrics/input-error.js';
import { COCO_REFERENCE_SETS, cocoSet } from './support/coco-sets.js';

interface Reference {
  readonly source: string;
  readonly sha256: string;
  readonly stats: number[];
  readonly printed: string[];
  readonly categoryIds: number[];
  readonly categoryAP: number[];
  readonly categoryAP50: number[];
  readonly precisionAllAreas100: number[][][];
  readonly recall: number[][][][];
}

const [T, R, A, M] = [10, 101, 4, 3];
const precisionAt = (e: CocoEvaluation, t: number, r: number, k: number, a: number, m: number) =>
  e.accumulation.precision[(((t * R + r) * e.accumulation.categoryIds.length + k) * A + a) * M + m]!;
const recallAt = (e: CocoEvaluation, t: number, k: number, a: number, m: number) =>
  e.accumulation.recall[((t * e.accumulation.categoryIds.length + k) * A + a) * M + m]!;

let largestDifference = 0;
for (const [name, options] of Object.entries(COCO_REFERENCE_SETS)) {
  test(`pycocotools' figures on the seeded set "${name}", to the last bit`, () => {
    const reference = JSON.parse(readFileSync(`test/reference/pycocotools/${name}.json`, 'utf8')) as Reference;
    const set = cocoSet(options);
    // Evaluated from the same JSON text pycocotools read.
    const [gtText, dtText] = [JSON.stringify(set.groundTruth), JSON.stringify(set.detections)];
    assert.is(
      createHash('sha256').update(`${gtText}\n${dtText}`).digest('hex'),
      reference.sha256,
      'the generator no longer makes the data the reference was computed on',
    );
    const evaluation = evaluateCoco(JSON.parse(gtText), JSON.parse(dtText));
    const differences: number[] = [];
    const compare = (ours: number, theirs: number, what: string) => {
      differences.push(Math.abs(ours - theirs));
      if (!Object.is(ours, theirs)) assert.unreachable(`${what}: ${ours} against pycocotools' ${theirs}`);
    };
    assert.equal(evaluation.accumulation.categoryIds, reference.categoryIds);
    reference.stats.forEach((value, i) => compare(evaluation.stats[i]!, value, `stats[${i}]`));
    evaluation.categories.forEach((c, k) => {
      compare(c.ap, reference.categoryAP[k]!, `AP of category ${c.id}`);
      compare(c.ap50, reference.categoryAP50[k]!, `AP50 of category ${c.id}`);
    });
    reference.precisionAllAreas100.forEach((rows, t) =>
      rows.forEach((ks, r) => ks.forEach((value, k) => compare(precisionAt(evaluation, t, r, k, 0, 2), value, `precision[${t}, ${r}, ${k}, 0, 2]`))),
    );
    reference.recall.forEach((ks, t) =>
      ks.forEach((as, k) =>
        as.forEach((ms, a) => ms.forEach((value, m) => compare(recallAt(evaluation, t, k, a, m), value, `recall[${t}, ${k}, ${a}, ${m}]`))),
      ),
    );
    assert.is(formatCocoStats(evaluation.stats), reference.printed.map((line) => `${line}\n`).join(''));
    largestDifference = Math.max(largestDifference, ...differences);
    assert.is(differences.length, 12 + 2 * reference.categoryIds.length + T * R * reference.categoryIds.length + T * reference.categoryIds.length * A * M);
  });
}

test('the reference sets hold every case the rules distinguish', () => {
  const sets = Object.values(COCO_REFERENCE_SETS).map((options) => ({ ...cocoSet(options), options }));
  const all = <T>(pick: (set: (typeof sets)[number]) => readonly T[]) => sets.flatMap(pick);
  const annotations = all((s) => s.groundTruth.annotations);
  const detections = all((s) => s.detections);
  assert.ok(
    annotations.some((a) => a.iscrowd === 1),
    'crowds',
  );
  for (const [low, high] of [
    [0, 32 ** 2],
    [32 ** 2, 96 ** 2],
    [96 ** 2, Infinity],
  ])
    assert.ok(
      annotations.some((a) => a.iscrowd === 0 && a.area >= low! && a.area <= high!),
      `objects of area ${low}…${high}`,
    );
  assert.ok(
    annotations.some((a) => a.area !== a.bbox[2]! * a.bbox[3]!),
    'an area other than the box’s',
  );
  assert.ok(
    annotations.some((a) => a.id === 0),
    'annotation id 0',
  );
  assert.ok(detections.some((d) => d.bbox[2] === 0) && detections.some((d) => d.bbox[3]! < 0), 'boxes of zero and negative size');
  for (const set of sets) {
    const ids = set.groundTruth.images.map((image) => image.id);
    assert.not.equal(
      ids,
      [...ids].sort((a, b) => a - b),
      'image ids out of order',
    );
    assert.ok(
      ids.some((id) => !set.groundTruth.annotations.some((a) => a.image_id === id)),
      'an image without ground truth',
    );
    const last = set.groundTruth.categories.at(-1)!.id;
    assert.ok(
      set.groundTruth.annotations.some((a) => a.category_id === last) && !set.detections.some((d) => d.category_id === last),
      'a category without detections',
    );
    // Scores on a grid tie often; random-a keeps them continuous.
    if (set.options.scoreStep > 0) assert.ok(new Set(set.detections.map((d) => d.score)).size < set.detections.length / 2, 'score ties');
    const widths = new Map(set.groundTruth.images.map((image) => [image.id, image.width]));
    assert.ok(
      set.detections.some((d) => d.bbox[0]! + d.bbox[2]! > widths.get(d.image_id)!),
      'boxes past the image',
    );
  }
  const perImageAndCategory = new Map<string, number>();
  for (const d of detections) perImageAndCategory.set(`${d.image_id}/${d.category_id}`, (perImageAndCategory.get(`${d.image_id}/${d.category_id}`) ?? 0) + 1);
  assert.ok(
    [...perImageAndCategory.values()].some((n) => n > 100),
    'more than 100 detections of one category in an image',
  );
});

test('the largest difference from pycocotools over every reference figure is 0', () => {
  assert.is(largestDifference, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// Hand-worked cases. pycocotools divides by tp + fp + ε with ε = np.spacing(1) = 2⁻⁵², so a perfect precision is
// 1 / (1 + 2⁻⁵²) = 0.9999999999999998, not 1; at tp + fp ≥ 2 the ε vanishes in rounding (2 + 2⁻⁵² rounds to 2).

const PERFECT = 1 / (1 + Number.EPSILON);
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 1e-12, `${what}: ${actual}, expected ${expected}`);

let annotationId = 0;
const truth = (image_id: number, bbox: number[], options: { category?: number; area?: number; crowd?: boolean } = {}): CocoAnnotation => ({
  id: ++annotationId,
  image_id,
  category_id: options.category ?? 1,
  bbox,
  area: options.area ?? bbox[2]! * bbox[3]!,
  iscrowd: options.crowd ? 1 : 0,
});
const detection = (image_id: number, bbox: number[], score: number, category_id = 1): CocoDetection => ({ image_id, category_id, bbox, score });
const evaluate = (imageIds: number[], annotations: CocoAnnotation[], detections: CocoDetection[], categoryIds = [1]) =>
  evaluateCoco({ images: imageIds.map((id) => ({ id, width: 640, height: 480 })), annotations, categories: categoryIds.map((id) => ({ id })) }, detections);
// Indices into stats.
const [AP, AP50, AP75, AP_SMALL, AP_MEDIUM, AP_LARGE, AR1, AR10, AR100, AR_SMALL, AR_MEDIUM, AR_LARGE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

test('a perfect detection: precision 1/(1+ε) at every recall point, recall 1; no ground truth in an area range gives −1', () => {
  // One 10×10 object (area 100: small) found exactly. At every threshold: tp = [1], fp = [0], rc = [1],
  // pr = [1/(1+ε)]; every recall point r ≤ 1 reads pr[0].
  const e = evaluate([1], [truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 10], 0.9)]);
  for (const stat of [AP, AP50, AP75, AP_SMALL]) close(e.stats[stat]!, PERFECT, `stats[${stat}]`);
  for (const stat of [AR1, AR10, AR100, AR_SMALL]) assert.is(e.stats[stat], 1);
  // Medium and large: the object is outside the range, so ignored, and the detection that takes it is ignored
  // with it; with no regular ground truth the figures are −1.
  for (const stat of [AP_MEDIUM, AP_LARGE, AR_MEDIUM, AR_LARGE]) assert.is(e.stats[stat], -1);
});

test('a crowd is matched by intersection over the detection, any number of times, and is never a miss', () => {
  // Regular object g [0,0,20,20] and a crowd c [50,0,50,50]. Detections by score: two 10×10 boxes inside the
  // crowd (.95, .9), one exactly on g (.8), one on nothing (.6).
  // Crowd IoU of a box inside it: intersection 100 over the detection's own area 100 = 1 (as a union it would be
  // 100/2500 = 0.04: a false positive). Both take the crowd, so both are ignored.
  // Sequence: ignored, ignored, TP, FP → tp = [0,0,1,1], fp = [0,0,0,1], npig = 1 (the crowd is not counted):
  // rc = [0,0,1,1], pr = [0, 0, 1/(1+ε), 1/(2+ε) = 0.5], made monotone from the right → [1/(1+ε) ×3, 0.5].
  // Every recall point reads 1/(1+ε). Were the crowd detections false positives, pr at rc = 1 would be 1/3.
  const e = evaluate(
    [1],
    [truth(1, [0, 0, 20, 20]), truth(1, [50, 0, 50, 50], { crowd: true })],
    [detection(1, [60, 10, 10, 10], 0.95), detection(1, [70, 20, 10, 10], 0.9), detection(1, [0, 0, 20, 20], 0.8), detection(1, [0, 60, 10, 10], 0.6)],
  );
  close(e.stats[AP]!, PERFECT, 'AP');
  // Recall 1 of 1 regular object: the crowd is not a miss (counting it would give 1/2).
  assert.is(e.stats[AR100], 1);
  for (let r = 0; r < R; r++) close(precisionAt(e, 0, r, 0, 0, 2), PERFECT, `precision at recall point ${r}`);
});

test('ignored ground truth is tried last: a detection on a regular object and a crowd in the same place takes the object', () => {
  // The crowd is listed first, but the stable sort on the ignore flag puts it after g. The detection's IoU is 1
  // with g; m = g is a regular match, so the crowd behind it stops the search (it could not take the detection
  // from g even at an equal IoU, which among regular objects would go to the later one).
  const e = evaluate([1], [truth(1, [0, 0, 10, 10], { crowd: true }), truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 10], 0.9)]);
  assert.is(e.stats[AR100], 1);
  close(e.stats[AP]!, PERFECT, 'AP');
});

test('maxDets: AR@1, AR@10 and AR@100 count only the best 1, 10, 100 detections of each image and category', () => {
  // Three objects, each found exactly, scores .9 .8 .7. With 1 detection: 1 of 3 found, AR@1 = 1/3; with 10 and
  // 100 all three, AR = 1. (AR@1 is the mean of ten thirds, 0.33333333333333337 in doubles.)
  const e = evaluate(
    [1],
    [truth(1, [0, 0, 10, 10]), truth(1, [20, 0, 10, 10]), truth(1, [40, 0, 10, 10])],
    [detection(1, [0, 0, 10, 10], 0.9), detection(1, [20, 0, 10, 10], 0.8), detection(1, [40, 0, 10, 10], 0.7)],
  );
  close(e.stats[AR1]!, 1 / 3, 'AR@1');
  assert.is(e.stats[AR10], 1);
  assert.is(e.stats[AR100], 1);
});

test('a detection past the 100th of its image and category is dropped, however good', () => {
  // 100 boxes on nothing at score .9, then the exact box at .5: the 101st is cut before matching. The object is
  // never found: tp = 0 everywhere, rc = 0, precision 0 at r = 0 (pr[0] = 0/(1+ε)) and 0 past the last recall.
  const clutter = Array.from({ length: 100 }, (_, i) => detection(1, [100 + 3 * i, 300, 2, 2], 0.9));
  const dropped = evaluate([1], [truth(1, [0, 0, 10, 10])], [...clutter, detection(1, [0, 0, 10, 10], 0.5)]);
  assert.is(dropped.stats[AR100], 0);
  assert.is(dropped.stats[AP], 0);
  // With one box of clutter fewer, the exact box is the 100th: found, tp = [0×99, 1], fp = [1…99, 99], so
  // precision at recall 1 is 1/(99 + 1 + ε) = 0.01 and every recall point reads it after monotone filling.
  const kept = evaluate([1], [truth(1, [0, 0, 10, 10])], [...clutter.slice(1), detection(1, [0, 0, 10, 10], 0.5)]);
  assert.is(kept.stats[AR100], 1);
  close(kept.stats[AP]!, 0.01, 'AP');
});

test('each area range scores its own objects; unmatched detections outside the range are ignored', () => {
  // Objects: small s [0,0,20,20] (area 400 ≤ 32²), medium m [100,0,50,50] (2500), large l [200,0,100,100]
  // (10000 ≥ 96²). Detections: f [0,200,40,40] on nothing (area 1600, medium) at .95, exactly s at .9, exactly l
  // at .8; m is missed.
  const e = evaluate(
    [1],
    [truth(1, [0, 0, 20, 20]), truth(1, [100, 0, 50, 50]), truth(1, [200, 0, 100, 100])],
    [detection(1, [0, 200, 40, 40], 0.95), detection(1, [0, 0, 20, 20], 0.9), detection(1, [200, 0, 100, 100], 0.8)],
  );
  // all: FP, TP, TP; npig 3 → rc = [0, 1/3, 2/3], pr = [0, 1/2, 2/(3+ε) = 2/3] → monotone [2/3, 2/3, 2/3].
  // Recall points 0…0.66 (67 of 101) read 2/3, points 0.67…1 find no rc ≥ r and read 0: AP = 67·(2/3)/101.
  close(e.stats[AP]!, (67 * (2 / 3)) / 101, 'AP');
  close(e.stats[AR100]!, 2 / 3, 'AR');
  // small: only s is regular. f is unmatched and outside (1600 > 1024): ignored. The box on l takes l, which is
  // ignored here: ignored. Sequence: ignored, TP, ignored → precision 1/(1+ε) everywhere; recall 1.
  close(e.stats[AP_SMALL]!, PERFECT, 'AP small');
  assert.is(e.stats[AR_SMALL], 1);
  // medium: only m is regular and missed; f is inside the range and unmatched: FP; the others take ignored
  // objects. tp = 0 → AP 0, AR 0.
  assert.is(e.stats[AP_MEDIUM], 0);
  assert.is(e.stats[AR_MEDIUM], 0);
  // large: l regular and found; f is outside (1600 < 9216) and ignored; the box on s takes the ignored s.
  close(e.stats[AP_LARGE]!, PERFECT, 'AP large');
  assert.is(e.stats[AR_LARGE], 1);
});

test('an image without ground truth adds false positives; a category without detections scores 0; one with neither −1', () => {
  // Category 1: image 1 has an object found exactly at .5; image 2 has no object but a box at .9. By score: FP
  // (image 2), TP (image 1): tp = [0,1], fp = [1,1], rc = [0,1], pr = [0, 1/(2+ε) = 0.5] → monotone [0.5, 0.5];
  // every recall point reads 0.5. Category 2: an object in image 1, never detected: AP 0 (it has ground truth).
  // Category 3: in the list, with no objects and no detections: −1, left out of the means.
  const e = evaluate(
    [1, 2],
    [truth(1, [0, 0, 10, 10]), truth(1, [50, 50, 10, 10], { category: 2 })],
    [detection(1, [0, 0, 10, 10], 0.5), detection(2, [0, 0, 10, 10], 0.9)],
    [1, 2, 3],
  );
  assert.equal(
    e.categories.map((c) => [c.id, c.ap, c.ap50]),
    [
      [1, 0.5, 0.5],
      [2, 0, 0],
      [3, -1, -1],
    ],
  );
  // AP = mean over the defined entries: 1010 of 0.5 and 1010 of 0 → 0.25; AR = (1 + 0)/2 over 10 thresholds.
  close(e.stats[AP]!, 0.25, 'AP');
  close(e.stats[AR100]!, 0.5, 'AR');
  assert.match(formatCocoCategories(e), /^3 +n\/a +n\/a$/m);
});

test('score ties: images by ascending id, then each image in its input order', () => {
  // Two images, listed 2 then 1, one object each. Image 1's box is on nothing, image 2's is exact; both score .5.
  // Accumulation concatenates image 1 first, and the stable sort keeps it first: FP, TP → rc = [0, 1/2],
  // pr = [0, 1/2] → monotone [1/2, 1/2]; recall points 0…0.5 (51) read 1/2, the rest 0: AP = 51·0.5/101.
  // (Image 2 first would give TP, FP: pr[0] = 1/(1+ε) and AP = 51/101.)
  const across = evaluate(
    [2, 1],
    [truth(1, [0, 0, 10, 10]), truth(2, [0, 0, 10, 10])],
    [detection(2, [0, 0, 10, 10], 0.5), detection(1, [300, 300, 10, 10], 0.5)],
  );
  close(across.stats[AP]!, (51 * 0.5) / 101, 'AP across images');
  // Within one image: an exact box a and a half box b ([0,0,10,5], IoU 1/2), equal scores. Listed a, b: a takes
  // the object at every threshold, b is a FP after it → pr = [1/(1+ε), 1/2] → every point 1/(1+ε), AP = 1/(1+ε).
  const aFirst = evaluate([1], [truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 10], 0.5), detection(1, [0, 0, 10, 5], 0.5)]);
  close(aFirst.stats[AP]!, PERFECT, 'AP, exact box first');
  // Listed b, a: at IoU .50 b takes the object (TP, FP: 1/(1+ε)); at .55….95 b misses and a finds it (FP, TP:
  // pr = [0, 1/2] → 1/2 everywhere). AP = (1/(1+ε) + 9 · 1/2) / 10.
  const bFirst = evaluate([1], [truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 5], 0.5), detection(1, [0, 0, 10, 10], 0.5)]);
  close(bFirst.stats[AP]!, (PERFECT + 9 * 0.5) / 10, 'AP, half box first');
});

test('IoUs exactly on a threshold match it: 1/2 at .50 only, 3/4 up to .75', () => {
  // g = [0,0,10,10]. [0,0,10,5]: intersection 50, union 50 + 100 − 50 = 100, IoU 0.5 exactly — a match at .50
  // (IoU ≥ t), none at .55. [0,0,10,7.5]: 75/100 = 0.75 exactly, and the sixth threshold is exactly 0.75 (linspace
  // gives .5 + 5·(.45/9) = 0.75), so it matches .50 to .75.
  const half = evaluate([1], [truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 5], 0.9)]);
  close(half.stats[AP50]!, PERFECT, 'AP50 at IoU 1/2');
  assert.is(half.stats[AP75], 0);
  close(half.stats[AP]!, PERFECT / 10, 'AP at IoU 1/2: one threshold of ten');
  const threeQuarters = evaluate([1], [truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 7.5], 0.9)]);
  close(threeQuarters.stats[AP75]!, PERFECT, 'AP75 at IoU 3/4');
  close(threeQuarters.stats[AP]!, (6 * PERFECT) / 10, 'AP at IoU 3/4: six thresholds of ten');
  assert.is(recallAt(threeQuarters, 6, 0, 0, 2), 0, 'no match at 0.80');
  assert.equal(IOU_THRESHOLDS.slice(5, 9), [0.75, 0.8, 0.85, 0.8999999999999999]);
  assert.is(RECALL_THRESHOLDS[35], 0.35000000000000003);
});

test('the evaluator takes images one at a time, in any order, with the same figures', () => {
  const set = cocoSet(COCO_REFERENCE_SETS['small']!);
  const whole = evaluateCoco(set.groundTruth, set.detections);
  const evaluator = new CocoBoxEvaluator(set.groundTruth.categories.map((c) => c.id));
  for (const image of [...set.groundTruth.images].reverse()) {
    evaluator.addImage(
      image.id,
      set.groundTruth.annotations.filter((a) => a.image_id === image.id),
      set.detections.filter((d) => d.image_id === image.id),
    );
  }
  const accumulation = evaluator.accumulate();
  assert.equal([...accumulation.precision], [...whole.accumulation.precision]);
  assert.equal([...accumulation.recall], [...whole.accumulation.recall]);
});

test('pycocotools prints twelve lines; the JSON names the figures', () => {
  const e = evaluate([1], [truth(1, [0, 0, 10, 10])], [detection(1, [0, 0, 10, 10], 0.9)]);
  assert.is(
    formatCocoStats(e.stats),
    [
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000',
      ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000',
      ' Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000',
      '',
    ].join('\n'),
  );
  const json = cocoJson(e);
  assert.equal(Object.keys(json.stats), ['AP', 'AP50', 'AP75', 'APsmall', 'APmedium', 'APlarge', 'AR1', 'AR10', 'AR100', 'ARsmall', 'ARmedium', 'ARlarge']);
  assert.is(json.stats['APmedium'], -1);
  assert.equal(json.categories, [{ id: 1, name: null, ap: e.categories[0]!.ap, ap50: e.categories[0]!.ap50 }]);
});

test('input that cannot be scored is refused in one line naming the record', () => {
  const refused = (run: () => unknown, pattern: RegExp) => {
    try {
      run();
    } catch (error) {
      assert.instance(error, MetricsInputError);
      assert.match((error as Error).message, pattern);
      assert.not.match((error as Error).message, /\n/);
      return;
    }
    assert.unreachable('not refused');
  };
  refused(() => evaluate([1], [], [detection(2, [0, 0, 1, 1], 0.5)]), /detection 1: image_id 2 is not an image of the ground truth/);
  refused(() => evaluate([1], [], [detection(1, [0, 0, 1, 1], Number.NaN)]), /detection 1 of image 1: score is NaN/);
  refused(() => evaluate([1], [], [detection(1, [0, 0, Number.POSITIVE_INFINITY, 1], 0.5)]), /bbox is not four finite numbers/);
  refused(
    () =>
      evaluate(
        [1],
        [
          { ...truth(1, [0, 0, 1, 1]), id: 7 },
          { ...truth(1, [0, 0, 2, 2]), id: 7 },
        ],
        [],
      ),
    /annotation 7: the id is used twice/,
  );
  refused(() => evaluate([1], [{ ...truth(1, [0, 0, 1, 1]), area: Number.NaN }], []), /area is NaN/);
  refused(() => evaluate([1], [{ ...truth(1, [0, 0, 1, 1]), iscrowd: 2 }], []), /iscrowd is 2, not 0 or 1/);
});

test.run();
