import type * as tf from '@tensorflow/tfjs';

/** Runs a model on a batch after checking that each image has the shape the model was compiled for. */
export function predictChecked(model: tf.LayersModel, x: tf.Tensor, imageShape: readonly number[]): tf.Tensor | tf.Tensor[] {
  const actual = x.shape.slice(1);
  if (x.rank !== imageShape.length + 1 || actual.some((d, i) => d !== imageShape[i])) {
    throw new Error(`${model.name} expects images shaped [batch, ${imageShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  return model.predict(x);
}
