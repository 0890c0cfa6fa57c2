import type * as tf from '@tensorflow/tfjs';
import { checkOpenSize, type OpenSizes } from '../open-sizes.js';

/** Runs a model on a batch after checking that each image has the shape the model was compiled for. */
export function predictChecked(model: tf.LayersModel, x: tf.Tensor, imageShape: readonly number[]): tf.Tensor | tf.Tensor[] {
  const actual = x.shape.slice(1);
  if (x.rank !== imageShape.length + 1 || actual.some((d, i) => d !== imageShape[i])) {
    throw new Error(`${model.name} expects images shaped [batch, ${imageShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  return model.predict(x);
}

/** Runs an open-size model on a batch after checking its channels and that its height and width are sides it takes. */
export function predictOpenSize(model: tf.LayersModel, x: tf.Tensor, channels: number, sizes: OpenSizes): tf.Tensor | tf.Tensor[] {
  const [, height, width, actual] = x.shape;
  if (x.rank !== 4 || actual !== channels)
    throw new Error(`${model.name} expects images shaped [batch, height, width, ${channels}], got [${x.shape.join(', ')}]`);
  checkOpenSize(model.name, height!, width!, sizes);
  return model.predict(x);
}
