// RetinaNet post-processing in plain TypeScript: anchors, box decoding, score selection and per-class NMS, with the
// semantics and float32 rounding of torchvision 0.14 (AnchorGenerator, BoxCoder with weights (1, 1, 1, 1),
// RetinaNet.postprocess_detections, batched_nms), one image at a time (decodeDetections) or a batch of a generated
// module's outputs (decodeBatch). Portable: no Node or tfjs code, only Float32Array arithmetic; tfjs and onnxruntime
// outputs are read through their types.
import type * as tf from '@tensorflow/tfjs';
import type { TypedOutput } from '../onnx/types.js';
import { boxesToImage, type Placement } from '../images/pipeline.js';

/** Anchor sizes and aspect ratios (height / width) per feature level, as torchvision's AnchorGenerator takes them. */
export interface AnchorOptions {
  readonly sizes: readonly (readonly number[])[];
  readonly ratios: readonly (readonly number[])[];
}

/**
 * One level's raw head outputs. classLogits is [height, width, anchorsPerLocation, classes] and boxRegression
 * [height, width, anchorsPerLocation, 4] holding (dx, dy, dw, dh): the channels-last flattening of a conv output
 * with A·K (or A·4) channels, which is torchvision's (h, w, a, k) order after its view and permute.
 */
export interface LevelOutput {
  readonly height: number;
  readonly width: number;
  readonly classLogits: Float32Array;
  readonly boxRegression: Float32Array;
}

export interface DetectionOptions {
  /** Keep scores strictly above this (compared in float32, as torch does). Default 0.05. */
  scoreThreshold?: number;
  /** Suppress a box whose IoU with a higher-scoring box of its class is strictly above this. Default 0.5. */
  nmsThreshold?: number;
  /** At most this many detections, highest scores first. Default 300. */
  detectionsPerImage?: number;
  /** At most this many candidates per level before NMS. Default 1000. */
  topkCandidates?: number;
  /**
   * Clip boxes to this region instead of the whole input: the image's own size when it was padded at the bottom and
   * right to the network's input, as torchvision clips to each image's size while its anchors stride over the batch.
   */
  clipTo?: { readonly height: number; readonly width: number };
}

/** Detections in descending score order; boxes are [n, 4] as (x1, y1, x2, y2) in input-image pixels. */
export interface Detections {
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  readonly labels: Int32Array;
}

interface LevelSize {
  readonly height: number;
  readonly width: number;
}

const f32 = Math.fround;
/** torchvision's bbox_xform_clip, log(1000 / 16), as the float32 that torch.clamp compares against. */
const BOX_EXP_CLIP = f32(Math.log(1000 / 16));
/** batched_nms on CPU offsets boxes by class (one NMS) up to 4000 coordinates and runs NMS per class above that. */
const COORDINATE_TRICK_LIMIT = 4000;

/** torchvision's _default_anchorgen: three octave scales of 32…512 (truncated to integers) and ratios 0.5, 1, 2. */
export function retinanetDefaultAnchors(): AnchorOptions {
  const sizes = [32, 64, 128, 256, 512].map((x) => [x, Math.trunc(x * 2 ** (1 / 3)), Math.trunc(x * 2 ** (2 / 3))]);
  return { sizes, ratios: sizes.map(() => [0.5, 1, 2]) };
}

export function anchorsPerLocation(anchors: AnchorOptions, level: number): number {
  validateAnchorOptions(anchors);
  if (!Number.isInteger(level) || level < 0 || level >= anchors.sizes.length) {
    throw new Error(`level ${level} is out of range: the anchor options have ${anchors.sizes.length} levels`);
  }
  return anchors.sizes[level]!.length * anchors.ratios[level]!.length;
}

/**
 * Anchors per level, [height·width·A, 4] as (x1, y1, x2, y2): for each location in row-major order, the level's
 * cell anchors (ratio-major, size-minor) shifted by the location times the stride, where the stride is the
 * image size integer-divided by the level size on each axis, as torchvision computes it.
 */
export function generateAnchors(imageHeight: number, imageWidth: number, levels: readonly LevelSize[], anchors: AnchorOptions): Float32Array[] {
  validateImageSize(imageHeight, imageWidth);
  validateAnchorOptions(anchors);
  validateLevelSizes(imageHeight, imageWidth, levels, anchors);
  return levels.map((level, index) => {
    const cell = cellAnchors(anchors.sizes[index]!, anchors.ratios[index]!);
    const strideY = Math.floor(imageHeight / level.height);
    const strideX = Math.floor(imageWidth / level.width);
    const count = cell.length / 4;
    const out = new Float32Array(level.height * level.width * cell.length);
    for (let y = 0; y < level.height; y++) {
      for (let x = 0; x < level.width; x++) {
        const base = (y * level.width + x) * count * 4;
        for (let i = 0; i < cell.length; i++) out[base + i] = cell[i]! + (i % 2 === 0 ? x * strideX : y * strideY);
      }
    }
    return out;
  });
}

/** Zero-centred anchors (−w/2, −h/2, w/2, h/2) rounded half to even, in float32 as torch.round sees them. */
function cellAnchors(sizes: readonly number[], ratios: readonly number[]): Float32Array {
  const out = new Float32Array(sizes.length * ratios.length * 4);
  let at = 0;
  for (const ratio of ratios) {
    const heightRatio = f32(Math.sqrt(f32(ratio)));
    const widthRatio = f32(1 / heightRatio);
    for (const size of sizes) {
      const halfWidth = f32(widthRatio * f32(size)) / 2;
      const halfHeight = f32(heightRatio * f32(size)) / 2;
      out.set([-halfWidth, -halfHeight, halfWidth, halfHeight].map(roundHalfEven), at);
      at += 4;
    }
  }
  return out;
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * RetinaNet's postprocess_detections for one image: per level, sigmoid scores above the threshold, the top
 * candidates (ties broken by the lower flat index), decoded against the anchors and clipped to the image; then
 * NMS per class over all levels and the highest-scoring detections (equal scores keep level, then rank, order).
 * The input size sets the anchor strides and, unless `clipTo` names the unpadded image inside it, the clipping.
 */
export function decodeDetections(
  levels: readonly LevelOutput[],
  imageHeight: number,
  imageWidth: number,
  anchors: AnchorOptions,
  options: DetectionOptions = {},
): Detections {
  const settings = resolveOptions(options);
  validateImageSize(imageHeight, imageWidth);
  validateAnchorOptions(anchors);
  validateLevelSizes(imageHeight, imageWidth, levels, anchors);
  const classes = validateLevelOutputs(levels, anchors);
  const levelAnchors = generateAnchors(imageHeight, imageWidth, levels, anchors);
  const clip = options.clipTo ?? { height: imageHeight, width: imageWidth };
  validateImageSize(clip.height, clip.width);
  const candidates: Candidate[] = [];
  levels.forEach((level, index) => {
    for (const pick of topCandidates(level.classLogits, settings.scoreThreshold, settings.topkCandidates)) {
      const anchor = Math.floor(pick.index / classes);
      const box = decodeBox(levelAnchors[index]!, level.boxRegression, anchor);
      candidates.push({ box: clipBox(box, clip.height, clip.width), score: pick.score, label: pick.index % classes });
    }
  });
  const keep = batchedNms(candidates, settings.nmsThreshold).slice(0, settings.detectionsPerImage);
  return {
    boxes: Float32Array.from(keep.flatMap((i) => candidates[i]!.box)),
    scores: Float32Array.from(keep, (i) => candidates[i]!.score),
    labels: Int32Array.from(keep, (i) => candidates[i]!.label),
  };
}

/** What a generated detection module exports as `detection`: its levels' sizes, anchors and decoding settings. */
export interface DetectionConfig extends Omit<DetectionOptions, 'clipTo'> {
  /** The network input's [height, width]. */
  readonly input: readonly [number, number];
  /** Each pyramid level's [height, width], lowest first. */
  readonly levels: readonly (readonly [number, number])[];
  readonly anchors: AnchorOptions;
}

/** A raw output as tfjs returns it, or as onnxruntime does (the same layout: the ONNX export keeps it). */
export type RawOutput = tf.Tensor | TypedOutput<readonly number[]>;

const valuesOf = (output: RawOutput) =>
  'dims' in output ? { shape: output.dims, data: output.data } : { shape: output.shape, data: output.dataSync() as Float32Array };

/**
 * Decodes a batch of RetinaNet outputs, [batch, anchors, classes] and [batch, anchors, 4] over all levels, into each
 * image's detections as torchvision's RetinaNet does. With `placements` (from the image pipeline) boxes are clipped to
 * the part of the input each image fills and returned in the image's own pixels; without, they are clipped to the
 * whole input and stay in input pixels.
 */
export function decodeBatch(classLogits: RawOutput, boxRegression: RawOutput, config: DetectionConfig, placements?: readonly Placement[]): Detections[] {
  const [scores, regression] = [valuesOf(classLogits), valuesOf(boxRegression)];
  const [batch, anchorCount, classes] = scores.shape as [number, number, number];
  const perLocation = config.anchors.sizes[0]!.length * config.anchors.ratios[0]!.length;
  const expected = config.levels.reduce((sum, [h, w]) => sum + h * w * perLocation, 0);
  if (anchorCount !== expected || regression.shape[1] !== expected || regression.shape[2] !== 4) {
    throw new Error(`the outputs hold ${anchorCount} anchors, but the levels ${config.levels.map((l) => l.join('×')).join(', ')} have ${expected}`);
  }
  const [logits, boxes] = [scores.data, regression.data];
  const [height, width] = config.input;
  return Array.from({ length: batch }, (_, image) => {
    let anchor = image * anchorCount;
    const levels = config.levels.map(([h, w]) => {
      const count = h * w * perLocation;
      const level = {
        height: h,
        width: w,
        classLogits: logits.subarray(anchor * classes, (anchor + count) * classes),
        boxRegression: boxes.subarray(anchor * 4, (anchor + count) * 4),
      };
      anchor += count;
      return level;
    });
    const placement = placements?.[image];
    const detections = decodeDetections(levels, height, width, config.anchors, { ...config, ...(placement ? { clipTo: placement.filled } : {}) });
    if (placement) boxesToImage(detections.boxes, placement);
    return detections;
  });
}

interface Candidate {
  readonly box: readonly number[];
  readonly score: number;
  readonly label: number;
}

/** torch's float32 sigmoid: 1 / (1 + exp(−x)), each step rounded to float32. */
function sigmoid32(logit: number): number {
  return f32(1 / f32(1 + f32(Math.exp(-logit))));
}

function topCandidates(logits: Float32Array, threshold: number, topk: number): { index: number; score: number }[] {
  const limit = f32(threshold);
  const passing: { index: number; score: number }[] = [];
  for (let i = 0; i < logits.length; i++) {
    const score = sigmoid32(logits[i]!);
    if (score > limit) passing.push({ index: i, score });
  }
  passing.sort((a, b) => b.score - a.score || a.index - b.index);
  return passing.slice(0, topk);
}

/** BoxCoder.decode_single with weights (1, 1, 1, 1), rounding to float32 after every tensor operation. */
function decodeBox(anchors: Float32Array, regression: Float32Array, anchor: number): number[] {
  const [x1, y1, x2, y2] = anchors.subarray(anchor * 4, anchor * 4 + 4);
  const [dx, dy, dw, dh] = regression.subarray(anchor * 4, anchor * 4 + 4);
  const width = f32(x2! - x1!);
  const height = f32(y2! - y1!);
  const centreX = f32(f32(dx! * width) + f32(x1! + f32(0.5 * width)));
  const centreY = f32(f32(dy! * height) + f32(y1! + f32(0.5 * height)));
  const halfWidth = f32(0.5 * f32(f32(Math.exp(Math.min(dw!, BOX_EXP_CLIP))) * width));
  const halfHeight = f32(0.5 * f32(f32(Math.exp(Math.min(dh!, BOX_EXP_CLIP))) * height));
  return [f32(centreX - halfWidth), f32(centreY - halfHeight), f32(centreX + halfWidth), f32(centreY + halfHeight)];
}

function clipBox(box: readonly number[], height: number, width: number): number[] {
  return box.map((value, i) => Math.min(Math.max(value, 0), i % 2 === 0 ? width : height));
}

/**
 * batched_nms: indices kept, in descending score order (ties by candidate index). Like torchvision on CPU, small
 * sets are offset by class × (max coordinate + 1) in float32 before the IoU, so rounding matches it there too.
 */
function batchedNms(candidates: readonly Candidate[], threshold: number): number[] {
  let boxes = candidates.map((c) => c.box);
  if (candidates.length * 4 <= COORDINATE_TRICK_LIMIT && candidates.length > 0) {
    const spacing = f32(Math.max(...boxes.flat()) + 1);
    boxes = candidates.map((c) => c.box.map((v) => f32(v + f32(c.label * spacing))));
  }
  const byScore = (a: number, b: number) => candidates[b]!.score - candidates[a]!.score || a - b;
  const perClass = new Map<number, number[]>();
  candidates.forEach((c, i) => {
    const members = perClass.get(c.label);
    if (members) members.push(i);
    else perClass.set(c.label, [i]);
  });
  const keep = [...perClass.values()].flatMap((members) => greedyNms(members.sort(byScore), boxes, threshold));
  return keep.sort(byScore);
}

/** Greedy NMS over indices already in descending score order: a box suppresses later ones with IoU > threshold. */
function greedyNms(order: readonly number[], boxes: readonly (readonly number[])[], threshold: number): number[] {
  const areas = order.map((i) => area(boxes[i]!));
  const suppressed = new Uint8Array(order.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    if (suppressed[a]) continue;
    keep.push(order[a]!);
    for (let b = a + 1; b < order.length; b++) {
      if (!suppressed[b] && iou32(boxes[order[a]!]!, boxes[order[b]!]!, areas[a]!, areas[b]!) > threshold) suppressed[b] = 1;
    }
  }
  return keep;
}

function area(box: readonly number[]): number {
  return f32(f32(box[2]! - box[0]!) * f32(box[3]! - box[1]!));
}

/** IoU in float32, the way torchvision's CPU kernel computes it (0/0 is NaN, which never suppresses). */
function iou32(a: readonly number[], b: readonly number[], areaA: number, areaB: number): number {
  const width = Math.max(0, f32(Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)));
  const height = Math.max(0, f32(Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!)));
  const intersection = f32(width * height);
  return f32(intersection / f32(f32(areaA + areaB) - intersection));
}

function resolveOptions(options: DetectionOptions): Required<Omit<DetectionOptions, 'clipTo'>> {
  const settings = { scoreThreshold: 0.05, nmsThreshold: 0.5, detectionsPerImage: 300, topkCandidates: 1000, ...options };
  if (!Number.isFinite(settings.scoreThreshold)) throw new Error(`scoreThreshold must be a finite number, got ${settings.scoreThreshold}`);
  if (!(settings.nmsThreshold >= 0 && settings.nmsThreshold <= 1)) throw new Error(`nmsThreshold must be between 0 and 1, got ${settings.nmsThreshold}`);
  for (const key of ['detectionsPerImage', 'topkCandidates'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new Error(`${key} must be a positive integer, got ${settings[key]}`);
  }
  return settings;
}

function validateImageSize(height: number, width: number): void {
  if (!isPositiveInteger(height) || !isPositiveInteger(width)) throw new Error(`the image size must be positive integers, got ${height}×${width}`);
}

function validateAnchorOptions(anchors: AnchorOptions): void {
  if (anchors.sizes.length === 0) throw new Error('the anchor options need at least one level');
  if (anchors.sizes.length !== anchors.ratios.length) {
    throw new Error(`the anchor options have ${anchors.sizes.length} levels of sizes but ${anchors.ratios.length} of ratios`);
  }
  anchors.sizes.forEach((sizes, level) => {
    const ratios = anchors.ratios[level]!;
    if (sizes.length === 0 || ratios.length === 0) throw new Error(`level ${level} needs at least one anchor size and one ratio`);
    if (![...sizes, ...ratios].every((v) => Number.isFinite(v) && v > 0)) throw new Error(`level ${level}: anchor sizes and ratios must be positive numbers`);
  });
}

function validateLevelSizes(imageHeight: number, imageWidth: number, levels: readonly LevelSize[], anchors: AnchorOptions): void {
  if (levels.length !== anchors.sizes.length) throw new Error(`got ${levels.length} feature levels but the anchor options have ${anchors.sizes.length}`);
  levels.forEach(({ height, width }, level) => {
    if (!isPositiveInteger(height) || !isPositiveInteger(width)) throw new Error(`level ${level}: the size must be positive integers, got ${height}×${width}`);
    if (height > imageHeight || width > imageWidth) throw new Error(`level ${level}: ${height}×${width} is larger than the ${imageHeight}×${imageWidth} image`);
  });
}

/** Checks the arrays against the level sizes and returns the number of classes, which every level must share. */
function validateLevelOutputs(levels: readonly LevelOutput[], anchors: AnchorOptions): number {
  const classCounts = levels.map((level, index) => {
    const perLocation = anchorsPerLocation(anchors, index);
    const grid = `${level.height}×${level.width}×${perLocation}`;
    const boxes = level.height * level.width * perLocation;
    if (level.boxRegression.length !== boxes * 4) {
      throw new Error(`level ${index}: boxRegression has ${level.boxRegression.length} values, expected ${grid}×4 = ${boxes * 4}`);
    }
    if (level.classLogits.length === 0 || level.classLogits.length % boxes !== 0) {
      throw new Error(`level ${index}: classLogits has ${level.classLogits.length} values, not a positive multiple of ${grid} anchors`);
    }
    return level.classLogits.length / boxes;
  });
  if (new Set(classCounts).size > 1) throw new Error(`the levels disagree on the number of classes: ${classCounts.join(', ')}`);
  return classCounts[0]!;
}

function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}
