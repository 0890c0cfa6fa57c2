// Training batches of a detector or a segmenter, read from the dataset's files a batch at a time (nothing is held
// beyond the batch): each image decoded, augmented with its boxes or mask, normalised as the image pipeline
// normalises it, and its targets made — anchor targets for RetinaNet, the mask at the input's size for a segmenter.
import type { CategoryMapping } from '../../data/categories.js';
import { IGNORE_INDEX, type DetectionDataset, type DetectionObjects, type SegmentationDataset } from '../../data/dataset.js';
import { DataFileError } from '../../data/data-file-error.js';
import { convertChannels } from '../../runtime/images/pixels.js';
import { batchTransform, naturalSize, normalisePixels, type ImageTransform } from '../../runtime/images/pipeline.js';
import { generateAnchors, type DetectionConfig } from '../../runtime/tasks/detection.js';
import {
  augmentDetection,
  augmentDetectionAtSize,
  augmentSegmentation,
  fittedSegmentation,
  type AugmentedDetection,
  type DetectionAugmentation,
  type ImageWithMask,
  type InputSize,
} from '../dense-augment.js';
import type { TrainingBatch } from '../parallel.js';
import { anchorTargets } from './anchor-matching.js';

/** What a dense head trains on: its datasets, and for a detector the categories' outputs and the anchors' layout. */
export type DenseData =
  | {
      readonly kind: 'detection';
      readonly train: DetectionDataset;
      readonly val: DetectionDataset;
      readonly mapping: CategoryMapping;
      /** The decoding settings at an input size: levels follow an open size's input, a fixed size's are its own. */
      readonly configAt: (size: readonly [height: number, width: number]) => DetectionConfig;
    }
  | { readonly kind: 'segmentation'; readonly train: SegmentationDataset; readonly val: SegmentationDataset; readonly classNames: readonly string[] };

/** How a detector's batches are made: the dataset's categories as head outputs, every anchor, the jitter and flip. */
export interface DetectionBatching {
  readonly dataset: DetectionDataset;
  readonly mapping: CategoryMapping;
  /** All levels' anchors on an input of a size, (x1, y1, x2, y2) each, in the order of the head's outputs. */
  readonly anchorsAt: (size: InputSize) => Float32Array;
  readonly augmentation: Omit<DetectionAugmentation, 'interpolation'>;
}

/** How a segmenter's batches are made: torchvision's reference recipe, or the evaluation fit when off. */
export interface SegmentationBatching {
  readonly dataset: SegmentationDataset;
  /** The head's classes: a mask value from here up, but 255, is refused. */
  readonly classes: number;
  readonly augment: boolean;
  /** The recipe's crop and base size for an open-size model; a fixed size crops to its input. */
  readonly crop?: { readonly size: InputSize; readonly baseSize: number };
}

/**
 * A detector's batch of the images at `indices`, their boxes moved with them and matched to the anchors: at the
 * transform's input size, or for an open-size model at each image's natural size, padded to the batch's.
 */
export async function detectionBatch(
  batching: DetectionBatching,
  indices: ArrayLike<number>,
  transform: ImageTransform,
  random: () => number,
): Promise<TrainingBatch> {
  const options = { ...batching.augmentation, interpolation: transform.interpolation };
  const sources: InputSize[] = [];
  const moved: AugmentedDetection[] = [];
  for (let i = 0; i < indices.length; i++) {
    const sample = await batching.dataset.load(indices[i]!);
    const pixels = convertChannels(sample.pixels, transform.channels);
    const image = { pixels, ...trainedObjects(sample.objects, batching.mapping) };
    sources.push(pixels);
    moved.push(
      transform.fit === 'natural'
        ? augmentDetectionAtSize(image, naturalSize(pixels, transform.sizes!), options, random)
        : augmentDetection(image, transform, options, random),
    );
  }
  const size = batchTransform(transform, sources);
  const anchors = batching.anchorsAt(size);
  const images = new Float32Array(indices.length * size.height * size.width * size.channels);
  moved.forEach((image, i) => images.set(normalisePixels(image.pixels, size), (i * images.length) / indices.length));
  const targets = moved.map((image) => anchorTargets(anchors, image.boxes, image.labels));
  return { images, size: inputSize(size), targets: { kind: 'detection', images: targets } };
}

const inputSize = (size: InputSize): InputSize => ({ height: size.height, width: size.width });

/**
 * The boxes (x1, y1, x2, y2) and head outputs a detector trains on: crowd regions left out, as torchvision's COCO
 * reference leaves them out of its targets.
 */
export function trainedObjects(objects: DetectionObjects, mapping: CategoryMapping): { boxes: Float32Array; labels: Int32Array } {
  const kept = Array.from({ length: objects.count }, (_, k) => k).filter((k) => objects.crowd[k] === 0);
  const boxes = new Float32Array(kept.length * 4);
  kept.forEach((k, j) => {
    const [x, y, w, h] = objects.boxes.subarray(4 * k, 4 * k + 4) as unknown as [number, number, number, number];
    boxes.set([x, y, x + w, y + h], 4 * j);
  });
  return { boxes, labels: Int32Array.from(kept, (k) => mapping.outputOf(objects.categoryIds[k]!)!) };
}

/** Every level's anchors on the input, one after another, as the head's outputs are ordered. */
export function allAnchors(config: DetectionConfig, size: InputSize): Float32Array {
  const levels = config.levels.map(([height, width]) => ({ height, width }));
  const perLevel = generateAnchors(size.height, size.width, levels, config.anchors);
  const anchors = new Float32Array(perLevel.reduce((n, level) => n + level.length, 0));
  perLevel.reduce((at, level) => {
    anchors.set(level, at);
    return at + level.length;
  }, 0);
  return anchors;
}

/** Anchor sets kept for reuse: at COCO's sizes a set is a few MB, and batches meet a few hundred padded sizes. */
const ANCHOR_SETS_KEPT = 16;

/** allAnchors at each size a run meets, the most recently used sizes' sets kept for the next batches. */
export function anchorsBySize(configAt: (size: readonly [height: number, width: number]) => DetectionConfig): (size: InputSize) => Float32Array {
  const kept = new Map<string, Float32Array>();
  return (size) => {
    const key = `${size.height}x${size.width}`;
    const anchors = kept.get(key) ?? allAnchors(configAt([size.height, size.width]), size);
    // Map keeps insertion order: re-inserting marks the set as the latest used, and the first key is the oldest.
    kept.delete(key);
    kept.set(key, anchors);
    if (kept.size > ANCHOR_SETS_KEPT) kept.delete(kept.keys().next().value!);
    return anchors;
  };
}

/** The names of a detector's outputs in order: each category's name where one stands for it, else `class N`. */
export function classNamesOf(mapping: CategoryMapping, classes: number): string[] {
  return Array.from({ length: classes }, (_, output) => mapping.categoryOf(output)?.name ?? `class ${output}`);
}

/**
 * A segmenter's batch of the images at `indices` with their masks at the input's size, 255 where nothing is scored:
 * the recipe's crop, or evaluation's fit (for an open-size model, natural sizes padded to the batch's).
 */
export async function segmentationBatch(
  batching: SegmentationBatching,
  indices: ArrayLike<number>,
  transform: ImageTransform,
  random: () => number,
): Promise<TrainingBatch> {
  const samples: ImageWithMask[] = [];
  for (let i = 0; i < indices.length; i++) samples.push(await checkedSample(batching, indices[i]!, transform.channels));
  const options = { interpolation: transform.interpolation, baseSize: batching.crop?.baseSize };
  const size = batching.augment
    ? { ...transform, ...(batching.crop?.size ?? {}) }
    : batchTransform(
        transform,
        samples.map((sample) => sample.pixels),
      );
  const pixelsPerImage = size.height * size.width;
  const images = new Float32Array(indices.length * pixelsPerImage * size.channels);
  const masks = new Uint8Array(indices.length * pixelsPerImage);
  samples.forEach((sample, i) => {
    const fitted = batching.augment ? augmentSegmentation(sample, size, random, options) : fittedSegmentation(sample, size);
    images.set(normalisePixels(fitted.pixels, size), i * pixelsPerImage * size.channels);
    masks.set(fitted.mask, i * pixelsPerImage);
  });
  return { images, size: inputSize(size), targets: { kind: 'segmentation', count: indices.length, masks } };
}

/** The image at `index` in the model's channels with its mask, refused when the mask holds a class the head lacks. */
async function checkedSample(batching: SegmentationBatching, index: number, channels: ImageTransform['channels']): Promise<ImageWithMask> {
  const { classes } = batching;
  const sample = await batching.dataset.load(index);
  const beyond = sample.mask.findIndex((value) => value >= classes && value !== IGNORE_INDEX);
  if (beyond >= 0)
    throw new DataFileError(
      sample.image.maskPath,
      `holds class ${sample.mask[beyond]} at pixel ${beyond}, but the head has ${classes} classes (0 to ${classes - 1}, and 255 for pixels not scored)`,
    );
  return { pixels: convertChannels(sample.pixels, channels), mask: sample.mask };
}
