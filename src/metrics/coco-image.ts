/**
 * COCOeval.evaluateImg for boxes: one image and one category, matched greedily at every IoU threshold and for
 * every area range. The rules, all pycocotools': detections in score order (ties keep their input order), at most
 * the largest maxDets of them; ground truth that is a crowd or outside the area range is "ignored" and tried last;
 * a detection takes the unmatched ground truth of highest IoU at or above the threshold (the later one on a tie),
 * but never trades a regular match for an ignored one; crowds may be matched any number of times; a detection
 * matched to ignored ground truth, or unmatched and outside the area range, is ignored.
 */
import { AREA_RANGES, IOU_THRESHOLDS } from './coco-params.js';

/** A box [x, y, width, height] in pixels. */
export type Box = readonly number[];

export interface GroundTruthBox {
  readonly id: number;
  readonly bbox: Box;
  /** The annotation's own `area`, which decides its size range (not the box's width × height). */
  readonly area: number;
  readonly crowd: boolean;
}

export interface DetectionBox {
  readonly bbox: Box;
  readonly score: number;
}

/** What a detection counts as at one threshold and area range. */
export const FALSE_POSITIVE = 0;
export const TRUE_POSITIVE = 1;
export const IGNORED = 2;

const THRESHOLDS = IOU_THRESHOLDS.length;
const AREAS = AREA_RANGES.length;
// pycocotools starts the search at min(t, 1 − 1e-10), so a perfect match still has to reach just below 1.
const STARTING_IOU = IOU_THRESHOLDS.map((t) => Math.min(t, 1 - 1e-10));

/** The outcomes of one image and category, written where the caller keeps them. */
export interface OutcomeSink {
  /** Outcomes of detection d: AREAS × THRESHOLDS values, area-major. */
  readonly outcomes: Uint8Array;
  /** Where detection 0's outcomes start in `outcomes`. */
  readonly offset: number;
  /** Ground truth not ignored, per area range. */
  readonly positives: Int32Array;
}

/**
 * maskUtils.iou for boxes (common/maskApi.c's bbIou): intersection over union, or over the detection's own area
 * when the ground truth is a crowd. Zero unless the boxes overlap with positive width and height.
 */
export function boxIou(detection: Box, truth: Box, crowd: boolean): number {
  const [dx, dy, dw, dh] = detection as [number, number, number, number];
  const [gx, gy, gw, gh] = truth as [number, number, number, number];
  const width = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
  if (width <= 0) return 0;
  const height = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
  if (height <= 0) return 0;
  const intersection = width * height;
  const detectionArea = dw * dh;
  return intersection / (crowd ? detectionArea : detectionArea + gw * gh - intersection);
}

/** Matches `detections` (already in score order and cut to maxDets) against `truths` and writes the outcomes. */
export function evaluateImageCategory(truths: readonly GroundTruthBox[], detections: readonly DetectionBox[], sink: OutcomeSink): void {
  const ious = new Float64Array(detections.length * truths.length);
  detections.forEach((d, i) => truths.forEach((g, j) => (ious[i * truths.length + j] = boxIou(d.bbox, g.bbox, g.crowd))));
  const detectionAreas = detections.map((d) => d.bbox[2]! * d.bbox[3]!);
  AREA_RANGES.forEach(({ low, high }, a) => {
    const ignored = truths.map((g) => g.crowd || g.area < low || g.area > high);
    // Regular ground truth first, ignored after, each in input order: numpy's stable argsort of the flags.
    const order = [...truths.keys()].sort((x, y) => Number(ignored[x]) - Number(ignored[y]) || x - y);
    sink.positives[a] = ignored.filter((flag) => !flag).length;
    for (let t = 0; t < THRESHOLDS; t++) {
      const taken = new Uint8Array(truths.length);
      detections.forEach((_, d) => {
        const match = bestMatch(ious, d, truths, order, ignored, taken, STARTING_IOU[t]!);
        let outcome: number;
        if (match === -1) {
          const outside = detectionAreas[d]! < low || detectionAreas[d]! > high;
          outcome = outside ? IGNORED : FALSE_POSITIVE;
        } else {
          taken[match] = 1;
          const truth = order[match]!;
          // pycocotools records the match as the ground truth's id, and reads an id of 0 as no match at all.
          const counted = truths[truth]!.id !== 0;
          const outside = !counted && (detectionAreas[d]! < low || detectionAreas[d]! > high);
          outcome = ignored[truth] || outside ? IGNORED : counted ? TRUE_POSITIVE : FALSE_POSITIVE;
        }
        sink.outcomes[sink.offset + (d * AREAS + a) * THRESHOLDS + t] = outcome;
      });
    }
  });
}

/** The position in `order` of the ground truth detection d matches at one threshold, or −1. */
function bestMatch(
  ious: Float64Array,
  d: number,
  truths: readonly GroundTruthBox[],
  order: readonly number[],
  ignored: readonly boolean[],
  taken: Uint8Array,
  startingIou: number,
): number {
  let best = startingIou;
  let match = -1;
  for (let j = 0; j < order.length; j++) {
    const g = order[j]!;
    if (taken[j] && !truths[g]!.crowd) continue;
    // Once matched to regular ground truth, the ignored ones behind it cannot take the detection.
    if (match > -1 && !ignored[order[match]!] && ignored[g]) break;
    const iou = ious[d * truths.length + g]!;
    if (iou < best) continue;
    best = iou;
    match = j;
  }
  return match;
}
