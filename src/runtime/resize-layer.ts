import * as tf from '@tensorflow/tfjs';

/**
 * Resizing as PyTorch's `F.interpolate(x, size=…)` does it, in NHWC. Bilinear with align_corners=False is tfjs'
 * half-pixel-centre bilinear: both sample at (d + ½)·in/out − ½ and hold the edge pixel beyond it. Nearest is tfjs'
 * nearest without half-pixel centres: both read ⌊d·in/out⌋. Both have gradients on every backend.
 */
export function resizeLike(x: tf.Tensor4D, height: number, width: number, bilinear: boolean): tf.Tensor4D {
  if (x.shape[1] === height && x.shape[2] === width) return x;
  return bilinear ? tf.image.resizeBilinear(x, [height, width], false, true) : tf.image.resizeNearestNeighbor(x, [height, width], false, false);
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
