// The randomness of the ops that act only in training (dropout, drop path): drawn from a seed the trainer sets before
// each forward pass, so that a run repeats itself and a resumed run continues exactly. Unseeded (tfjs' own random
// numbers) when nothing set one, as for a model a user trains with tfjs' fit.
import * as tf from '@tensorflow/tfjs';

let source: { readonly seed: number; draws: number } | undefined;

/** Seeds the draws of the next forward pass (undefined: unseeded). Each draw in it then takes the next seed. */
export function seedTrainingRandomness(seed: number | undefined): void {
  source = seed === undefined ? undefined : { seed: seed >>> 0, draws: 0 };
}

/** Uniform numbers in [0, 1) of `shape`, from the pass's seed and the number of draws before this one. */
export function trainingUniform(shape: number[]): tf.Tensor {
  if (!source) return tf.randomUniform(shape);
  const seed = (Math.imul(source.seed ^ 0x9e3779b9, 0x85ebca6b) + source.draws++) >>> 0;
  return tf.randomUniform(shape, 0, 1, 'float32', seed);
}

/**
 * Keeps each element (or, for drop path, each image: `shape` with ones past the batch) with probability 1 − rate and
 * scales it by 1 / (1 − rate), as inverted dropout does: floor(keep + U[0, 1)) is 1 with probability keep.
 */
export function dropMask(shape: number[], rate: number): tf.Tensor {
  const keep = 1 - rate;
  return trainingUniform(shape).add(keep).floor().div(keep);
}
