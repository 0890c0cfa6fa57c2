// The image pipeline in TensorFlow.js terms: prepared images as one batch tensor, the transform a loaded model's
// weights ask for, and the single-image `preprocess` the runtime has always offered.
import * as tf from '@tensorflow/tfjs';
import { savedInput } from '../weights/load.js';
import { batchTransform, imagenetNormalization, prepareImage, withSavedInput, type ImageTransform, type Placement } from './pipeline.js';
import type { Pixels } from './pixels.js';

/** Images as one NHWC batch for a model, and where each image sits in it. */
export interface ImageBatch {
  readonly input: tf.Tensor4D;
  readonly placements: readonly Placement[];
}

/** Every image through the transform, stacked into one batch; at natural sizes, the batch's size is its images'. */
export function prepareBatch(images: readonly Pixels[], given: ImageTransform): ImageBatch {
  const transform = batchTransform(given, images);
  const { height, width, channels } = transform;
  const size = height * width * channels;
  const data = new Float32Array(images.length * size);
  const placements = images.map((image, i) => {
    const prepared = prepareImage(image, transform);
    data.set(prepared.data, i * size);
    return prepared.placement;
  });
  return { input: tf.tensor4d(data, [images.length, height, width, channels]), placements };
}

/** The transform for `model`: `fallback` (the spec's, generated modules export it as `imageTransform`) with what its weights saved. */
export function modelImageTransform(model: tf.LayersModel, fallback: ImageTransform): ImageTransform {
  return withSavedInput(fallback, savedInput(model));
}

export interface PreprocessOptions {
  /** The model's input size: [height, width], or one side for a square input (224 for ImageNet models). */
  readonly crop: number | readonly [height: number, width: number];
  /** Channels the model takes: 1 grey, 2 grey and alpha, 3 RGB (default) or 4 RGBA. */
  readonly channels?: number;
  /** The shorter side is resized to this first (default: ⌊the crop's longer side / 0.875⌋, torchvision's 256 for 224). */
  readonly resize?: number;
  /** Per channel, for pixels scaled to [0, 1] (default: imagenetNormalization(channels)). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/**
 * torchvision's evaluation transform for one image, [height, width, channels] without the batch: Resize, CenterCrop,
 * ToTensor and Normalize, through the same pipeline every netspec command uses.
 */
export function preprocess(image: Pixels, options: PreprocessOptions): tf.Tensor3D {
  const [height, width] = typeof options.crop === 'number' ? [options.crop, options.crop] : options.crop;
  const channels = (options.channels ?? 3) as ImageTransform['channels'];
  const fallback = imagenetNormalization(channels);
  const transform: ImageTransform = {
    height,
    width,
    channels,
    fit: 'crop',
    resize: options.resize,
    mean: options.mean ?? fallback.mean,
    std: options.std ?? fallback.std,
  };
  return tf.tensor3d(prepareImage(image, transform).data, [height, width, channels]);
}
