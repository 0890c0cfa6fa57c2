import * as tf from '@tensorflow/tfjs';
type Initializer = ReturnType<typeof tf.initializers.zeros>;
import { BatchNormalization } from './batch-norm.js';
import { EfficientChannelAttention, SqueezeExcite } from './squeeze-excite.js';
import { Conv2D } from './dilated-conv.js';
import { DropPath } from './drop-path.js';
import { GroupedConv2D } from './conv2d.js';
import { Resize } from './resize.js';
import { RetinaNetHead } from './retinanet-head.js';

/**
 * The layer helpers that generated modules call. Each sets every option explicitly to PyTorch's behaviour
 * instead of inheriting a tfjs default (tfjs would add a conv bias, use BatchNorm epsilon 1e-3 and momentum
 * 0.99, Glorot initialisation, and asymmetric `same` padding at stride 2).
 */

type Tensor = tf.SymbolicTensor;

function apply(layer: tf.layers.Layer, x: Tensor | Tensor[]): Tensor {
  return layer.apply(x) as Tensor;
}

/** torchvision's conv initialisation: He normal over fan-out. */
const convInitializer = () => tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal' });

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
function convInitializers(x: Tensor, options: ConvOptions): { kernel: Initializer; bias: Initializer } {
  const { kernelSize, groups = 1, initZero = false, uniformGain, biasUniform = false } = options;
  const fanIn = (x.shape[3]! / groups) * kernelSize * kernelSize;
  const uniform = (bound: number) => tf.initializers.randomUniform({ minval: -bound, maxval: bound });
  const kernel = initZero ? tf.initializers.zeros() : uniformGain !== undefined ? uniform(uniformGain * Math.sqrt(3 / fanIn)) : convInitializer();
  return { kernel, bias: biasUniform ? uniform(1 / Math.sqrt(fanIn)) : tf.initializers.zeros() };
}

/**
 * A convolution, padded by `padding` zeros on every side as PyTorch pads. tfjs `same` padding equals that only at
 * stride 1 with padding d(k − 1) / 2; otherwise an explicit `<name>.pad` layer pads first. Grouped convolutions
 * (never with bias) use the GroupedConv2D layer.
 */
export function conv2d(x: Tensor, name: string, options: ConvOptions): Tensor {
  const { filters, kernelSize, stride, padding, dilation = 1, groups = 1, initZero = false, bias = false } = options;
  if (groups > 1 && bias) throw new Error(`${name}: grouped convolutions have no bias here`);
  const initializers = convInitializers(x, options);
  const same = stride === 1 && 2 * padding === dilation * (kernelSize - 1);
  const input = same || padding === 0 ? x : apply(tf.layers.zeroPadding2d({ name: `${name}.pad`, padding }), x);
  const layerPadding = same ? 'same' : 'valid';
  const conv =
    groups > 1
      ? new GroupedConv2D({ name, filters, kernelSize, strides: stride, dilationRate: dilation, groups, padding: layerPadding, kernelInit: initZero ? 'zeros' : 'heNormalFanOut' })
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

/**
 * BatchNorm over channels. Settings are in tfjs terms: `momentum` weighs the old running value (PyTorch 0.1 is
 * 0.9). `initZero` starts the scale at zero, so a residual block ending in it starts as the identity. Training
 * runs fused kernels with PyTorch's running-variance update (see BatchNormalization).
 */
export function batchNorm(x: Tensor, name: string, options: { epsilon: number; momentum: number; initZero?: boolean }): Tensor {
  const layer = new BatchNormalization({
    name,
    axis: -1,
    epsilon: options.epsilon,
    momentum: options.momentum,
    center: true,
    scale: true,
    gammaInitializer: options.initZero ? 'zeros' : 'ones',
    betaInitializer: 'zeros',
    movingMeanInitializer: 'zeros',
    movingVarianceInitializer: 'ones',
  });
  return apply(layer, x);
}

export function relu(x: Tensor, name: string): Tensor {
  return apply(tf.layers.reLU({ name }), x);
}

export function add(a: Tensor, b: Tensor, name: string): Tensor {
  return apply(tf.layers.add({ name }), [a, b]);
}

/**
 * Max-pooling padded by `padding` on every side. PyTorch pads with −∞; the compiler only places a padded
 * max-pool after a ReLU, where every window holds a real value ≥ 0, so padding zeros never change the maximum.
 */
export function maxPool(x: Tensor, name: string, options: { poolSize: number; stride: number; padding: number }): Tensor {
  const { poolSize, stride, padding } = options;
  const input = padding === 0 ? x : apply(tf.layers.zeroPadding2d({ name: `${name}.pad`, padding }), x);
  return apply(tf.layers.maxPooling2d({ name, poolSize, strides: stride, padding: 'valid' }), input);
}

/**
 * ResNet-D's shortcut pool: `stride`×`stride` windows in PyTorch's ceil mode, not counting padding. tfjs `same`
 * pooling pads only the bottom and right and averages over real pixels, which is exactly that for strides 1 and 2.
 */
export function avgPool(x: Tensor, name: string, options: { stride: number }): Tensor {
  const { stride } = options;
  return apply(tf.layers.averagePooling2d({ name, poolSize: stride, strides: stride, padding: 'same' }), x);
}

export function dropout(x: Tensor, name: string, options: { rate: number }): Tensor {
  return apply(tf.layers.dropout({ name, rate: options.rate }), x);
}

/** Channel means: features, or with `keepDims` a 1×1 map (tfjs' layer has no keepDims: `<name>.pool` pools, `<name>` reshapes). */
export function globalAvgPool(x: Tensor, name: string, options: { keepDims?: boolean } = {}): Tensor {
  if (!options.keepDims) return apply(tf.layers.globalAveragePooling2d({ name, dataFormat: 'channelsLast' }), x);
  const pooled = apply(tf.layers.globalAveragePooling2d({ name: `${name}.pool`, dataFormat: 'channelsLast' }), x);
  return apply(tf.layers.reshape({ name, targetShape: [1, 1, x.shape[3]!] }), pooled);
}

/** `x` resized to the height and width of `reference`, bilinear (align_corners=False) or nearest, as PyTorch resizes. */
export function resize(x: Tensor, reference: Tensor, name: string, options: { bilinear: boolean }): Tensor {
  return apply(new Resize({ name, bilinear: options.bilinear }), [x, reference]);
}

/** Feature maps joined along channels: `concat(...maps, name)`, and an empty options object where a builder passes one. */
export function concat(...args: (Tensor | string | Record<string, never>)[]): Tensor {
  const name = args.find((arg): arg is string => typeof arg === 'string');
  const maps = args.filter((arg): arg is Tensor => arg instanceof tf.SymbolicTensor);
  return apply(tf.layers.concatenate({ name, axis: -1 }), maps);
}

/** One of RetinaNet's towers, its weights shared by every level it reads; the levels' outputs joined. */
export function retinanetHead(...args: [...Tensor[], string, { anchors: number; perAnchor: number; convs: number; prior?: number }]): Tensor {
  const options = args.pop() as { anchors: number; perAnchor: number; convs: number; prior?: number };
  const name = args.pop() as string;
  return apply(new RetinaNetHead({ name, ...options }), args as Tensor[]);
}

/** A fully connected layer initialised as PyTorch's nn.Linear: weights and bias uniform in ±1/√fan_in. */
export function dense(x: Tensor, name: string, options: { units: number }): Tensor {
  const fanIn = x.shape[x.shape.length - 1]!;
  const bound = 1 / Math.sqrt(fanIn);
  const layer = tf.layers.dense({
    name,
    units: options.units,
    useBias: true,
    activation: 'linear',
    kernelInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound }),
    biasInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound }),
  });
  return apply(layer, x);
}

/** timm's squeeze-excitation: channels gated by a two-layer function of their means, reduced to `reduced` channels between. */
export function squeezeExcite(x: Tensor, name: string, options: { reduced: number }): Tensor {
  return apply(new SqueezeExcite({ name, reduced: options.reduced }), x);
}

/** timm's ECA: channels gated by a 1-D convolution of `kernelSize` taps across their means. */
export function efficientChannelAttention(x: Tensor, name: string, options: { kernelSize: number }): Tensor {
  return apply(new EfficientChannelAttention({ name, kernelSize: options.kernelSize }), x);
}

/** Stochastic depth on a residual branch, active only in training. */
export function dropPath(x: Tensor, name: string, options: { rate: number }): Tensor {
  return apply(new DropPath({ name, rate: options.rate }), x);
}

/**
 * Every helper by the name op modules give in their runtime call: the generated code imports them by these names
 * and the model builder calls them from here, `helper(...inputs, name, options)`.
 */
export const layerHelpers = { conv2d, batchNorm, relu, add, maxPool, avgPool, globalAvgPool, dropout, dense, squeezeExcite, efficientChannelAttention, dropPath, resize, concat, retinanetHead } as const;

export type LayerHelper = keyof typeof layerHelpers;

/** Runs a model on a batch after checking that each image has the shape the model was compiled for. */
export function predictChecked(model: tf.LayersModel, x: tf.Tensor, imageShape: readonly number[]): tf.Tensor | tf.Tensor[] {
  const actual = x.shape.slice(1);
  if (x.rank !== imageShape.length + 1 || actual.some((d, i) => d !== imageShape[i])) {
    throw new Error(`${model.name} expects images shaped [batch, ${imageShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  return model.predict(x);
}
