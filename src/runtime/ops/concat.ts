import * as tf from '@tensorflow/tfjs';
import { apply, type RuntimeOp, type SymbolicTensor } from './op.js';

/** Feature maps joined along channels: `concat(...maps, name)`, and an empty options object where a builder passes one. */
export function concat(...args: (SymbolicTensor | string | Record<string, never>)[]): SymbolicTensor {
  const name = args.find((arg): arg is string => typeof arg === 'string');
  const maps = args.filter((arg): arg is SymbolicTensor => arg instanceof tf.SymbolicTensor);
  return apply(tf.layers.concatenate({ name, axis: -1 }), maps);
}

export const concatOp = { build: concat, kernel: () => (inputs) => tf.concat(inputs, -1) } satisfies RuntimeOp;
