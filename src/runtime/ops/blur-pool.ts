// timm's BlurPool2d in NHWC: reflect padding, then a strided depthwise convolution by the fixed 3×3 binomial filter.
// The layer has no weights (timm keeps the filter out of the state dict); the layer's `call` and the optimised path's
// kernel share the arithmetic, and every op it uses has a gradient on every backend.
import * as tf from '@tensorflow/tfjs';
import { blurFilterValues, blurPadding } from './blur-filter.js';
import { apply, firstInput, option, soleInputShape, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/** The depthwise filter [3, 3, channels, 1]: the outer product of the binomial taps for every channel. */
function blurFilter(channels: number): tf.Tensor4D {
  return tf.tidy(() => tf.tensor2d(blurFilterValues(), [9, 1]).tile([1, channels]).reshape([3, 3, channels, 1]));
}

/** Reflect-pads `x` by timm's padding and applies the blur filter with the stride. */
export function blurDownsample(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  const p = blurPadding(stride);
  const padded = tf.mirrorPad(
    x,
    [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ],
    'reflect',
  );
  return tf.depthwiseConv2d(padded, filter, stride, 'valid');
}

/** timm's BlurPool2d as a layer without weights. */
export class BlurPool extends tf.layers.Layer {
  static readonly className = 'BlurPool';
  private readonly stride: number;

  constructor(args: { name: string; stride: number; trainable?: boolean }) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.stride = args.stride;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = soleInputShape(inputShape);
    const p = blurPadding(this.stride);
    const size = (d: number | null | undefined) => (typeof d === 'number' ? Math.floor((d + 2 * p - 3) / this.stride) + 1 : null);
    return [n ?? null, size(h), size(w), c ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = firstInput(inputs);
      return blurDownsample(x, blurFilter(x.shape[3]), this.stride);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stride: this.stride };
  }
}

tf.serialization.registerClass(BlurPool);

/** timm's anti-aliased downsampling: a fixed binomial blur, reflect-padded, with the stride. */
export function blurPool(x: SymbolicTensor, name: string, options: { stride?: number } = {}): SymbolicTensor {
  return apply(new BlurPool({ name, stride: options.stride ?? 2 }), x);
}

const kernel: Kernel = (step, weights) => {
  const stride = option(step, 'stride', 2);
  // The plan does not know the channels, so the filter is made on the first run; it runs inside a tidy, which
  // would free the filter with the step's intermediates unless kept.
  const filters = new Map<number, tf.Tensor4D>();
  return ([x]) => {
    const channels = x!.shape[3]!;
    if (!filters.has(channels)) filters.set(channels, weights.keep(tf.keep(blurFilter(channels))));
    return blurDownsample(x as tf.Tensor4D, filters.get(channels)!, stride);
  };
};

export const blurPoolOp = { build: blurPool, kernel } satisfies RuntimeOp;
