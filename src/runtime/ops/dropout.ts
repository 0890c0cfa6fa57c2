// Dropout as a layer whose training draws come from the trainer's seed (training-random.ts), so runs repeat.
import * as tf from '@tensorflow/tfjs';
import { apply, passThrough, soleInputShape, type RuntimeOp, type SymbolicTensor } from './op.js';
import { dropMask } from './training-random.js';

/**
 * Inverted dropout: in training each element (or, for a subclass's wider `maskShape`, each group of elements) is
 * zeroed with probability `rate` and the rest scaled by 1 / (1 − rate); outside training the input passes through.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className: string = 'SeededDropout';
  protected readonly rate: number;

  constructor(args: { name: string; rate: number }) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`${args.name}: a drop rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
  }

  /** The shape of the mask drawn for `x`: one draw an element. */
  protected maskShape(x: tf.Tensor): number[] {
    return x.shape;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return soleInputShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs)!;
    if (!kwargs.training || this.rate === 0) return x;
    return tf.tidy(() => x.mul(dropMask(this.maskShape(x), this.rate)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

tf.serialization.registerClass(SeededDropout);

export function dropout(x: SymbolicTensor, name: string, options: { rate: number }): SymbolicTensor {
  return apply(new SeededDropout({ name, rate: options.rate }), x);
}

export const dropoutOp = { build: dropout, kernel: passThrough } satisfies RuntimeOp;
