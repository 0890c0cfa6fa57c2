/**
 * COCOeval's default parameters for boxes, built as pycocotools builds them: thresholds by `np.linspace`
 * (start + i·step, the last set to the stop exactly), so the ninth IoU threshold is 0.8999999999999999, not 0.9,
 * and detections are compared with the very same doubles.
 */

/** `np.linspace(start, stop, count)` with its endpoint. */
function linspace(start: number, stop: number, count: number): readonly number[] {
  const step = (stop - start) / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? stop : i * step + start));
}

/** IoU thresholds .50:.05:.95 (T = 10). */
export const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
/** Recall points 0:.01:1 (R = 101) at which precision is sampled. */
export const RECALL_THRESHOLDS = linspace(0, 1, 101);
/** Detections kept per image and category for each summary (M = 3), ascending. */
export const MAX_DETECTIONS = [1, 10, 100] as const;

export type AreaLabel = 'all' | 'small' | 'medium' | 'large';

/** Object sizes by area in pixels², both bounds inclusive (A = 4). */
export const AREA_RANGES: readonly { readonly label: AreaLabel; readonly low: number; readonly high: number }[] = [
  { label: 'all', low: 0, high: 1e5 ** 2 },
  { label: 'small', low: 0, high: 32 ** 2 },
  { label: 'medium', low: 32 ** 2, high: 96 ** 2 },
  { label: 'large', low: 96 ** 2, high: 1e5 ** 2 },
];
