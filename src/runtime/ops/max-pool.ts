import * as tf from '@tensorflow/tfjs';
import { apply, option, symmetric, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * Max-pooling padded by `padding` on every side. PyTorch pads with −∞; the compiler only places a padded
 * max-pool after a ReLU, where every window holds a real value ≥ 0, so padding zeros never change the maximum.
 */
export function maxPool(x: SymbolicTensor, name: string, options: { poolSize: number; stride: number; padding: number }): SymbolicTensor {
  const { poolSize, stride, padding } = options;
  const input = padding === 0 ? x : apply(tf.layers.zeroPadding2d({ name: `${name}.pad`, padding }), x);
  return apply(tf.layers.maxPooling2d({ name, poolSize, strides: stride, padding: 'valid' }), input);
}

const kernel: Kernel = (step) => {
  const [size, stride, padding] = ['poolSize', 'stride', 'padding'].map((key) => option(step, key)) as [number, number, number];
  // Zero padding equals PyTorch's −∞ only after a ReLU, which is the only place the compiler pads a max-pool.
  return ([x]) => tf.maxPool((padding > 0 ? tf.pad(x!, symmetric(padding)) : x!) as tf.Tensor4D, size, stride, 'valid');
};

export const maxPoolOp = { build: maxPool, kernel } satisfies RuntimeOp;
