import type { ImageSet } from '../data/image-set.js';
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
}

export const NO_AUGMENTATION: Augmentation = { cropPadding: 0, horizontalFlip: false };

/** The statistics torchvision's Normalize would be given for this training set. */
export function measureNormalization(set: ImageSet): Normalization {
  const sums = new Float64Array(set.channels);
  const squares = new Float64Array(set.channels);
  for (let i = 0; i < set.images.length; i++) {
    const value = set.images[i]! / 255;
    const channel = i % set.channels;
    sums[channel] = sums[channel]! + value;
    squares[channel] = squares[channel]! + value * value;
  }
  const pixels = set.images.length / set.channels;
  const mean = [...sums].map((s) => s / pixels);
  return { mean, std: [...squares].map((s, c) => Math.sqrt(s / pixels - mean[c]! ** 2)) };
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
