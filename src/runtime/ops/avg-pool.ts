import * as tf from '@tensorflow/tfjs';
import { apply, option, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * Average-pooling of `stride`×`stride` windows. By default in PyTorch's ceil mode, not counting padding, as ResNet-D's
 * shortcut pools: tfjs `same` pooling pads only the bottom and right and averages over real pixels, which is exactly
 * that for strides 1 and 2. With `floor`, PyTorch's floor mode (timm's anti-aliasing pool): tfjs `valid` pooling.
 */
export function avgPool(x: SymbolicTensor, name: string, options: { stride: number; floor?: boolean }): SymbolicTensor {
  const { stride } = options;
  return apply(tf.layers.averagePooling2d({ name, poolSize: stride, strides: stride, padding: options.floor ? 'valid' : 'same' }), x);
}

const kernel: Kernel = (step) => {
  const padding = step.options?.floor === true ? 'valid' : 'same';
  return ([x]) => tf.avgPool(x as tf.Tensor4D, option(step, 'stride'), option(step, 'stride'), padding);
};

export const avgPoolOp = { build: avgPool, kernel } satisfies RuntimeOp;
