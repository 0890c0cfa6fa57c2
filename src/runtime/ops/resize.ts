// Resizing a feature map to another's height and width as PyTorch's F.interpolate does, bilinear or nearest: the
// builder, its layer, and the optimised path's kernel, with a gradient that is the forward's exact adjoint.
import * as tf from '@tensorflow/tfjs';
import { apply, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * The interpolation matrix [out, in] of one axis, as PyTorch weighs source pixels: bilinear with align_corners=False
 * samples at max((d + ½)·in/out − ½, 0) between its two neighbours (the last one held), nearest reads
 * min(⌊d·in/out⌋, in − 1). Float32, as PyTorch computes the weights.
 */
export function interpolationMatrix(inSize: number, outSize: number, bilinear: boolean): Float32Array {
  const matrix = new Float32Array(outSize * inSize);
  const scale = Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (!bilinear) {
      matrix[o * inSize + Math.min(Math.floor(Math.fround(o * scale)), inSize - 1)] = 1;
      continue;
    }
    const source = Math.max(Math.fround(Math.fround(scale * (o + 0.5)) - 0.5), 0);
    const low = Math.min(Math.floor(source), inSize - 1);
    const lambda = Math.fround(source - low);
    matrix[o * inSize + low]! += 1 - lambda;
    matrix[o * inSize + Math.min(low + 1, inSize - 1)]! += lambda;
  }
  return matrix;
}

/** The adjoint of resizing [n, h, w, c] to [n, H, W, c]: dx = A_hᵀ · dy · A_w per channel, as two matrix products. */
function resizeGradient(dy: tf.Tensor4D, inHeight: number, inWidth: number, bilinear: boolean): tf.Tensor4D {
  const [n, outHeight, outWidth, c] = dy.shape;
  const alongWidth = tf.tensor2d(interpolationMatrix(inWidth, outWidth, bilinear), [outWidth, inWidth]);
  const alongHeight = tf.tensor2d(interpolationMatrix(inHeight, outHeight, bilinear), [outHeight, inHeight]);
  const rows = dy
    .transpose([0, 1, 3, 2])
    .reshape([n * outHeight * c, outWidth])
    .matMul(alongWidth);
  const columns = rows
    .reshape([n, outHeight, c, inWidth])
    .transpose([0, 2, 3, 1])
    .reshape([n * c * inWidth, outHeight])
    .matMul(alongHeight);
  return columns.reshape([n, c, inWidth, inHeight]).transpose([0, 3, 2, 1]);
}

/**
 * Resizing as PyTorch's `F.interpolate(x, size=…)` does it, in NHWC. Bilinear with align_corners=False is tfjs'
 * half-pixel-centre bilinear: both sample at (d + ½)·in/out − ½ and hold the edge pixel beyond it. Nearest is tfjs'
 * nearest without half-pixel centres: both read ⌊d·in/out⌋. tfjs' own gradient kernels ignore half-pixel centres,
 * so the gradient is the forward's exact adjoint, from the interpolation matrices.
 */
export function resizeLike(x: tf.Tensor4D, height: number, width: number, bilinear: boolean): tf.Tensor4D {
  if (x.shape[1] === height && x.shape[2] === width) return x;
  const [, inHeight, inWidth] = x.shape;
  const resized = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    return {
      value: bilinear ? tf.image.resizeBilinear(input, [height, width], false, true) : tf.image.resizeNearestNeighbor(input, [height, width], false, false),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => resizeGradient(dy as tf.Tensor4D, inHeight, inWidth, bilinear),
    };
  });
  return resized(x) as tf.Tensor4D;
}

/** A layer resizing its first input to the height and width of its second. */
export class Resize extends tf.layers.Layer {
  static readonly className = 'NetspecResize';
  private readonly bilinear: boolean;

  constructor(args: { name: string; bilinear: boolean }) {
    super({ name: args.name });
    this.bilinear = args.bilinear;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [input, reference] = inputShape as tf.Shape[];
    return [input![0]!, reference![1]!, reference![2]!, input![3]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, reference] = inputs as tf.Tensor4D[];
    return resizeLike(x!, reference!.shape[1], reference!.shape[2], this.bilinear);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), bilinear: this.bilinear };
  }
}

tf.serialization.registerClass(Resize);

/** `x` resized to the height and width of `reference`, bilinear (align_corners=False) or nearest, as PyTorch resizes. */
export function resize(x: SymbolicTensor, reference: SymbolicTensor, name: string, options: { bilinear: boolean }): SymbolicTensor {
  return apply(new Resize({ name, bilinear: options.bilinear }), [x, reference]);
}

const kernel: Kernel =
  (step) =>
  ([x, reference]) =>
    resizeLike(x as tf.Tensor4D, reference!.shape[1]!, reference!.shape[2]!, step.options?.bilinear === true);

export const resizeOp = { build: resize, kernel } satisfies RuntimeOp;
