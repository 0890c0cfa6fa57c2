import * as tf from '@tensorflow/tfjs';
import { apply, uniform, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/** A fully connected layer initialised as PyTorch's nn.Linear: weights and bias uniform in ±1/√fan_in. */
export function dense(x: SymbolicTensor, name: string, options: { units: number }): SymbolicTensor {
  const fanIn = x.shape[x.shape.length - 1]!;
  const bound = 1 / Math.sqrt(fanIn);
  const layer = tf.layers.dense({
    name,
    units: options.units,
    useBias: true,
    activation: 'linear',
    kernelInitializer: uniform(bound),
    biasInitializer: uniform(bound),
  });
  return apply(layer, x);
}

/** One fused matrix multiply, with the ReLU the inference pass fused after it. */
const kernel: Kernel = (step, weights) => {
  const [matrix, bias] = weights.copy(step.layer);
  return ([x]) => tf.fused.matMul({ a: x as tf.Tensor2D, b: matrix as tf.Tensor2D, bias, activation: step.relu ? 'relu' : 'linear' });
};

export const denseOp = { build: dense, kernel } satisfies RuntimeOp;
