// Training augmentations for detectors and segmenters that move boxes and masks with their images: scale jitter
// around the evaluation letterbox with a random crop and flip for detection, and torchvision's segmentation training
// recipe (random resize, flip, padded random crop) for masks. Resizing is the project's PIL-exact resampler, so that
// with jitter off training sees the very bytes evaluation sees. Randomness comes in as a generator, so that a seeded
// run is reproducible. Plain TypeScript over typed arrays: it runs in Node, workers and pages alike.
import { IGNORE_INDEX } from '../data/dataset.js';
import { fitImage, type ImageGeometry, type Placement } from '../runtime/images/pipeline.js';
import { checkSize, type Pixels } from '../runtime/images/pixels.js';
import { resample, type Interpolation } from '../runtime/images/resample.js';

/** A model's input size in pixels. */
export interface InputSize {
  readonly height: number;
  readonly width: number;
}

/** An image and its objects: boxes (x1, y1, x2, y2) in the image's pixels, four floats a box, and a label a box. */
export interface ImageWithBoxes {
  readonly pixels: Pixels;
  readonly boxes: Float32Array;
  readonly labels: Int32Array;
}

export interface DetectionAugmentation {
  /** Mirror half of the samples left to right. */
  readonly horizontalFlip: boolean;
  /** The letterbox scale is multiplied by a factor drawn uniformly from this range; [1, 1] is off. */
  readonly scaleRange: readonly [number, number];
  /** The resampling filter, as the model's evaluation transform names it; bilinear unless given. */
  readonly interpolation?: Interpolation;
}

export interface AugmentedDetection extends ImageWithBoxes {
  /** How the image was scaled and cut, before any flip: `filled` is the size of `pixels`. */
  readonly placement: Placement;
  /** Whether the pixels and boxes were mirrored across the width of `pixels`. */
  readonly flipped: boolean;
}

/** An image and its class mask, one byte a pixel, the image's size, IGNORE_INDEX where no class is scored. */
export interface ImageWithMask {
  readonly pixels: Pixels;
  readonly mask: Uint8Array;
}

export interface SegmentationAugmentation {
  /**
   * The shorter side is resized to a whole number drawn from [max(1, ⌊base / 2⌋), 2 · base]. Unless given, base is
   * round(max(H, W) · 520 / 480), halves up: torchvision's 520 for its crop of 480, in proportion.
   */
  readonly baseSize?: number;
  /** The image's resampling filter (the mask's is always nearest); bilinear unless given. */
  readonly interpolation?: Interpolation;
}

/**
 * The letterbox of evaluation (`fitImage`: scaled to fit with the aspect kept, at the top left) with its scale
 * multiplied by a factor drawn from `scaleRange`. Where the scaled image outgrows the input, a window of the input's
 * size is cut at a uniformly drawn position; where it falls short, it sits at the top left and the rest of the input
 * is padding. Then, with `horizontalFlip`, it is mirrored with probability 0.5 across its own width.
 *
 * Returns only the filled pixels (their size is `placement.filled`, at most the input's), as `fitImage` does: the
 * caller pads the rest with zeros after normalisation, as `normalisePixels` does. The channels are the image's.
 *
 * Boxes move as the resampler moves the pixels (each axis scaled by output side / image side, less the crop), are
 * clipped to the pixels returned, and are dropped with their labels when narrower or shorter than 1 pixel after
 * clipping: torchvision's references keep any box with x2 > x1 and y2 > y1, but a sliver the crop left behind shows
 * nothing of its object, and regressing to it asks for log-size targets far below any anchor's. Boxes given with
 * x2 < x1 or y2 < y1 (which the data readers keep with a warning) are dropped by the same rule.
 *
 * Throws a RangeError for an empty image, pixels of the wrong length, a coordinate that is not finite, a label count
 * that does not match the boxes, or a scale range that is not 0 < low ≤ high.
 */
export function augmentDetection(sample: ImageWithBoxes, input: InputSize, options: DetectionAugmentation, random: () => number): AugmentedDetection {
  checkDetection(sample, input, options);
  const image = sample.pixels;
  const letterbox = Math.min(input.height / image.height, input.width / image.width);
  // As the letterbox rounds its filled size; a factor of 1 never outgrows the input, so this is its size exactly.
  const resized = (factor: number) => {
    const scale = letterbox * factor;
    return { width: Math.max(1, Math.round(image.width * scale)), height: Math.max(1, Math.round(image.height * scale)) };
  };
  return jitteredWindow(sample, input, resized, options, random);
}

/**
 * The same at an open-size model's natural size (`naturalSize` under the run's size policy), which is then both the
 * size the image is scaled to before the factor and the window cut from it: with a factor of 1 and no flip, these
 * are the very pixels and placement evaluation's natural-size fit gives.
 */
export function augmentDetectionAtSize(sample: ImageWithBoxes, natural: InputSize, options: DetectionAugmentation, random: () => number): AugmentedDetection {
  checkDetection(sample, natural, options);
  const resized = (factor: number) => ({
    width: Math.max(1, Math.round(natural.width * factor)),
    height: Math.max(1, Math.round(natural.height * factor)),
  });
  return jitteredWindow(sample, natural, resized, options, random);
}

/** The image scaled to `resized(factor)` for a factor drawn from the scale range, a window of `input` cut or padded, and the flip. */
function jitteredWindow(
  sample: ImageWithBoxes,
  input: InputSize,
  resizedBy: (factor: number) => InputSize,
  options: DetectionAugmentation,
  random: () => number,
): AugmentedDetection {
  const image = sample.pixels;
  const [low, high] = options.scaleRange;
  const resized = resizedBy(low + random() * (high - low));
  const left = Math.floor(random() * (Math.max(0, resized.width - input.width) + 1));
  const top = Math.floor(random() * (Math.max(0, resized.height - input.height) + 1));
  const filled = { width: Math.min(input.width, resized.width), height: Math.min(input.height, resized.height) };
  // Only the window kept is resampled: a large factor does not pay for the whole scaled image.
  const window = resample(image, { left: 0, top: 0, width: image.width, height: image.height }, resized.width, resized.height, {
    interpolation: options.interpolation ?? 'bilinear',
    rows: { first: top, count: filled.height },
    columns: { first: left, count: filled.width },
  });
  const placement: Placement = {
    source: { width: image.width, height: image.height },
    scaleX: resized.width / image.width,
    scaleY: resized.height / image.height,
    left,
    top,
    filled,
  };
  const flipped = options.horizontalFlip && random() < 0.5;
  return { pixels: flipped ? mirrored(window) : window, ...movedBoxes(sample, placement, flipped), placement, flipped };
}

/** The boxes through the placement and the flip, clipped to the filled part, those under a pixel across dropped. */
function movedBoxes(sample: ImageWithBoxes, placement: Placement, flipped: boolean): { boxes: Float32Array; labels: Int32Array } {
  const { scaleX, scaleY, left, top, filled } = placement;
  const boxes: number[] = [];
  const labels: number[] = [];
  for (let k = 0; k < sample.labels.length; k++) {
    const [x1, y1, x2, y2] = sample.boxes.subarray(4 * k, 4 * k + 4) as unknown as [number, number, number, number];
    const across = [clamp(x1 * scaleX - left, filled.width), clamp(x2 * scaleX - left, filled.width)] as const;
    const down = [clamp(y1 * scaleY - top, filled.height), clamp(y2 * scaleY - top, filled.height)] as const;
    if (across[1] - across[0] < 1 || down[1] - down[0] < 1) continue;
    const [from, to] = flipped ? [filled.width - across[1], filled.width - across[0]] : across;
    boxes.push(from, down[0], to, down[1]);
    labels.push(sample.labels[k]!);
  }
  return { boxes: Float32Array.from(boxes), labels: Int32Array.from(labels) };
}

const clamp = (value: number, limit: number) => Math.min(limit, Math.max(0, value));

function checkDetection(sample: ImageWithBoxes, input: InputSize, options: DetectionAugmentation): void {
  checkPixels(sample.pixels);
  checkSize('input', input.width, input.height);
  const [low, high] = options.scaleRange;
  if (!(low > 0 && low <= high && Number.isFinite(high))) throw new RangeError(`the scale range must be 0 < low ≤ high, got [${low}, ${high}]`);
  const { boxes, labels } = sample;
  if (boxes.length !== 4 * labels.length)
    throw new RangeError(`${labels.length} labels need ${4 * labels.length} box coordinates (x1, y1, x2, y2 each), got ${boxes.length}`);
  const bad = boxes.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new RangeError(`box ${bad >> 2} has the coordinate ${boxes[bad]}; box coordinates must be finite pixels`);
}

/** Throws a RangeError unless the image has a size and as many bytes as its size needs. */
function checkPixels(image: Pixels): void {
  checkSize('image', image.width, image.height);
  const expected = image.width * image.height * image.channels;
  if (image.data.length !== expected)
    throw new RangeError(`a ${image.width}×${image.height} image of ${image.channels} channels needs ${expected} bytes, got ${image.data.length}`);
}

/** The image mirrored left to right, as PIL's FLIP_LEFT_RIGHT mirrors it. */
function mirrored(image: Pixels): Pixels {
  const { width, height, channels, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * channels;
      out.set(data.subarray(from, from + channels), (y * width + width - 1 - x) * channels);
    }
  }
  return { width, height, channels, data: out };
}

/**
 * torchvision's segmentation training recipe (SegmentationPresetTrain of its references) with the model's input as
 * the crop: the shorter side resized to a whole number drawn uniformly from [max(1, ⌊base / 2⌋), 2 · base] and the
 * longer to ⌊size · long / short⌋ (the image with `interpolation`, the mask nearest as PIL picks), mirrored with
 * probability 0.5, padded at the bottom and right where smaller than the input (the image with 0, the mask with
 * IGNORE_INDEX), and a window of the input's height × width cut at a uniformly drawn position. torchvision's crop is square and pads
 * both sides once the shorter is short; this pads each side to its own length, which is the same for a square input.
 * The numbers drawn, in order: the size, the flip, the window's top, its left.
 *
 * Throws a RangeError for an empty image, pixels or a mask of the wrong length, or a base size not a whole number from 1.
 */
export function augmentSegmentation(sample: ImageWithMask, input: InputSize, random: () => number, options: SegmentationAugmentation = {}): ImageWithMask {
  checkSegmentation(sample, input, options);
  const image = sample.pixels;
  const base = options.baseSize ?? Math.round((Math.max(input.height, input.width) * 520) / 480);
  // torchvision would draw a side of 0 for a base of 1; the smallest image is a pixel.
  const smallest = Math.max(1, Math.floor(base / 2));
  const resized = shorterSideTo(image, smallest + Math.floor(random() * (2 * base - smallest + 1)));
  const flipped = random() < 0.5;
  const top = Math.floor(random() * (Math.max(0, resized.height - input.height) + 1));
  const left = Math.floor(random() * (Math.max(0, resized.width - input.width) + 1));
  const rows = { first: top, count: Math.min(input.height, resized.height - top) };
  const count = Math.min(input.width, resized.width - left);
  // The window is drawn on the mirrored image; these are the same columns before mirroring, so only they are resized.
  const columns = { first: flipped ? resized.width - left - count : left, count };
  const whole = { left: 0, top: 0, width: image.width, height: image.height };
  const pixels = resample(image, whole, resized.width, resized.height, { interpolation: options.interpolation ?? 'bilinear', rows, columns });
  const mask = nearestWindow({ width: image.width, height: image.height, channels: 1, data: sample.mask }, resized, rows, columns);
  const finish = (window: Pixels, fill: number) => padded(flipped ? mirrored(window) : window, input, fill);
  return { pixels: finish(pixels, 0), mask: finish(mask, IGNORE_INDEX).data };
}

/**
 * No augmentation: the image as evaluation fits it (`fitImage`'s letterbox, or its natural size within a batch of an
 * open-size model; only the filled pixels, which the caller pads with zeros after normalisation) and its mask
 * resized alike by nearest and padded to the input with IGNORE_INDEX, so that padding is never scored.
 */
export function fittedSegmentation(sample: ImageWithMask, geometry: Omit<ImageGeometry, 'channels'>): ImageWithMask {
  checkSegmentation(sample, geometry, {});
  const { pixels, placement } = fitImage(sample.pixels, { ...geometry, channels: sample.pixels.channels });
  const { filled } = placement;
  const plane = { width: sample.pixels.width, height: sample.pixels.height, channels: 1 as const, data: sample.mask };
  const mask = nearestWindow(plane, filled, { first: 0, count: filled.height }, { first: 0, count: filled.width });
  return { pixels, mask: padded(mask, geometry, IGNORE_INDEX).data };
}

/** The size torchvision's Resize(size) gives: the shorter side `size`, the longer scaled and truncated. */
function shorterSideTo(image: Pixels, size: number): InputSize {
  return image.width <= image.height
    ? { width: size, height: Math.trunc((size * image.height) / image.width) }
    : { width: Math.trunc((size * image.width) / image.height), height: size };
}

/** Rows and columns of `plane` resized to `size` as PIL's NEAREST resize picks its pixels, only the window kept. */
function nearestWindow(plane: Pixels, size: InputSize, rows: Span, columns: Span): Pixels {
  const ys = nearestSources(plane.height, size.height, rows);
  const xs = nearestSources(plane.width, size.width, columns);
  const data = new Uint8Array(rows.count * columns.count);
  for (let y = 0; y < rows.count; y++) {
    for (let x = 0; x < columns.count; x++) data[y * columns.count + x] = plane.data[ys[y]! * plane.width + xs[x]!]!;
  }
  return { width: columns.count, height: rows.count, channels: 1, data };
}

interface Span {
  readonly first: number;
  readonly count: number;
}

/**
 * The source index of each output position in `span`, as PIL's nearest scaling finds it: a position that starts at
 * half a step and grows by one step (input / output, a double) per pixel, truncated. Accumulating rather than
 * multiplying matters: the sums round differently and, where a position lands near a whole number, pick another pixel.
 */
function nearestSources(inSize: number, outSize: number, span: Span): Int32Array {
  const step = inSize / outSize;
  const sources = new Int32Array(span.count);
  let position = step * 0.5;
  for (let i = 0; i < span.first + span.count; i++, position += step) if (i >= span.first) sources[i - span.first] = Math.trunc(position);
  return sources;
}

/** The image at the top left of an input of `size`, the rest filled with `fill`. */
function padded(image: Pixels, size: InputSize, fill: number): Pixels {
  if (image.width === size.width && image.height === size.height) return image;
  const { channels } = image;
  const data = new Uint8Array(size.width * size.height * channels).fill(fill);
  for (let y = 0; y < image.height; y++) data.set(image.data.subarray(y * image.width * channels, (y + 1) * image.width * channels), y * size.width * channels);
  return { width: size.width, height: size.height, channels, data };
}

function checkSegmentation(sample: ImageWithMask, input: InputSize, options: SegmentationAugmentation): void {
  checkPixels(sample.pixels);
  checkSize('input', input.width, input.height);
  const { width, height } = sample.pixels;
  if (sample.mask.length !== width * height)
    throw new RangeError(`the mask has ${sample.mask.length} values for a ${width}×${height} image, which needs ${width * height}`);
  const { baseSize } = options;
  if (baseSize !== undefined && !(Number.isInteger(baseSize) && baseSize >= 1))
    throw new RangeError(`the base size must be a whole number from 1, got ${baseSize}`);
}
