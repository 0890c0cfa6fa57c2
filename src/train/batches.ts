import type { ImageSet } from '../data/image-set.js';
import { UserError } from '../errors/user-error.js';
import type { Pixels } from '../runtime/images/pixels.js';
import { resample, type Box } from '../runtime/images/resample.js';
import { mulberry32 } from '../random/mulberry32.js';

/** Per-channel mean and standard deviation of the training pixels (scaled to [0, 1]), the input normalisation. */
export interface Normalization {
  readonly mean: number[];
  readonly std: number[];
}

export interface Augmentation {
  /** Zero-pad by this many pixels on every side, then crop a random window of the original size (0: off). */
  readonly cropPadding: number;
  /** Mirror half of the images left to right. */
  readonly horizontalFlip: boolean;
  /** First take torchvision's RandomResizedCrop (25–100% of the area, aspect 3/4–4/3) of the stored image, resized back to its size. */
  readonly resizedCrop?: boolean;
  /** Detectors: the letterbox's scale times a factor drawn from this range, then cropped or padded to the input. */
  readonly scaleRange?: readonly [number, number];
  /** Segmenters: torchvision's reference recipe (random resize 0.5–2× of the base size, flip, crop padded with 255). */
  readonly segmentationRecipe?: boolean;
}

export const NO_AUGMENTATION: Augmentation = { cropPadding: 0, horizontalFlip: false };

/**
 * The statistics torchvision's Normalize would be given for this training set. A channel of one value in every pixel
 * has no deviation to divide by: torchvision's Normalize refuses a deviation of 0 (division by zero), and so does
 * this, in one line naming the channel, before a run writes weights that every command would refuse.
 */
export function measureNormalization(set: ImageSet): Normalization {
  const sums = new Float64Array(set.channels);
  const squares = new Float64Array(set.channels);
  const lowest = new Uint8Array(set.channels).fill(255);
  const highest = new Uint8Array(set.channels);
  for (let i = 0; i < set.images.length; i++) {
    const byte = set.images[i]!;
    const value = byte / 255;
    const channel = i % set.channels;
    sums[channel] = sums[channel]! + value;
    squares[channel] = squares[channel]! + value * value;
    if (byte < lowest[channel]!) lowest[channel] = byte;
    if (byte > highest[channel]!) highest[channel] = byte;
  }
  const constant = [...lowest].findIndex((low, c) => low === highest[c]);
  if (set.images.length > 0 && constant >= 0) {
    throw new UserError(
      `cannot train on these images: channel ${constant} holds the value ${lowest[constant]} in every pixel, so its standard deviation is 0 and ` +
        "normalising divides by zero (torchvision's Normalize refuses it too); drop the channel from the spec's input or use images that vary in it",
    );
  }
  const pixels = set.images.length / set.channels;
  const mean = [...sums].map((s) => s / pixels);
  // Rounding can leave E[x²] − E[x]² a hair below zero for a near-constant channel.
  return { mean, std: [...squares].map((s, c) => Math.sqrt(Math.max(0, s / pixels - mean[c]! ** 2))) };
}

/**
 * The indices of `limit` images drawn from every class in proportion to its size (largest remainders get the
 * rounding, ties to the lower class), each class's drawn by a shuffle seeded by `seed`, in ascending order: a
 * limited run sees every class, where the first `limit` images of a folder sorted by class would see the first few.
 */
export function stratifiedSample(labels: ArrayLike<number>, classes: number, limit: number, seed: number): Int32Array {
  if (limit >= labels.length) return Int32Array.from({ length: labels.length }, (_, i) => i);
  const members: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) members[labels[i]!]?.push(i);
  const exact = members.map((list) => (limit * list.length) / labels.length);
  const quota = exact.map(Math.floor);
  const byRemainder = exact.map((_, c) => c).sort((a, b) => exact[b]! - quota[b]! - (exact[a]! - quota[a]!) || a - b);
  const left = limit - quota.reduce((sum, q) => sum + q, 0);
  for (let k = 0; k < left; k++) quota[byRemainder[k]!]! += 1;
  const random = randomFor(seed, 3);
  const picked: number[] = [];
  members.forEach((list, c) => {
    // A partial Fisher–Yates shuffle: the first quota[c] places are a uniform draw.
    for (let i = 0; i < quota[c]!; i++) {
      const j = i + Math.floor(random() * (list.length - i));
      [list[i], list[j]] = [list[j]!, list[i]!];
      picked.push(list[i]!);
    }
  });
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** The images of `set` at `indices`, in that order, as a set of their own. */
export function subsetOf(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    images.set(set.images.subarray(indices[k]! * size, (indices[k]! + 1) * size), k * size);
    labels[k] = set.labels[indices[k]!]!;
  }
  return { ...set, images, labels, count: indices.length };
}

/** The training images a run uses: all of them, or with a limit below their count a stratified, seeded sample. */
export function limitedSet(set: ImageSet, limit: number | null, seed: number): ImageSet {
  return limit === null || limit >= set.count ? set : subsetOf(set, stratifiedSample(set.labels.subarray(0, set.count), set.classes, limit, seed));
}

/** A seeded generator for one purpose at one point of training, so that a resumed run draws the same numbers. */
export function randomFor(seed: number, ...position: number[]): () => number {
  let state = seed >>> 0;
  for (const p of position) state = (Math.imul(state ^ (p + 0x9e3779b9), 0x85ebca6b) + 0x27d4eb2f) >>> 0;
  return mulberry32(state);
}

/** The order of the training images in an epoch: a Fisher–Yates shuffle seeded by (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const random = randomFor(seed, 1, epoch);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * The normalised NHWC float batch of the images at `indices`, augmented as PyTorch's RandomCrop(padding) and
 * RandomHorizontalFlip would (padding pixels are zero before normalisation), with their labels.
 */
export function assembleBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  normalization: Normalization,
  augmentation: Augmentation = NO_AUGMENTATION,
  random: () => number = Math.random,
): { images: Float32Array; labels: Int32Array } {
  const { height, width, channels } = set;
  const imageSize = height * width * channels;
  const images = new Float32Array(indices.length * imageSize);
  const labels = new Int32Array(indices.length);
  const pad = augmentation.cropPadding;
  const scale = normalization.std.map((s) => 1 / (255 * s));
  const shift = normalization.mean.map((m, c) => -m / normalization.std[c]!);
  for (let b = 0; b < indices.length; b++) {
    const stored = set.images.subarray(indices[b]! * imageSize, (indices[b]! + 1) * imageSize);
    const pixels = augmentation.resizedCrop ? resizedCrop(stored, set, random) : stored;
    labels[b] = set.labels[indices[b]!]!;
    const dy = pad > 0 ? Math.floor(random() * (2 * pad + 1)) - pad : 0;
    const dx = pad > 0 ? Math.floor(random() * (2 * pad + 1)) - pad : 0;
    const flip = augmentation.horizontalFlip && random() < 0.5;
    for (let y = 0; y < height; y++) {
      const sy = y + dy;
      for (let x = 0; x < width; x++) {
        const sx = (flip ? width - 1 - x : x) + dx;
        const target = b * imageSize + (y * width + x) * channels;
        const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
        for (let c = 0; c < channels; c++) {
          const pixel = inside ? pixels[(sy * width + sx) * channels + c]! : 0;
          images[target + c] = pixel * scale[c]! + shift[c]!;
        }
      }
    }
  }
  return { images, labels };
}

/** A random resized crop of one stored image, at the stored size. */
function resizedCrop(data: Uint8Array, set: ImageSet, random: () => number): Uint8Array {
  const image = { width: set.width, height: set.height, channels: set.channels as Pixels['channels'], data };
  return resample(image, randomResizedCropBox(set.width, set.height, random), set.width, set.height).data;
}

/**
 * torchvision's RandomResizedCrop box: ten tries at an area of `scale` of the image's and an aspect ratio between
 * 3/4 and 4/3 (uniform in its logarithm), else the whole image clamped to that ratio.
 */
export function randomResizedCropBox(width: number, height: number, random: () => number, scale: readonly [number, number] = [0.25, 1]): Box {
  const area = width * height;
  const logRatio = [Math.log(3 / 4), Math.log(4 / 3)] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + random() * (scale[1] - scale[0]));
    const ratio = Math.exp(logRatio[0] + random() * (logRatio[1] - logRatio[0]));
    const w = Math.round(Math.sqrt(targetArea * ratio));
    const h = Math.round(Math.sqrt(targetArea / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: Math.floor(random() * (width - w + 1)), top: Math.floor(random() * (height - h + 1)), width: w, height: h };
    }
  }
  const ratio = width / height;
  const w = ratio < 3 / 4 ? width : ratio > 4 / 3 ? Math.round(height * (4 / 3)) : width;
  const h = ratio < 3 / 4 ? Math.round(width / (3 / 4)) : height;
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}
