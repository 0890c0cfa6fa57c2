/**
 * COCOeval.accumulate for one category: its images' detections in one list by descending score (stable, images
 * by ascending id, each image's in its own score order), cumulative true and false positives, precision made
 * monotone from the right and read at the recall points where `np.searchsorted(rc, recThrs, side='left')` puts
 * them (0 past the last recall reached), recall at the end of the list.
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
const A = AREA_RANGES.length;
const M = MAX_DETECTIONS.length;
// pycocotools divides by tp + fp + np.spacing(1), and the order of those additions shows in the last bit.
const SPACING_OF_ONE = Number.EPSILON;

/** Writes category k's precision and recall; settings without ground truth keep their −1. */
export function accumulateCategory(images: EvaluatedImages, k: number, K: number, precision: Float64Array, recall: Float64Array): void {
  const { detection, rank } = concatenated(images);
  const byScore = Int32Array.from(detection.keys()).sort((x, y) => images.scores[detection[y]!]! - images.scores[detection[x]!]! || x - y);
  const rc = new Float64Array(byScore.length);
  const pr = new Float64Array(byScore.length);
  MAX_DETECTIONS.forEach((maxDets, m) => {
    const kept = Int32Array.from(byScore.filter((position) => rank[position]! < maxDets), (position) => detection[position]!);
    for (let a = 0; a < A; a++) {
      let positives = 0;
      for (let i = 0; i < images.imageIds.length; i++) positives += images.positives[i * A + a]!;
      if (positives === 0) continue;
      for (let t = 0; t < T; t++) {
        const curve = curveAt(images.outcomes, kept, a, t, positives, rc, pr);
        recall[((t * K + k) * A + a) * M + m] = curve.recall;
        sampleAtRecallPoints(rc, pr, kept.length, (r, value) => (precision[(((t * R + r) * K + k) * A + a) * M + m] = value));
      }
    }
  });
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

/** Recall and precision after each detection of `kept` (ignored ones repeat the figures before them). */
function curveAt(outcomes: Uint8Array, kept: Int32Array, a: number, t: number, positives: number, rc: Float64Array, pr: Float64Array): { recall: number } {
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < kept.length; i++) {
    const outcome = outcomes[(kept[i]! * A + a) * T + t];
    if (outcome === TRUE_POSITIVE) tp++;
    else if (outcome === FALSE_POSITIVE) fp++;
    rc[i] = tp / positives;
    pr[i] = tp / (fp + tp + SPACING_OF_ONE);
  }
  return { recall: kept.length > 0 ? rc[kept.length - 1]! : 0 };
}

/** Precision made non-increasing from the right, then read at each recall point; 0 past the recall reached. */
function sampleAtRecallPoints(rc: Float64Array, pr: Float64Array, count: number, write: (r: number, value: number) => void): void {
  for (let i = count - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
  let i = 0;
  for (let r = 0; r < R; r++) {
    while (i < count && rc[i]! < RECALL_THRESHOLDS[r]!) i++;
    write(r, i < count ? pr[i]! : 0);
  }
}
