import * as tf from '@tensorflow/tfjs';
import { SeededDropout } from './dropout.js';
import { apply, passThrough, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * Stochastic depth (timm's DropPath) as a layer: in training each image of the batch keeps its residual branch with
 * probability 1 − rate, scaled by 1 / (1 − rate), or loses it; outside training it passes its input through.
 */
export class DropPath extends SeededDropout {
  static override readonly className: string = 'DropPath';

  /** One draw an image: its whole branch is kept or dropped. */
  protected override maskShape(x: tf.Tensor): number[] {
    return [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
  }
}

tf.serialization.registerClass(DropPath);

/** Stochastic depth on a residual branch, active only in training. */
export function dropPath(x: SymbolicTensor, name: string, options: { rate: number }): SymbolicTensor {
  return apply(new DropPath({ name, rate: options.rate }), x);
}

export const dropPathOp = { build: dropPath, kernel: passThrough } satisfies RuntimeOp;
