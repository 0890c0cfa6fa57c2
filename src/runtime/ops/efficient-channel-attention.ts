// Efficient channel attention (ECA) as timm computes it, in NHWC: a 1-D convolution across the channel means, sigmoid
// gate. The layer's `call` and the optimised path's kernel share the gate; every op it uses has a gradient on every
// backend.
import * as tf from '@tensorflow/tfjs';
import { apply, firstInput, soleInputShape, uniformFanIn, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * x · σ(conv1d(mean(x))): PyTorch's Conv1d is a cross-correlation over the zero-padded channel means,
 * out[i] = Σⱼ w[j] · m[i + j − (k − 1) / 2], written as a sum of k shifted slices.
 */
export function efficientChannelGate(x: tf.Tensor4D, kernel: tf.Tensor): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const k = kernel.shape[0]!;
  const half = (k - 1) >> 1;
  const padded = x.mean([1, 2]).pad([
    [0, 0],
    [half, half],
  ]);
  const taps = Array.from({ length: k }, (_, j) => padded.slice([0, j], [n, c]).mul(kernel.slice([j], [1])));
  return x.mul(tf.sigmoid(tf.addN(taps)).reshape([n, 1, 1, c]));
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
    this.kernel = this.addWeight('conv/kernel', [this.kernelSize], 'float32', uniformFanIn(this.kernelSize));
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

tf.serialization.registerClass(EfficientChannelAttention);

/** timm's ECA: channels gated by a 1-D convolution of `kernelSize` taps across their means. */
export function efficientChannelAttention(x: SymbolicTensor, name: string, options: { kernelSize: number }): SymbolicTensor {
  return apply(new EfficientChannelAttention({ name, kernelSize: options.kernelSize }), x);
}

const kernel: Kernel = (step, weights) => {
  const [convKernel] = weights.copy(step.layer);
  return ([x]) => efficientChannelGate(x as tf.Tensor4D, convKernel!);
};

export const efficientChannelAttentionOp = { build: efficientChannelAttention, kernel } satisfies RuntimeOp;
