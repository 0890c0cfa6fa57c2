import * as tf from '@tensorflow/tfjs';
import { apply, passThrough, soleInputShape, type RuntimeOp, type SymbolicTensor } from './op.js';
import { dropMask } from './training-random.js';

/**
 * Stochastic depth (timm's DropPath) as a layer: in training each image of the batch keeps its residual branch with
 * probability 1 − rate, scaled by 1 / (1 − rate), or loses it; outside training it passes its input through.
 */
export class DropPath extends tf.layers.Layer {
  static readonly className = 'DropPath';
  private readonly rate: number;

  constructor(args: { name: string; rate: number }) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`${args.name}: a drop-path rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return soleInputShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs)!;
    if (!kwargs.training || this.rate === 0) return x;
    return tf.tidy(() => x.mul(dropMask([x.shape[0]!, ...x.shape.slice(1).map(() => 1)], this.rate)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

tf.serialization.registerClass(DropPath);

/** Stochastic depth on a residual branch, active only in training. */
export function dropPath(x: SymbolicTensor, name: string, options: { rate: number }): SymbolicTensor {
  return apply(new DropPath({ name, rate: options.rate }), x);
}

export const dropPathOp = { build: dropPath, kernel: passThrough } satisfies RuntimeOp;
