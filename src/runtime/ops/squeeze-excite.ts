import * as tf from '@tensorflow/tfjs';
import { soleInputShape } from './op.js';

/**
 * Channel attention as timm computes it, in NHWC: squeeze-excitation (the channel means through two 1×1
 * convolutions, ReLU between, sigmoid gate) and ECA (a 1-D convolution across the channel means, sigmoid gate).
 * Layers with these calls as their `call`, and the optimised path, share them. Every op used has a gradient on
 * every backend.
 */

/** x · σ(W₂ ReLU(W₁ mean(x) + b₁) + b₂), with the 1×1 kernels in HWIO: [1, 1, C, R] and [1, 1, R, C]. */
export function squeezeExciteGate(x: tf.Tensor4D, fc1: tf.Tensor, fc1Bias: tf.Tensor, fc2: tf.Tensor, fc2Bias: tf.Tensor): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const reduced = fc1.shape[3]!;
  const hidden = tf.relu(x.mean([1, 2]).matMul(fc1.reshape([c, reduced])).add(fc1Bias));
  const gate = tf.sigmoid(hidden.matMul(fc2.reshape([reduced, c])).add(fc2Bias));
  return x.mul(gate.reshape([n, 1, 1, c]));
}

/**
 * x · σ(conv1d(mean(x))): PyTorch's Conv1d is a cross-correlation over the zero-padded channel means,
 * out[i] = Σⱼ w[j] · m[i + j − (k − 1) / 2], written as a sum of k shifted slices.
 */
export function efficientChannelGate(x: tf.Tensor4D, kernel: tf.Tensor): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const k = kernel.shape[0]!;
  const half = (k - 1) >> 1;
  const padded = x.mean([1, 2]).pad([[0, 0], [half, half]]);
  const taps = Array.from({ length: k }, (_, j) => padded.slice([0, j], [n, c]).mul(kernel.slice([j], [1])));
  return x.mul(tf.sigmoid(tf.addN(taps)).reshape([n, 1, 1, c]));
}

const heNormalFanOut = () => tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal' });
const uniform = (fanIn: number) => tf.initializers.randomUniform({ minval: -1 / Math.sqrt(fanIn), maxval: 1 / Math.sqrt(fanIn) });

const channelsOf = (inputShape: tf.Shape | tf.Shape[]) => {
  const channels = soleInputShape(inputShape)[3];
  if (typeof channels !== 'number') throw new Error('channel attention needs a known number of input channels');
  return channels;
};
const firstInput = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;

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
      this.addWeight('fc1/bias', [r], 'float32', uniform(c)),
      this.addWeight('fc2/kernel', [1, 1, r, c], 'float32', heNormalFanOut()),
      this.addWeight('fc2/bias', [c], 'float32', uniform(r)),
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

/** timm's EcaModule as a layer: weight `conv/kernel`, the k taps of its 1-D convolution. */
export class EfficientChannelAttention extends tf.layers.Layer {
  static readonly className = 'EfficientChannelAttention';
  private readonly kernelSize: number;
  private kernel: tf.LayerVariable | undefined;

  constructor(args: { name: string; kernelSize: number; trainable?: boolean }) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.kernelSize = args.kernelSize;
  }

  override build(): void {
    this.kernel = this.addWeight('conv/kernel', [this.kernelSize], 'float32', uniform(this.kernelSize));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return soleInputShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => efficientChannelGate(firstInput(inputs), this.kernel!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize };
  }
}

tf.serialization.registerClass(SqueezeExcite);
tf.serialization.registerClass(EfficientChannelAttention);
