// Training batches of a detector or a segmenter, read from the dataset's files a batch at a time (nothing is held
// beyond the batch): each image decoded, augmented with its boxes or mask, normalised as the image pipeline
// normalises it, and its targets made — anchor targets for RetinaNet, the mask at the input's size for a segmenter.
import type { CategoryMapping } from '../../data/categories.js';
import { IGNORE_INDEX, type DetectionDataset, type DetectionObjects, type SegmentationDataset } from '../../data/dataset.js';
import { DataFileError } from '../../data/data-file-error.js';
import { convertChannels } from '../../runtime/images/pixels.js';
import { normalisePixels, type ImageTransform } from '../../runtime/images/pipeline.js';
import { generateAnchors, type DetectionConfig } from '../../runtime/tasks/detection.js';
import { augmentDetection, augmentSegmentation, letterboxSegmentation, type DetectionAugmentation } from '../dense-augment.js';
import type { TrainingBatch } from '../parallel.js';
import { anchorTargets } from './anchor-matching.js';

/** What a dense head trains on: its datasets, and for a detector the categories' outputs and the anchors' layout. */
export type DenseData =
  | {
      readonly kind: 'detection';
      readonly train: DetectionDataset;
      readonly val: DetectionDataset;
      readonly mapping: CategoryMapping;
      readonly config: DetectionConfig;
    }
  | { readonly kind: 'segmentation'; readonly train: SegmentationDataset; readonly val: SegmentationDataset; readonly classNames: readonly string[] };

/** How a detector's batches are made: the dataset's categories as head outputs, every anchor, the jitter and flip. */
export interface DetectionBatching {
  readonly dataset: DetectionDataset;
  readonly mapping: CategoryMapping;
  /** All levels' anchors on the input, (x1, y1, x2, y2) each, in the order of the head's outputs. */
  readonly anchors: Float32Array;
  readonly augmentation: Omit<DetectionAugmentation, 'interpolation'>;
}

/** How a segmenter's batches are made: torchvision's reference recipe, or the evaluation letterbox when off. */
export interface SegmentationBatching {
  readonly dataset: SegmentationDataset;
  /** The head's classes: a mask value from here up, but 255, is refused. */
  readonly classes: number;
  readonly augment: boolean;
}

/** A detector's batch of the images at `indices`, their boxes moved with them and matched to the anchors. */
export async function detectionBatch(
  batching: DetectionBatching,
  indices: ArrayLike<number>,
  transform: ImageTransform,
  random: () => number,
): Promise<TrainingBatch> {
  const input = { height: transform.height, width: transform.width };
  const images = new Float32Array(indices.length * transform.height * transform.width * transform.channels);
  const targets = [];
  for (let i = 0; i < indices.length; i++) {
    const sample = await batching.dataset.load(indices[i]!);
    const objects = trainedObjects(sample.objects, batching.mapping);
    const pixels = convertChannels(sample.pixels, transform.channels);
    const moved = augmentDetection({ pixels, ...objects }, input, { ...batching.augmentation, interpolation: transform.interpolation }, random);
    images.set(normalisePixels(moved.pixels, transform), (i * images.length) / indices.length);
    targets.push(anchorTargets(batching.anchors, moved.boxes, moved.labels));
  }
  return { images, targets: { kind: 'detection', images: targets } };
}

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
export function allAnchors(config: DetectionConfig, transform: Pick<ImageTransform, 'height' | 'width'>): Float32Array {
  const levels = config.levels.map(([height, width]) => ({ height, width }));
  const perLevel = generateAnchors(transform.height, transform.width, levels, config.anchors);
  const anchors = new Float32Array(perLevel.reduce((n, level) => n + level.length, 0));
  perLevel.reduce((at, level) => {
    anchors.set(level, at);
    return at + level.length;
  }, 0);
  return anchors;
}

/** The names of a detector's outputs in order: each category's name where one stands for it, else `class N`. */
export function classNamesOf(mapping: CategoryMapping, classes: number): string[] {
  return Array.from({ length: classes }, (_, output) => mapping.categoryOf(output)?.name ?? `class ${output}`);
}

/** A segmenter's batch of the images at `indices` with their masks at the input's size, 255 where nothing is scored. */
export async function segmentationBatch(
  batching: SegmentationBatching,
  indices: ArrayLike<number>,
  transform: ImageTransform,
  random: () => number,
): Promise<TrainingBatch> {
  const { classes } = batching;
  const input = { height: transform.height, width: transform.width };
  const pixelsPerImage = transform.height * transform.width;
  const images = new Float32Array(indices.length * pixelsPerImage * transform.channels);
  const masks = new Uint8Array(indices.length * pixelsPerImage);
  for (let i = 0; i < indices.length; i++) {
    const sample = await batching.dataset.load(indices[i]!);
    const pixels = convertChannels(sample.pixels, transform.channels);
    const options = { interpolation: transform.interpolation };
    const fitted = batching.augment
      ? augmentSegmentation({ pixels, mask: sample.mask }, input, random, options)
      : letterboxSegmentation({ pixels, mask: sample.mask }, input, options);
    const beyond = sample.mask.findIndex((value) => value >= classes && value !== IGNORE_INDEX);
    if (beyond >= 0)
      throw new DataFileError(
        sample.image.maskPath,
        `holds class ${sample.mask[beyond]} at pixel ${beyond}, but the head has ${classes} classes (0 to ${classes - 1}, and 255 for pixels not scored)`,
      );
    images.set(normalisePixels(fitted.pixels, transform), i * pixelsPerImage * transform.channels);
    masks.set(fitted.mask, i * pixelsPerImage);
  }
  return { images, targets: { kind: 'segmentation', count: indices.length, masks } };
}
