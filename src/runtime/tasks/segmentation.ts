import * as tf from '@tensorflow/tfjs';

/** One image's class per pixel, row-major, as `blendMask` draws it. */
export interface ClassMask {
  readonly width: number;
  readonly height: number;
  readonly classes: Int32Array;
}

/** The highest-scoring class of every pixel of segmentation logits [batch, height, width, classes], per image. */
export function classMasks(logits: tf.Tensor4D): ClassMask[] {
  const [batch, height, width] = logits.shape;
  const labels = tf.tidy(() => tf.argMax(logits, 3).dataSync() as Int32Array);
  return Array.from({ length: batch }, (_, i) => ({ width, height, classes: labels.slice(i * height * width, (i + 1) * height * width) }));
}
