/**
 * COCOeval.accumulate for one category: its images' detections in one list by descending score (stable, images
 * by ascending id, each image's in its own score order), cumulative true and false positives, precision made
 * monotone from the right and read at the recall points where `np.searchsorted(rc, recThrs, side='left')` puts
 * them (0 past the last recall reached), recall at the end of the list.
 *
 * pycocotools builds rc and pr at every detection; only the true positives change rc, and between two of them pr
 * only falls, so the figures it reads are those at the true positives (pr = tp / (fp + tp + ε) with the false
 * positives before each), and at the first detection for recall point 0. Those are the very same doubles; one
 * walk over the detections serves all ten thresholds.
 */
import { FALSE_POSITIVE, TRUE_POSITIVE } from './coco-image.js';
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETECTIONS, RECALL_THRESHOLDS } from './coco-params.js';

/** A category's evaluated images, as the evaluator keeps them. */
export interface EvaluatedImages {
  readonly imageIds: readonly number[];
  /** Per image: where its detections start and how many there are (score order, at most the largest maxDets). */
  readonly starts: readonly number[];
  readonly counts: readonly number[];
  /** Per image and area range: how much ground truth is not ignored. */
  readonly positives: Int32Array;
  readonly scores: Float64Array;
  /** Per detection, area range and threshold: FALSE_POSITIVE, TRUE_POSITIVE or IGNORED. */
  readonly outcomes: Uint8Array;
}

const T = IOU_THRESHOLDS.length;
const R = RECALL_THRESHOLDS.length;
// Module-local copies for the hot loops (an imported binding may be read through an accessor).
const RECALL_POINTS = Float64Array.from(RECALL_THRESHOLDS);
const [TP, FP] = [TRUE_POSITIVE, FALSE_POSITIVE];
const A = AREA_RANGES.length;
const M = MAX_DETECTIONS.length;
// pycocotools divides by tp + fp + np.spacing(1), and the order of those additions shows in the last bit.
const SPACING_OF_ONE = Number.EPSILON;

/** Writes category k's precision and recall; settings without ground truth keep their −1. */
export function accumulateCategory(images: EvaluatedImages, k: number, K: number, precision: Float64Array, recall: Float64Array): void {
  const { detection, rank } = concatenated(images);
  const byScore = descendingStableOrder(Float64Array.from(detection, (d) => images.scores[d]!));
  const kept = new Int32Array(byScore.length);
  for (let m = 0; m < M; m++) {
    const maxDets = MAX_DETECTIONS[m]!;
    let count = 0;
    for (const position of byScore) if (rank[position]! < maxDets) kept[count++] = detection[position]!;
    curvesOf(images, kept.subarray(0, count), k, K, m, precision, recall);
  }
}

/** The figures of one maxDets setting (index m), from its detections in score order. */
function curvesOf(images: EvaluatedImages, kept: Int32Array, k: number, K: number, m: number, precision: Float64Array, recall: Float64Array): void {
  for (let a = 0; a < A; a++) {
    let positives = 0;
    for (let i = 0; i < images.imageIds.length; i++) positives += images.positives[i * A + a]!;
    if (positives === 0) continue;
    const curves = curvesAt(images.outcomes, kept, a, positives);
    for (let t = 0; t < T; t++) {
      recall[((t * K + k) * A + a) * M + m] = kept.length > 0 ? curves.truePositives[t]! / positives : 0;
      const sampled = sampledPrecision(curves, t, positives, kept.length > 0);
      for (let r = 0; r < R; r++) precision[(((t * R + r) * K + k) * A + a) * M + m] = sampled[r]!;
    }
  }
}

/**
 * Positions 0…n−1 by descending key, equal keys in position order: numpy's `argsort(-keys, kind='mergesort')`. A
 * bottom-up merge sort over typed arrays.
 */
function descendingStableOrder(keys: Float64Array): Int32Array {
  const n = keys.length;
  let from = Int32Array.from({ length: n }, (_, i) => i);
  let to = new Int32Array(n);
  for (let width = 1; width < n; width *= 2) {
    for (let start = 0; start < n; start += 2 * width) {
      const middle = Math.min(start + width, n);
      const end = Math.min(start + 2 * width, n);
      let [i, j, out] = [start, middle, start];
      // Take from the right run only when its key is strictly larger, so that ties keep their order.
      while (i < middle && j < end) to[out++] = keys[from[j]!]! > keys[from[i]!]! ? from[j++]! : from[i++]!;
      while (i < middle) to[out++] = from[i++]!;
      while (j < end) to[out++] = from[j++]!;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** Every detection of the category, images by ascending id: its index in the stored arrays and its rank in its image. */
function concatenated(images: EvaluatedImages): { detection: Int32Array; rank: Int32Array } {
  const imageOrder = [...images.imageIds.keys()].sort((x, y) => images.imageIds[x]! - images.imageIds[y]!);
  const total = images.counts.reduce((sum, count) => sum + count, 0);
  const detection = new Int32Array(total);
  const rank = new Int32Array(total);
  let position = 0;
  for (const image of imageOrder) {
    for (let d = 0; d < images.counts[image]!; d++, position++) {
      detection[position] = images.starts[image]! + d;
      rank[position] = d;
    }
  }
  return { detection, rank };
}

interface Curves {
  /** Per threshold: true positives in all. */
  readonly truePositives: Int32Array;
  /** Per threshold t, at t · (positives + 1) + c: the precision when the c-th true positive comes. */
  readonly precisionAtHit: Float64Array;
}

/** One pass over the detections in score order, all thresholds at once. */
function curvesAt(outcomes: Uint8Array, kept: Int32Array, a: number, positives: number): Curves {
  const truePositives = new Int32Array(T);
  const falsePositives = new Int32Array(T);
  const precisionAtHit = new Float64Array(T * (positives + 1));
  for (let i = 0; i < kept.length; i++) {
    const base = (kept[i]! * A + a) * T;
    for (let t = 0; t < T; t++) {
      const outcome = outcomes[base + t];
      if (outcome === TP) {
        const tp = ++truePositives[t]!;
        precisionAtHit[t * (positives + 1) + tp] = tp / (falsePositives[t]! + tp + SPACING_OF_ONE);
      } else if (outcome === FP) falsePositives[t]!++;
    }
  }
  return { truePositives, precisionAtHit };
}

/**
 * Precision at each recall point: for point r the first detection where rc = tp / positives reaches r — the c-th
 * true positive for the least such c, or the first detection for r = 0 — and the largest precision from there on,
 * which is the largest at the true positives from there on (the first detection, when not a true positive, has
 * precision 0). 0 where rc never reaches r, and everywhere without detections.
 */
function sampledPrecision(curves: Curves, t: number, positives: number, anyDetection: boolean): Float64Array {
  const hits = curves.truePositives[t]!;
  const offset = t * (positives + 1);
  const best = new Float64Array(hits + 2);
  for (let c = hits; c >= 1; c--) best[c] = Math.max(curves.precisionAtHit[offset + c]!, best[c + 1]!);
  const sampled = new Float64Array(R);
  if (!anyDetection) return sampled;
  sampled[0] = hits > 0 ? best[1]! : 0;
  let c = 1;
  for (let r = 1; r < R; r++) {
    while (c <= hits && c / positives < RECALL_POINTS[r]!) c++;
    if (c > hits) break;
    sampled[r] = best[c]!;
  }
  return sampled;
}
