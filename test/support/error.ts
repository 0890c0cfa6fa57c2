import * as tf from '@tensorflow/tfjs';

/** max |actual − expected| relative to max |expected|: the measure every agreement test bounds. */
export function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0]! / tf.max(tf.abs(expected)).dataSync()[0]!);
}
