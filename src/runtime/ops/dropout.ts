import * as tf from '@tensorflow/tfjs';
import { apply, passThrough, type RuntimeOp, type SymbolicTensor } from './op.js';

export function dropout(x: SymbolicTensor, name: string, options: { rate: number }): SymbolicTensor {
  return apply(tf.layers.dropout({ name, rate: options.rate }), x);
}

export const dropoutOp = { build: dropout, kernel: passThrough } satisfies RuntimeOp;
