import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, fusedBatchNormAvailable } from '../training/batch-norm-training.js';

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
const TfjsBatchNormalization = tf.layers.batchNormalization({}).constructor as (new (args: BatchNormArgs) => tf.layers.Layer) & Pick<typeof tf.layers.Layer, 'fromConfig'>;

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
