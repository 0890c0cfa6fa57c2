// Training augmentations for detectors that move boxes with their images: scale jitter around the evaluation
// letterbox with a random crop and flip. Resizing is the project's PIL-exact resampler, so that
// with jitter off training sees the very bytes evaluation sees. Randomness comes in as a generator, so that a seeded
// run is reproducible. Plain TypeScript over typed arrays: it runs in Node, workers and pages alike.
import type { Placement } from '../runtime/images/pipeline.js';
import { checkSize, type Pixels } from '../runtime/images/pixels.js';
import { resample, type Interpolation } from '../runtime/images/resample.js';

/** A model's input size in pixels. */
export interface InputSize {
  readonly height: number;
  readonly width: number;
}

/** An image and its objects: boxes (x1, y1, x2, y2) in the image's pixels, four floats a box, and a label a box. */
export interface DetectionSample {
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

export interface AugmentedDetection extends DetectionSample {
  /** How the image was scaled and cut, before any flip: `filled` is the size of `pixels`. */
  readonly placement: Placement;
  /** Whether the pixels and boxes were mirrored across the width of `pixels`. */
  readonly flipped: boolean;
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
export function augmentDetection(sample: DetectionSample, input: InputSize, options: DetectionAugmentation, random: () => number): AugmentedDetection {
  checkDetection(sample, input, options);
  const image = sample.pixels;
  const [low, high] = options.scaleRange;
  const scale = Math.min(input.height / image.height, input.width / image.width) * (low + random() * (high - low));
  // As the letterbox rounds its filled size; a factor of 1 never outgrows the input, so this is its size exactly.
  const resized = { width: Math.max(1, Math.round(image.width * scale)), height: Math.max(1, Math.round(image.height * scale)) };
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
function movedBoxes(sample: DetectionSample, placement: Placement, flipped: boolean): { boxes: Float32Array; labels: Int32Array } {
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

function checkDetection(sample: DetectionSample, input: InputSize, options: DetectionAugmentation): void {
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
