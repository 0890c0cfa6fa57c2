import * as tf from '@tensorflow/tfjs';
import { apply, type RuntimeOp, type SymbolicTensor } from './op.js';

export function add(a: SymbolicTensor, b: SymbolicTensor, name: string): SymbolicTensor {
  return apply(tf.layers.add({ name }), [a, b]);
}

export const addOp = {
  build: add,
  kernel:
    () =>
    ([a, b]) =>
      a!.add(b!),
} satisfies RuntimeOp;
