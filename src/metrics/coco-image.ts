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
// pycocotools starts the search at min(t, 1 − 1e-10); the cap matters only for a threshold of 1, kept for fidelity.
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

/** Working arrays reused from one image and category to the next, grown as needed. */
let scratch = {
  ious: new Float64Array(1024),
  detectionAreas: new Float64Array(128),
  ignored: new Uint8Array(64),
  order: new Int32Array(64),
  taken: new Uint8Array(64),
};

function scratchFor(detections: number, truths: number): typeof scratch {
  if (scratch.ious.length < detections * truths || scratch.detectionAreas.length < detections || scratch.ignored.length < truths) {
    const [d, g] = [Math.max(detections, scratch.detectionAreas.length), Math.max(truths, scratch.ignored.length)];
    scratch = {
      ious: new Float64Array(Math.max(d * g, scratch.ious.length)),
      detectionAreas: new Float64Array(d),
      ignored: new Uint8Array(g),
      order: new Int32Array(g),
      taken: new Uint8Array(g),
    };
  }
  return scratch;
}

/** Matches `detections` (already in score order and cut to maxDets) against `truths` and writes the outcomes. */
export function evaluateImageCategory(truths: readonly GroundTruthBox[], detections: readonly DetectionBox[], sink: OutcomeSink): void {
  const [G, D] = [truths.length, detections.length];
  const { ious, detectionAreas, ignored, order, taken } = scratchFor(D, G);
  for (let d = 0; d < D; d++) for (let g = 0; g < G; g++) ious[d * G + g] = boxIou(detections[d]!.bbox, truths[g]!.bbox, truths[g]!.crowd);
  for (let d = 0; d < D; d++) detectionAreas[d] = detections[d]!.bbox[2]! * detections[d]!.bbox[3]!;
  for (let a = 0; a < AREAS; a++) {
    const { low, high } = AREA_RANGES[a]!;
    let regular = 0;
    for (let g = 0; g < G; g++) {
      const { crowd, area } = truths[g]!;
      ignored[g] = crowd || area < low || area > high ? 1 : 0;
      regular += 1 - ignored[g]!;
    }
    sink.positives[a] = regular;
    // Regular ground truth first, ignored after, each in input order: numpy's stable argsort of the flags.
    let [front, back] = [0, regular];
    for (let g = 0; g < G; g++) order[ignored[g] ? back++ : front++] = g;
    for (let t = 0; t < THRESHOLDS; t++) {
      for (let g = 0; g < G; g++) taken[g] = 0;
      for (let d = 0; d < D; d++) {
        const match = G === 0 ? -1 : bestMatch(ious, d, truths, order, ignored, taken, STARTING_IOU[t]!);
        const outside = detectionAreas[d]! < low || detectionAreas[d]! > high;
        let outcome = outside ? IGNORED : FALSE_POSITIVE;
        if (match !== -1) {
          taken[match] = 1;
          const truth = order[match]!;
          // pycocotools records the match as the ground truth's id, and reads an id of 0 as no match at all.
          const counted = truths[truth]!.id !== 0;
          outcome = ignored[truth] || (!counted && outside) ? IGNORED : counted ? TRUE_POSITIVE : FALSE_POSITIVE;
        }
        sink.outcomes[sink.offset + (d * AREAS + a) * THRESHOLDS + t] = outcome;
      }
    }
  }
}

/** The position in `order` of the ground truth detection d matches at one threshold, or −1. */
function bestMatch(
  ious: Float64Array,
  d: number,
  truths: readonly GroundTruthBox[],
  order: Int32Array,
  ignored: Uint8Array,
  taken: Uint8Array,
  startingIou: number,
): number {
  let best = startingIou;
  let match = -1;
  for (let j = 0; j < truths.length; j++) {
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
