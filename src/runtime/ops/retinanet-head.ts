// One of RetinaNet's head towers, as torchvision computes it: the builder, its layer, and the optimised path's kernel.
import * as tf from '@tensorflow/tfjs';
import { apply, normal, option, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

/**
 * torchvision's RetinaNet head tower in NHWC, applied with the same weights to every level: ReLU after each hidden
 * 3×3 convolution, none after the last. Each level's [n, h, w, anchors·perAnchor] output is already in torchvision's
 * (y, x, anchor, value) order, so a reshape to [n, h·w·anchors, perAnchor] and a join over levels give its result.
 * `weights` are the kernels and biases in order, the last pair the output convolution's.
 */
export function retinanetTower(levels: readonly tf.Tensor4D[], weights: readonly tf.Tensor[], perAnchor: number): tf.Tensor3D {
  const outputs = levels.map((level) => {
    let x: tf.Tensor4D = level;
    for (let i = 0; i < weights.length; i += 2) {
      const last = i === weights.length - 2;
      x = tf.fused.conv2d({ x, filter: weights[i] as tf.Tensor4D, strides: 1, pad: 'same', bias: weights[i + 1], activation: last ? 'linear' : 'relu' });
    }
    return x.reshape([x.shape[0], -1, perAnchor]);
  });
  return tf.concat(outputs, 1) as tf.Tensor3D;
}

/** The tower as a layer: weights `conv0/kernel`, `conv0/bias`, … and `logits/kernel`, `logits/bias`. */
export class RetinaNetHead extends tf.layers.Layer {
  static readonly className = 'RetinaNetHead';
  private readonly anchors: number;
  private readonly perAnchor: number;
  private readonly convs: number;
  private readonly prior: number;
  private variables: tf.LayerVariable[] = [];

  constructor(args: { name: string; anchors: number; perAnchor: number; convs: number; prior?: number; trainable?: boolean }) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.anchors = args.anchors;
    this.perAnchor = args.perAnchor;
    this.convs = args.convs;
    this.prior = args.prior ?? 0;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = (inputShape as tf.Shape[])[0]![3];
    if (typeof c !== 'number') throw new Error(`${this.name} needs a known number of input channels`);
    // torchvision's initialisation: every kernel normal with std 0.01, biases zero but the logits' prior.
    const conv = (prefix: string, out: number, bias: number) => [
      this.addWeight(`${prefix}/kernel`, [3, 3, c, out], 'float32', normal(0.01)),
      this.addWeight(`${prefix}/bias`, [out], 'float32', tf.initializers.constant({ value: bias })),
    ];
    this.variables = [
      ...Array.from({ length: this.convs }, (_, i) => conv(`conv${i}`, c, 0)).flat(),
      ...conv('logits', this.anchors * this.perAnchor, this.prior),
    ];
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = inputShape as tf.Shape[];
    const pixels = shapes.reduce(
      (sum, shape) => (sum === null || shape[1] === null || shape[2] === null ? null : sum + shape[1]! * shape[2]!),
      0 as number | null,
    );
    return [shapes[0]![0]!, pixels === null ? null : pixels * this.anchors, this.perAnchor];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const levels = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor4D[];
    return tf.tidy(() =>
      retinanetTower(
        levels,
        this.variables.map((v) => v.read()),
        this.perAnchor,
      ),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), anchors: this.anchors, perAnchor: this.perAnchor, convs: this.convs, prior: this.prior };
  }
}

tf.serialization.registerClass(RetinaNetHead);

/** One of RetinaNet's towers, its weights shared by every level it reads; the levels' outputs joined. */
export function retinanetHead(...args: [...SymbolicTensor[], string, { anchors: number; perAnchor: number; convs: number; prior?: number }]): SymbolicTensor {
  const options = args.pop() as { anchors: number; perAnchor: number; convs: number; prior?: number };
  const name = args.pop() as string;
  return apply(new RetinaNetHead({ name, ...options }), args as SymbolicTensor[]);
}

const kernel: Kernel = (step, weights) => {
  const tower = weights.copy(step.layer);
  return (levels) => retinanetTower(levels as tf.Tensor4D[], tower, option(step, 'perAnchor'));
};

export const retinanetHeadOp = { build: retinanetHead, kernel } satisfies RuntimeOp;
