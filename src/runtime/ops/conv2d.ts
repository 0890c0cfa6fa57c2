// Convolutions as PyTorch's Conv2d computes them: the builder, tfjs-layers' Conv2D made to train when dilated, the
// GroupedConv2D layer tfjs lacks, and the optimised path's kernel with a folded BatchNorm and a fused ReLU.
import * as tf from '@tensorflow/tfjs';
import { foldedBatchNorm } from './batch-norm.js';
import { apply, heNormalFanOut, option, soleInputShape, symmetric, uniform, type Kernel, type RuntimeOp, type SymbolicTensor } from './op.js';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface ConvOptions {
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation?: number;
  readonly groups?: number;
  /** Start from a zero kernel instead of He normal. */
  readonly initZero?: boolean;
  readonly bias?: boolean;
  /** Start the kernel uniform in ±gain·√(3/fan_in) instead of He normal (PyTorch's default has gain √(1/3)). */
  readonly uniformGain?: number;
  /** Start the bias uniform in ±1/√fan_in, as PyTorch's default does, instead of at zero. */
  readonly biasUniform?: boolean;
}

/** The kernel and bias initialisers a convolution's options ask for. */
function convInitializers(x: SymbolicTensor, options: ConvOptions): { kernel: Initializer; bias: Initializer } {
  const { kernelSize, groups = 1, initZero = false, uniformGain, biasUniform = false } = options;
  const fanIn = (x.shape[3]! / groups) * kernelSize * kernelSize;
  const kernel = initZero ? tf.initializers.zeros() : uniformGain !== undefined ? uniform(uniformGain * Math.sqrt(3 / fanIn)) : heNormalFanOut();
  return { kernel, bias: biasUniform ? uniform(1 / Math.sqrt(fanIn)) : tf.initializers.zeros() };
}

/**
 * A convolution, padded by `padding` zeros on every side as PyTorch pads. tfjs `same` padding equals that only at
 * stride 1 with padding d(k − 1) / 2; otherwise an explicit `<name>.pad` layer pads first. Grouped convolutions
 * (never with bias) use the GroupedConv2D layer.
 */
export function conv2d(x: SymbolicTensor, name: string, options: ConvOptions): SymbolicTensor {
  const { filters, kernelSize, stride, padding, dilation = 1, groups = 1, initZero = false, bias = false } = options;
  if (groups > 1 && bias) throw new Error(`${name}: grouped convolutions have no bias here`);
  const initializers = convInitializers(x, options);
  const same = stride === 1 && 2 * padding === dilation * (kernelSize - 1);
  const input = same || padding === 0 ? x : apply(tf.layers.zeroPadding2d({ name: `${name}.pad`, padding }), x);
  const layerPadding = same ? 'same' : 'valid';
  const conv =
    groups > 1
      ? new GroupedConv2D({
          name,
          filters,
          kernelSize,
          strides: stride,
          dilationRate: dilation,
          groups,
          padding: layerPadding,
          kernelInit: initZero ? 'zeros' : 'heNormalFanOut',
        })
      : new Conv2D({
          name,
          filters,
          kernelSize,
          strides: stride,
          padding: layerPadding,
          dilationRate: dilation,
          useBias: bias,
          kernelInitializer: initializers.kernel,
          biasInitializer: initializers.bias,
          dataFormat: 'channelsLast',
        });
  return apply(conv, input);
}

/** A convolution with its folded BatchNorm as a bias and its ReLU in one fused call (grouped ones as depthwise-and-sum). */
const kernel: Kernel = (step, weights) => {
  const kernelSize = option(step, 'kernelSize');
  const stride = option(step, 'stride');
  const padding = option(step, 'padding');
  const dilation = option(step, 'dilation', 1);
  const groups = option(step, 'groups', 1);
  let filter: tf.Tensor4D;
  let bias: tf.Tensor1D | undefined;
  if (step.batchNorm) {
    const { scale, shift } = foldedBatchNorm(weights.read(step.batchNorm.layer), step.batchNorm.epsilon, weights);
    const [convKernel, own] = weights.read(step.layer);
    filter = weights.keep(tf.tidy(() => convKernel!.mul(scale)) as tf.Tensor4D);
    // A bias before the BatchNorm moves with the mean: scale·(w·x + b) + shift.
    bias = own ? weights.keep(tf.tidy(() => own.mul(scale).add(shift)) as tf.Tensor1D) : shift;
  } else {
    [filter, bias] = weights.copy(step.layer) as [tf.Tensor4D, tf.Tensor1D | undefined];
  }
  // tfjs `same` equals PyTorch's symmetric padding only at stride 1 with padding d(k − 1) / 2.
  const same = stride === 1 && 2 * padding === dilation * (kernelSize - 1);
  const activation = step.relu ? 'relu' : 'linear';
  if (groups === 1) {
    const pad = same ? 'same' : symmetric(padding);
    return ([x]) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter, strides: stride, pad, dilations: dilation, bias, activation });
  }
  return ([x]) => {
    const padded = same || padding === 0 ? x! : tf.pad(x!, symmetric(padding));
    let y: tf.Tensor = groupedConv2d(padded as tf.Tensor4D, filter, groups, stride, same ? 'same' : 'valid', dilation);
    if (bias) y = y.add(bias);
    return step.relu ? y.relu() : y;
  };
};

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

interface ConvState {
  readonly kernel: tf.LayerVariable;
  readonly strides: number[];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: number[];
  readonly dataFormat: string;
  readonly useBias: boolean;
  readonly activation?: { getClassName(): string };
}

// tfjs does not export its Conv2D layer class, only a factory: its constructor is read off an instance.
const TfjsConv2D = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as (new (
  args: Conv2DArgs,
) => tf.layers.Layer) &
  Pick<typeof tf.layers.Layer, 'fromConfig'>;

/**
 * tfjs-layers' Conv2D, same class name, configuration and weights, which trains with a dilation above 1: tfjs runs
 * every Conv2D layer through its fused convolution, whose gradient refuses dilation, so a dilated layer without
 * bias or activation (all the compiler emits) runs the plain convolution, whose gradient training/wasm-gradients.ts passes
 * on to netspec's dilated backprop kernels. Undilated layers run tfjs-layers' own code.
 */
export class Conv2D extends TfjsConv2D {
  static readonly className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as ConvState;
    const plain = !state.useBias && (state.activation === undefined || state.activation.getClassName() === 'linear') && state.dataFormat === 'channelsLast';
    if (state.dilationRate.every((d) => d === 1) || !plain) return super.call(inputs, kwargs);
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const [sh, sw] = state.strides as [number, number];
    const [dh, dw] = state.dilationRate as [number, number];
    return tf.tidy(() => tf.conv2d(x, state.kernel.read() as tf.Tensor4D, [sh, sw], state.padding, 'NHWC', [dh, dw]));
  }
}

tf.serialization.registerClass(Conv2D);

/** How a grouped convolution's kernel starts: torchvision's He normal over fan-out, or zeros. */
export type GroupedKernelInit = 'heNormalFanOut' | 'zeros';

export interface GroupedConv2DArgs {
  readonly name: string;
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly dilationRate: number;
  readonly groups: number;
  /** 'same' only where it equals PyTorch's symmetric padding (stride 1); strided layers get explicit padding first. */
  readonly padding: 'valid' | 'same';
  readonly kernelInit: GroupedKernelInit;
  readonly trainable?: boolean;
}

/**
 * A convolution whose channels are split into `groups` independent groups (PyTorch's `groups`), which
 * tfjs-layers lacks. The kernel has PyTorch's grouped layout in HWIO order: [k, k, in / groups, out].
 *
 * It runs as one depthwise convolution with channel multiplier out / groups followed by a sum over each
 * group's input channels: the same multiply-accumulates as the grouped convolution, in two fast kernels.
 * bench/grouped-conv.ts measured it 2–11× faster on wasm than per-group convolutions (bench/results.md).
 */
export class GroupedConv2D extends tf.layers.Layer {
  static readonly className = 'GroupedConv2D';
  private readonly args: GroupedConv2DArgs;
  private kernel: tf.LayerVariable | undefined;

  constructor(args: GroupedConv2DArgs) {
    super({ name: args.name, trainable: args.trainable ?? true });
    if (args.filters % args.groups !== 0) throw new Error(`${args.name}: ${args.groups} groups do not divide ${args.filters} filters`);
    this.args = { ...args };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const channels = channelsOf(inputShape);
    const { kernelSize, groups, filters, kernelInit } = this.args;
    if (channels % groups !== 0) throw new Error(`${this.name}: ${groups} groups do not divide ${channels} input channels`);
    const initializer = kernelInit === 'zeros' ? tf.initializers.zeros() : heNormalFanOut();
    this.kernel = this.addWeight('kernel', [kernelSize, kernelSize, channels / groups, filters], 'float32', initializer);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, height, width] = soleInputShape(inputShape);
    const { kernelSize, strides, dilationRate, padding, filters } = this.args;
    const extent = dilationRate * (kernelSize - 1) + 1;
    const size = (n: number | null) => (n === null ? null : padding === 'same' ? Math.ceil(n / strides) : Math.floor((n - extent) / strides) + 1);
    return [batch ?? null, size(height ?? null), size(width ?? null), filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const kernel = this.kernel!.read() as tf.Tensor4D;
    const { strides, dilationRate, padding, groups } = this.args;
    return tf.tidy(() => groupedConv2d(x, kernel, groups, strides, padding, dilationRate));
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { name, ...rest } = this.args;
    return { ...super.getConfig(), ...rest };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as unknown as GroupedConv2DArgs);
  }
}

tf.serialization.registerClass(GroupedConv2D);

/** Grouped convolution of NHWC `x` with a grouped HWIO kernel [k, k, in / groups, out]. */
export function groupedConv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, groups: number, strides: number, padding: 'valid' | 'same', dilation: number): tf.Tensor4D {
  const [kh, kw, perGroupIn, filters] = kernel.shape;
  const perGroupOut = filters / groups;
  const channels = perGroupIn * groups;
  // Depthwise output channel i·m + j convolves input channel i with multiplier j; input channel i lies in group
  // ⌊i / perGroupIn⌋, so its slice of the grouped kernel is [.., i mod perGroupIn, group·m + j].
  const depthwiseKernel = kernel
    .reshape([kh, kw, perGroupIn, groups, perGroupOut])
    .transpose([0, 1, 3, 2, 4])
    .reshape([kh, kw, channels, perGroupOut]) as tf.Tensor4D;
  const products = tf.depthwiseConv2d(x, depthwiseKernel, strides, padding, 'NHWC', dilation);
  const [n, h, w] = products.shape;
  return products.reshape([n, h, w, groups, perGroupIn, perGroupOut]).sum(4).reshape([n, h, w, filters]);
}

function channelsOf(inputShape: tf.Shape | tf.Shape[]): number {
  const shape = soleInputShape(inputShape);
  const channels = shape[3];
  if (typeof channels !== 'number') throw new Error('GroupedConv2D needs a known number of input channels');
  return channels;
}

export const conv2dOp = { build: conv2d, kernel } satisfies RuntimeOp;
