// GroupNorm in NHWC as PyTorch computes it: each group of channels normalised over its channels and the image with
// the biased variance, then a per-channel scale and shift. The layer's `call` and the optimised path's kernel share
// the arithmetic; every op it uses has a gradient on every backend.
import * as tf from '@tensorflow/tfjs';
import { apply, firstInput, option, soleInputShape, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/** (x − mean) / √(var + ε) per group of `groups`, then γ·x + β per channel. */
export function groupNormalize(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const grouped = x.reshape([n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normalised = grouped
    .sub(mean)
    .mul(tf.rsqrt(variance.add(epsilon)))
    .reshape([n, h, w, c]);
  return normalised.mul(gamma).add(beta) as tf.Tensor4D;
}

/** GroupNorm as a layer: weights `gamma` and `beta`, named as tfjs names BatchNorm's. */
export class GroupNormalization extends tf.layers.Layer {
  static readonly className = 'GroupNormalization';
  private readonly groups: number;
  private readonly epsilon: number;
  private readonly initZero: boolean;
  private gamma: tf.LayerVariable | undefined;
  private beta: tf.LayerVariable | undefined;

  constructor(args: { name: string; groups: number; epsilon: number; initZero?: boolean; trainable?: boolean }) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.groups = args.groups;
    this.epsilon = args.epsilon;
    this.initZero = args.initZero ?? false;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const channels = soleInputShape(inputShape)[3];
    if (typeof channels !== 'number' || channels % this.groups !== 0) throw new Error(`GroupNorm cannot split ${channels} channels into ${this.groups} groups`);
    this.gamma = this.addWeight('gamma', [channels], 'float32', this.initZero ? tf.initializers.zeros() : tf.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return soleInputShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => groupNormalize(firstInput(inputs), this.gamma!.read(), this.beta!.read(), this.groups, this.epsilon));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon, initZero: this.initZero };
  }
}

tf.serialization.registerClass(GroupNormalization);

/** GroupNorm over `groups` groups of channels; `initZero` starts the scale at zero (timm's zero_init_last). */
export function groupNorm(x: SymbolicTensor, name: string, options: { groups: number; epsilon: number; initZero?: boolean }): SymbolicTensor {
  return apply(new GroupNormalization({ name, ...options }), x);
}

const kernel: Kernel = (step, weights) => {
  const [gamma, beta] = weights.copy(step.layer);
  const [groups, epsilon] = [option(step, 'groups'), option(step, 'epsilon')];
  return ([x]) => groupNormalize(x as tf.Tensor4D, gamma!, beta!, groups, epsilon);
};

export const groupNormOp = { build: groupNorm, kernel } satisfies RuntimeOp;
