// BatchNorm over channels: the builder, tfjs-layers' BatchNormalization with fused training kernels, and the
// optimised path's kernel, which applies it as a per-channel affine map (or folds it into the layer before it).
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, fusedBatchNormAvailable } from '../training/batch-norm-training.js';
import { batchNormAffine } from './batch-norm-affine.js';
import { apply, option, type Kernel, type RuntimeOp, type SymbolicTensor, type Weights } from './op.js';

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0];

interface BatchNormState {
  readonly axis: number;
  readonly epsilon: number;
  readonly momentum: number;
  readonly gamma?: tf.LayerVariable;
  readonly beta?: tf.LayerVariable;
  readonly movingMean: tf.LayerVariable;
  readonly movingVariance: tf.LayerVariable;
}

// tfjs does not export its BatchNormalization class, only a factory: its constructor is read off an instance.
const TfjsBatchNormalization = tf.layers.batchNormalization({}).constructor as (new (
  args: BatchNormArgs,
) => tf.layers.Layer) &
  Pick<typeof tf.layers.Layer, 'fromConfig'>;

/**
 * tfjs-layers' BatchNormalization, same class name, configuration and weights (a saved model loads into it and
 * its weight names are unchanged), whose training mode runs the fused kernels of training/batch-norm-training.ts on wasm
 * and cpu. As PyTorch's BatchNorm2d it normalises with the biased batch variance and moves the running variance
 * toward the unbiased one (M / (M − 1) times it, M values per channel). Inference, and training on other
 * backends, run tfjs-layers' own code.
 */
export class BatchNormalization extends TfjsBatchNormalization {
  static readonly className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs)!;
    const state = this as unknown as BatchNormState;
    const lastAxis = state.axis === -1 || state.axis === x.rank - 1;
    if (kwargs.training !== true || !lastAxis || !state.gamma || !state.beta || !fusedBatchNormAvailable()) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, state.gamma!.read() as tf.Tensor1D, state.beta!.read() as tf.Tensor1D, state.epsilon);
      const count = x.size / x.shape[x.rank - 1]!;
      const unbiased = count > 1 ? tf.mul(variance, count / (count - 1)) : variance;
      moveToward(state.movingMean, mean, state.momentum);
      moveToward(state.movingVariance, unbiased, state.momentum);
      return y;
    });
  }
}

/** running ← running − (running − value)·(1 − momentum), momentum weighing the old value as tfjs-layers does. */
function moveToward(variable: tf.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const old = variable.read();
    variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - momentum)));
  });
}

tf.serialization.registerClass(BatchNormalization);

/**
 * BatchNorm over channels. Settings are in tfjs terms: `momentum` weighs the old running value (PyTorch 0.1 is
 * 0.9). `initZero` starts the scale at zero, so a residual block ending in it starts as the identity. Training
 * runs fused kernels with PyTorch's running-variance update (see BatchNormalization).
 */
export function batchNorm(x: SymbolicTensor, name: string, options: { epsilon: number; momentum: number; initZero?: boolean }): SymbolicTensor {
  const layer = new BatchNormalization({
    name,
    axis: -1,
    epsilon: options.epsilon,
    momentum: options.momentum,
    center: true,
    scale: true,
    gammaInitializer: options.initZero ? 'zeros' : 'ones',
    betaInitializer: 'zeros',
    movingMeanInitializer: 'zeros',
    movingVarianceInitializer: 'ones',
  });
  return apply(layer, x);
}

/** A BatchNorm layer's weights [γ, β, μ, σ²] as the per-channel scale and shift it applies at inference, kept until disposed. */
export function foldedBatchNorm([gamma, beta, mean, variance]: tf.Tensor[], epsilon: number, weights: Weights): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const { scale, shift } = batchNormAffine(gamma!.dataSync(), beta!.dataSync(), mean!.dataSync(), variance!.dataSync(), epsilon);
  return { scale: weights.keep(tf.tensor1d(Float32Array.from(scale))), shift: weights.keep(tf.tensor1d(Float32Array.from(shift))) };
}

/** A BatchNorm the inference pass did not fold into a layer before it: x · scale + shift. */
const kernel: Kernel = (step, weights) => {
  const { scale, shift } = foldedBatchNorm(weights.read(step.layer), option(step, 'epsilon'), weights);
  return ([x]) => x!.mul(scale).add(shift);
};

export const batchNormOp = { build: batchNorm, kernel } satisfies RuntimeOp;
