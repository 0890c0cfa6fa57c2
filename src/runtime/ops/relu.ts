import * as tf from '@tensorflow/tfjs';
import { apply, type RuntimeOp, type SymbolicTensor } from './op.js';

export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(tf.layers.reLU({ name }), x);
}

export const reluOp = {
  build: relu,
  kernel:
    () =>
    ([x]) =>
      x!.relu(),
} satisfies RuntimeOp;
