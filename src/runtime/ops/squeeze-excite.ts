// Squeeze-excitation as timm computes it, in NHWC: the channel means through two 1×1 convolutions, ReLU between,
// sigmoid gate. The layer's `call` and the optimised path's kernel share the gate; every op it uses has a gradient
// on every backend. ECA, the other channel attention, is in efficient-channel-attention.ts.
import * as tf from '@tensorflow/tfjs';
import { apply, firstInput, heNormalFanOut, soleInputShape, uniformFanIn, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

const channelsOf = (inputShape: tf.Shape | tf.Shape[]) => {
  const channels = soleInputShape(inputShape)[3];
  if (typeof channels !== 'number') throw new Error('channel attention needs a known number of input channels');
  return channels;
};

/** x · σ(W₂ ReLU(W₁ mean(x) + b₁) + b₂), with the 1×1 kernels in HWIO: [1, 1, C, R] and [1, 1, R, C]. */
export function squeezeExciteGate(x: tf.Tensor4D, fc1: tf.Tensor, fc1Bias: tf.Tensor, fc2: tf.Tensor, fc2Bias: tf.Tensor): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const reduced = fc1.shape[3]!;
  const hidden = tf.relu(
    x
      .mean([1, 2])
      .matMul(fc1.reshape([c, reduced]))
      .add(fc1Bias),
  );
  const gate = tf.sigmoid(hidden.matMul(fc2.reshape([reduced, c])).add(fc2Bias));
  return x.mul(gate.reshape([n, 1, 1, c]));
}

/** timm's SEModule as a layer: weights `fc1/kernel`, `fc1/bias`, `fc2/kernel`, `fc2/bias`. */
export class SqueezeExcite extends tf.layers.Layer {
  static readonly className = 'SqueezeExcite';
  private readonly reduced: number;
  private fc: tf.LayerVariable[] = [];

  constructor(args: { name: string; reduced: number; trainable?: boolean }) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.reduced = args.reduced;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = channelsOf(inputShape);
    const r = this.reduced;
    this.fc = [
      this.addWeight('fc1/kernel', [1, 1, c, r], 'float32', heNormalFanOut()),
      this.addWeight('fc1/bias', [r], 'float32', uniformFanIn(c)),
      this.addWeight('fc2/kernel', [1, 1, r, c], 'float32', heNormalFanOut()),
      this.addWeight('fc2/bias', [c], 'float32', uniformFanIn(r)),
    ];
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return soleInputShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [fc1, fc1Bias, fc2, fc2Bias] = this.fc.map((weight) => weight.read());
    return tf.tidy(() => squeezeExciteGate(firstInput(inputs), fc1!, fc1Bias!, fc2!, fc2Bias!));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), reduced: this.reduced };
  }
}

tf.serialization.registerClass(SqueezeExcite);

/** timm's squeeze-excitation: channels gated by a two-layer function of their means, reduced to `reduced` channels between. */
export function squeezeExcite(x: SymbolicTensor, name: string, options: { reduced: number }): SymbolicTensor {
  return apply(new SqueezeExcite({ name, reduced: options.reduced }), x);
}

const kernel: Kernel = (step, weights) => {
  const [fc1, fc1Bias, fc2, fc2Bias] = weights.copy(step.layer);
  return ([x]) => squeezeExciteGate(x as tf.Tensor4D, fc1!, fc1Bias!, fc2!, fc2Bias!);
};

export const squeezeExciteOp = { build: squeezeExcite, kernel } satisfies RuntimeOp;
