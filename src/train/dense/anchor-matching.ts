// RetinaNet's training targets as torchvision 0.14 computes them, in float32 as torch rounds each step: the IoU of
// every ground-truth box with every anchor (box_ops.box_iou), each anchor's match (Matcher(0.5, 0.4,
// allow_low_quality_matches=True)), and the regression target of each matched anchor (BoxCoder, weights 1, 1, 1, 1).
// Portable: typed arrays only; the loss itself is in detection-loss.ts.

const f32 = Math.fround;

/** An anchor whose best IoU is below the low threshold: background. */
export const BELOW_LOW_THRESHOLD = -1;
/** An anchor between the thresholds: neither foreground nor background, left out of the classification loss. */
export const BETWEEN_THRESHOLDS = -2;

export interface MatcherThresholds {
  readonly high: number;
  readonly low: number;
  readonly allowLowQualityMatches: boolean;
}

/** RetinaNet's matcher: foreground from IoU 0.5, background below 0.4, and every box's best anchors kept. */
export const RETINANET_MATCHER: MatcherThresholds = { high: 0.5, low: 0.4, allowLowQualityMatches: true };

/**
 * The IoU matrix [boxes, anchors], row-major, of boxes and anchors given as (x1, y1, x2, y2), four floats each: each
 * area, the clamped intersection and the union in float32, in the order box_iou adds and subtracts them.
 */
export function boxIou(boxes: Float32Array, anchors: Float32Array): Float32Array {
  const [m, n] = [boxes.length / 4, anchors.length / 4];
  const out = new Float32Array(m * n);
  const area = (b: Float32Array, i: number) => f32(f32(b[4 * i + 2]! - b[4 * i]!) * f32(b[4 * i + 3]! - b[4 * i + 1]!));
  const anchorAreas = Float32Array.from({ length: n }, (_, j) => area(anchors, j));
  for (let i = 0; i < m; i++) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
    const boxArea = area(boxes, i);
    for (let j = 0; j < n; j++) {
      const w = Math.max(0, f32(Math.min(x2, anchors[4 * j + 2]!) - Math.max(x1, anchors[4 * j]!)));
      const h = Math.max(0, f32(Math.min(y2, anchors[4 * j + 3]!) - Math.max(y1, anchors[4 * j + 1]!)));
      const inter = f32(w * h);
      out[i * n + j] = f32(inter / f32(f32(boxArea + anchorAreas[j]!) - inter));
    }
  }
  return out;
}

/**
 * Each anchor's matched box index, or BELOW_LOW_THRESHOLD / BETWEEN_THRESHOLDS, from an IoU matrix [boxes, anchors]:
 * the best box per anchor (the first on ties, as torch's max over a dimension picks on CPU), thresholded; then, with
 * low-quality matches allowed, every anchor that is some box's best (ties included, even at IoU 0) gets back its own
 * best box, as torchvision's set_low_quality_matches_ does. An image without boxes matches nothing.
 */
export function matchAnchors(iou: Float32Array, boxes: number, thresholds: MatcherThresholds = RETINANET_MATCHER): Int32Array {
  if (boxes === 0) return new Int32Array(0);
  const anchors = iou.length / boxes;
  const best = new Int32Array(anchors);
  const bestIou = new Float32Array(anchors).fill(-Infinity);
  for (let i = 0; i < boxes; i++) {
    for (let j = 0; j < anchors; j++) {
      if (iou[i * anchors + j]! > bestIou[j]!) [bestIou[j], best[j]] = [iou[i * anchors + j]!, i];
    }
  }
  // torch compares a float32 tensor with a Python float in float32.
  const [low, high] = [f32(thresholds.low), f32(thresholds.high)];
  const matches = best.map((box, j) => (bestIou[j]! < low ? BELOW_LOW_THRESHOLD : bestIou[j]! < high ? BETWEEN_THRESHOLDS : box));
  if (!thresholds.allowLowQualityMatches) return matches;
  for (let i = 0; i < boxes; i++) {
    let highest = -Infinity;
    for (let j = 0; j < anchors; j++) highest = Math.max(highest, iou[i * anchors + j]!);
    for (let j = 0; j < anchors; j++) if (iou[i * anchors + j] === highest) matches[j] = best[j]!;
  }
  return matches;
}

/**
 * The regression targets (dx, dy, dw, dh) of boxes against anchors, four floats per pair, as BoxCoder.encode_single
 * with weights (1, 1, 1, 1) computes them: centres and sizes in float32, then the offsets over the anchor's size and
 * the log of the size ratios.
 */
export function encodeBoxes(boxes: Float32Array, anchors: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const anchorWidth = f32(anchors[i + 2]! - anchors[i]!);
    const anchorHeight = f32(anchors[i + 3]! - anchors[i + 1]!);
    const anchorX = f32(anchors[i]! + f32(0.5 * anchorWidth));
    const anchorY = f32(anchors[i + 1]! + f32(0.5 * anchorHeight));
    const width = f32(boxes[i + 2]! - boxes[i]!);
    const height = f32(boxes[i + 3]! - boxes[i + 1]!);
    const x = f32(boxes[i]! + f32(0.5 * width));
    const y = f32(boxes[i + 1]! + f32(0.5 * height));
    out[i] = f32(f32(x - anchorX) / anchorWidth);
    out[i + 1] = f32(f32(y - anchorY) / anchorHeight);
    out[i + 2] = f32(Math.log(f32(width / anchorWidth)));
    out[i + 3] = f32(Math.log(f32(height / anchorHeight)));
  }
  return out;
}

/** One image's targets over all anchors: the class of each foreground anchor, and its regression target. */
export interface AnchorTargets {
  /** Per anchor: the matched box's class (≥ 0), BELOW_LOW_THRESHOLD (background) or BETWEEN_THRESHOLDS (ignored). */
  readonly classes: Int32Array;
  /** Per anchor, four floats: the regression target of a foreground anchor, zeros elsewhere. */
  readonly regression: Float32Array;
  readonly foreground: number;
}

/** One image's anchor targets from its boxes (x1, y1, x2, y2) and their classes; without boxes, every anchor is background. */
export function anchorTargets(
  anchors: Float32Array,
  boxes: Float32Array,
  labels: Int32Array,
  thresholds: MatcherThresholds = RETINANET_MATCHER,
): AnchorTargets {
  const count = anchors.length / 4;
  const classes = new Int32Array(count).fill(BELOW_LOW_THRESHOLD);
  const regression = new Float32Array(count * 4);
  if (labels.length === 0) return { classes, regression, foreground: 0 };
  const matches = matchAnchors(boxIou(boxes, anchors), labels.length, thresholds);
  const foreground = matches.reduce((n, match) => n + (match >= 0 ? 1 : 0), 0);
  const pairs = { boxes: new Float32Array(foreground * 4), anchors: new Float32Array(foreground * 4) };
  const where: number[] = [];
  matches.forEach((match, j) => {
    classes[j] = match >= 0 ? labels[match]! : match;
    if (match < 0) return;
    pairs.boxes.set(boxes.subarray(4 * match, 4 * match + 4), 4 * where.length);
    pairs.anchors.set(anchors.subarray(4 * j, 4 * j + 4), 4 * where.length);
    where.push(j);
  });
  const encoded = encodeBoxes(pairs.boxes, pairs.anchors);
  where.forEach((j, k) => regression.set(encoded.subarray(4 * k, 4 * k + 4), 4 * j));
  return { classes, regression, foreground };
}
