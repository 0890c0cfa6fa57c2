import * as tf from '@tensorflow/tfjs';
import { apply, option, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * ResNet-D's shortcut pool: `stride`×`stride` windows in PyTorch's ceil mode, not counting padding. tfjs `same`
 * pooling pads only the bottom and right and averages over real pixels, which is exactly that for strides 1 and 2.
 */
export function avgPool(x: SymbolicTensor, name: string, options: { stride: number }): SymbolicTensor {
  const { stride } = options;
  return apply(tf.layers.averagePooling2d({ name, poolSize: stride, strides: stride, padding: 'same' }), x);
}

const kernel: Kernel = (step) => ([x]) => tf.avgPool(x as tf.Tensor4D, option(step, 'stride'), option(step, 'stride'), 'same');

export const avgPoolOp = { build: avgPool, kernel } satisfies RuntimeOp;
