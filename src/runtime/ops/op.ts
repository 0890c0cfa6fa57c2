import type * as tf from '@tensorflow/tfjs';

/** The shape of a single-input layer's input, as tfjs hands it to `build` and `computeOutputShape`: alone or in a list. */
export function soleInputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}
