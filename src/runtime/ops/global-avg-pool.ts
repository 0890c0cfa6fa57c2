import * as tf from '@tensorflow/tfjs';
import { apply, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/** Channel means: features, or with `keepDims` a 1×1 map (tfjs' layer has no keepDims: `<name>.pool` pools, `<name>` reshapes). */
export function globalAvgPool(x: SymbolicTensor, name: string, options: { keepDims?: boolean } = {}): SymbolicTensor {
  if (!options.keepDims) return apply(tf.layers.globalAveragePooling2d({ name, dataFormat: 'channelsLast' }), x);
  const pooled = apply(tf.layers.globalAveragePooling2d({ name: `${name}.pool`, dataFormat: 'channelsLast' }), x);
  return apply(tf.layers.reshape({ name, targetShape: [1, 1, x.shape[3]!] }), pooled);
}

const kernel: Kernel =
  (step) =>
  ([x]) =>
    x!.mean([1, 2], step.options?.keepDims === true);

export const globalAvgPoolOp = { build: globalAvgPool, kernel } satisfies RuntimeOp;
