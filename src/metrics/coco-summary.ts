/**
 * COCOeval.summarize for boxes: the twelve figures, each the mean of the accumulated precision (or recall) entries
 * above −1 in one slice, −1 when none is; and the same means per category. Means are numpy's (see numpy-sum.ts),
 * over the entries in numpy's C order, so the figures are pycocotools' to the last bit.
 */
import type { CocoAccumulation } from './coco-evaluator.js';
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETECTIONS, RECALL_THRESHOLDS, type AreaLabel } from './coco-params.js';
import { numpyMean } from './numpy-sum.js';

/** One of the twelve summary lines: AP or AR at an IoU (or over .50:.95), an area range and a maxDets. */
export interface CocoStatDefinition {
  readonly name: string;
  readonly kind: 'precision' | 'recall';
  /** 0.5 or 0.75, or undefined for the mean over all ten thresholds. */
  readonly iou: number | undefined;
  readonly area: AreaLabel;
  readonly maxDets: number;
}

const [ONE, TEN, HUNDRED] = MAX_DETECTIONS;

/** The twelve figures in pycocotools' `stats` order. */
export const COCO_STATS: readonly CocoStatDefinition[] = [
  { name: 'AP', kind: 'precision', iou: undefined, area: 'all', maxDets: HUNDRED },
  { name: 'AP50', kind: 'precision', iou: 0.5, area: 'all', maxDets: HUNDRED },
  { name: 'AP75', kind: 'precision', iou: 0.75, area: 'all', maxDets: HUNDRED },
  { name: 'APsmall', kind: 'precision', iou: undefined, area: 'small', maxDets: HUNDRED },
  { name: 'APmedium', kind: 'precision', iou: undefined, area: 'medium', maxDets: HUNDRED },
  { name: 'APlarge', kind: 'precision', iou: undefined, area: 'large', maxDets: HUNDRED },
  { name: 'AR1', kind: 'recall', iou: undefined, area: 'all', maxDets: ONE },
  { name: 'AR10', kind: 'recall', iou: undefined, area: 'all', maxDets: TEN },
  { name: 'AR100', kind: 'recall', iou: undefined, area: 'all', maxDets: HUNDRED },
  { name: 'ARsmall', kind: 'recall', iou: undefined, area: 'small', maxDets: HUNDRED },
  { name: 'ARmedium', kind: 'recall', iou: undefined, area: 'medium', maxDets: HUNDRED },
  { name: 'ARlarge', kind: 'recall', iou: undefined, area: 'large', maxDets: HUNDRED },
];

export interface CocoCategoryFigures {
  readonly id: number;
  /** AP@[.50:.95] over all areas with 100 detections; −1 without ground truth. */
  readonly ap: number;
  /** AP at IoU .50, likewise. */
  readonly ap50: number;
}

export interface CocoSummary {
  /** pycocotools' `stats`: AP, AP50, AP75, AP small/medium/large, AR 1/10/100, AR small/medium/large; −1 where no ground truth. */
  readonly stats: readonly number[];
  /** Per category, by ascending id. */
  readonly categories: readonly CocoCategoryFigures[];
}

const R = RECALL_THRESHOLDS.length;
const A = AREA_RANGES.length;
const M = MAX_DETECTIONS.length;

export function summarizeCoco(accumulation: CocoAccumulation): CocoSummary {
  const all = [...accumulation.categoryIds.keys()];
  const stats = COCO_STATS.map((stat) => statistic(accumulation, stat, all));
  const categories = accumulation.categoryIds.map((id, k) => ({
    id,
    ap: statistic(accumulation, COCO_STATS[0]!, [k]),
    ap50: statistic(accumulation, COCO_STATS[1]!, [k]),
  }));
  return { stats, categories };
}

/** One figure over the categories `ks`: pycocotools' `_summarize`, whose slice is read in C order (t, r, k). */
export function statistic(accumulation: CocoAccumulation, stat: CocoStatDefinition, ks: readonly number[]): number {
  const K = accumulation.categoryIds.length;
  const a = AREA_RANGES.findIndex((range) => range.label === stat.area);
  const m = MAX_DETECTIONS.indexOf(stat.maxDets as (typeof MAX_DETECTIONS)[number]);
  // pycocotools picks the threshold with `iouThr == p.iouThrs`: exact equality with the linspace values.
  const thresholds = stat.iou === undefined ? [...IOU_THRESHOLDS.keys()] : [IOU_THRESHOLDS.indexOf(stat.iou)].filter((t) => t >= 0);
  const defined: number[] = [];
  const take = (value: number) => {
    if (value > -1) defined.push(value);
  };
  for (const t of thresholds) {
    if (stat.kind === 'precision') {
      for (let r = 0; r < R; r++) for (const k of ks) take(accumulation.precision[(((t * R + r) * K + k) * A + a) * M + m]!);
    } else {
      for (const k of ks) take(accumulation.recall[((t * K + k) * A + a) * M + m]!);
    }
  }
  return defined.length === 0 ? -1 : numpyMean(defined);
}
