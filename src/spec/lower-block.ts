import type { Op } from '../ir/graph.js';
import type { ConvInit } from '../ops/conv2d.js';
import { bottleneckWidth, type AntiAlias, type NormalizedBlock, type Normalization } from './normalize.js';

/**
 * The op list lowering appends to, with the layers every part of a ResNet repeats. A scoped list appends to the same
 * ops under a name prefix (`backbone.`), as torchvision nests a backbone's modules in a detection or segmentation model.
 */
export class OpList {
  constructor(
    private readonly normalization: Normalization,
    readonly ops: Op[] = [],
    private readonly prefix = '',
  ) {}

  /** The same list, naming what it appends `<prefix><name>`. */
  scoped(prefix: string): OpList {
    return new OpList(this.normalization, this.ops, this.prefix + prefix);
  }

  emit(op: Op): string {
    const name = this.prefix + op.name;
    this.ops.push({ ...op, name });
    return name;
  }

  /** A convolution padded as PyTorch pads a "same" window: d(k − 1) / 2 on every side. */
  conv(
    name: string,
    input: string,
    filters: number,
    kernelSize: number,
    stride: number,
    options: { dilation?: number; groups?: number; initZero?: boolean; bias?: boolean; init?: ConvInit } = {},
  ): string {
    const { dilation = 1, groups = 1, initZero = false, bias = false } = options;
    const padding = (dilation * (kernelSize - 1)) >> 1;
    const init = options.init ?? (initZero ? 'zero' : 'heFanOut');
    return this.emit({ kind: 'conv2d', name, inputs: [input], filters, kernelSize, stride, padding, dilation, groups, bias, init });
  }

  /** The model's normalisation layer: BatchNorm, or GroupNorm where the spec asks for it. */
  norm(name: string, input: string, initZero = false): string {
    const { kind, epsilon } = this.normalization;
    if (kind === 'groupNorm') return this.emit({ kind, name, inputs: [input], groups: this.normalization.groups, epsilon, initZero });
    return this.emit({ kind, name, inputs: [input], epsilon, momentum: this.normalization.momentum, initZero });
  }

  /** timm's anti-aliasing pool with a stride: BlurPool2d, or a 2×2 average-pool in floor mode. */
  antiAlias(name: string, input: string, kind: Exclude<AntiAlias, 'none'>, stride: number): string {
    if (kind === 'blur') return this.emit({ kind: 'blurPool', name, inputs: [input], stride });
    return this.emit({ kind: 'avgPool', name, inputs: [input], stride, ceilMode: false });
  }

  relu(name: string, input: string): string {
    return this.emit({ kind: 'relu', name, inputs: [input] });
  }
}

/** One residual block, named under its prefix (`layer2.0`) as torchvision and timm name them. */
export interface BlockPlan {
  readonly prefix: string;
  readonly input: string;
  readonly inWidth: number;
  /** The stage width, which sizes the block's attention. */
  readonly width: number;
  /** The block's output channels: width × expansion, or the pruned width. */
  readonly outWidth: number;
  /** The widths of its convolutions but the last, where the spec prunes them. */
  readonly innerWidths: readonly number[] | null;
  readonly stride: number;
  readonly dilation: number;
  /** Stochastic depth rate of this block. */
  readonly dropPath: number;
}

/** Appends one residual block and returns its output: post-activation (v1) or pre-activation (v2). */
export function residualBlock(ops: OpList, block: NormalizedBlock, plan: BlockPlan): string {
  return block.preActivation ? preActivationBlock(ops, block, plan) : postActivationBlock(ops, block, plan);
}

/**
 * Post-activation (v1): conv → BN → ReLU …, last BN, attention, add, ReLU. With anti-aliasing, the 3×3 convolution
 * of a stride-2 block runs at stride 1 and the pool `aa` after its ReLU carries the stride, as timm places it.
 */
function postActivationBlock(ops: OpList, block: NormalizedBlock, plan: BlockPlan): string {
  const layers = convLayers(block, plan);
  const antiAliased = block.antiAlias !== 'none' && plan.stride === 2;
  let x = plan.input;
  layers.forEach((layer, i) => {
    const n = i + 1;
    const last = n === layers.length;
    const aa = antiAliased && layer.stride === plan.stride && layer.kernel === 3;
    x = ops.conv(`${plan.prefix}.conv${n}`, x, layer.filters, layer.kernel, aa ? 1 : layer.stride, layer);
    x = ops.norm(`${plan.prefix}.bn${n}`, x, last && block.zeroInitResidual);
    if (!last) x = ops.relu(`${plan.prefix}.relu${n}`, x);
    if (aa) x = ops.antiAlias(`${plan.prefix}.aa`, x, block.antiAlias, plan.stride);
  });
  const sum = ops.emit({ kind: 'add', name: `${plan.prefix}.add`, inputs: [branchTail(ops, block, plan, x), projection(ops, block, plan, plan.input)] });
  return ops.relu(`${plan.prefix}.relu${layers.length}`, sum);
}

/** Pre-activation (v2): BN → ReLU → conv …, attention, add; a projection reads the pre-activated input. */
function preActivationBlock(ops: OpList, block: NormalizedBlock, plan: BlockPlan): string {
  const layers = convLayers(block, plan);
  let x = plan.input;
  let activated = '';
  layers.forEach((layer, i) => {
    const n = i + 1;
    x = ops.relu(`${plan.prefix}.relu${n}`, ops.norm(`${plan.prefix}.bn${n}`, x));
    if (n === 1) activated = x;
    x = ops.conv(`${plan.prefix}.conv${n}`, x, layer.filters, layer.kernel, layer.stride, {
      ...layer,
      initZero: n === layers.length && block.zeroInitResidual,
    });
  });
  const shortcut = projection(ops, block, plan, activated);
  return ops.emit({ kind: 'add', name: `${plan.prefix}.add`, inputs: [branchTail(ops, block, plan, x), shortcut === activated ? plan.input : shortcut] });
}

/**
 * conv1 … convN of a block with each one's kernel, width, stride, dilation and groups. The first convolution's
 * width is divided by reduceFirst (timm's block_reduce_first); pruned widths replace the computed ones.
 */
function convLayers(block: NormalizedBlock, { width, outWidth, innerWidths, stride, dilation }: BlockPlan) {
  if (block.type === 'basic') {
    const [first = Math.floor(width / block.reduceFirst)] = innerWidths ?? [];
    return [
      { kernel: 3, filters: first, stride, dilation, groups: 1 },
      { kernel: 3, filters: outWidth, stride: 1, dilation, groups: 1 },
    ];
  }
  const inner = bottleneckWidth(width, block);
  const [reduced = Math.floor(inner / block.reduceFirst), middleWidth = inner] = innerWidths ?? [];
  const [first, middle] = block.strideOn === '1x1' ? [stride, 1] : [1, stride];
  return [
    { kernel: 1, filters: reduced, stride: first, dilation: 1, groups: 1 },
    { kernel: 3, filters: middleWidth, stride: middle, dilation, groups: block.groups },
    { kernel: 1, filters: outWidth, stride: 1, dilation: 1, groups: 1 },
  ];
}

/**
 * The projection shortcut: conv (+ BN), k×k where it strides (timm's down_kernel_size), or ResNet-D's average-pool
 * first; pre-activation drops its BN.
 */
function projection(ops: OpList, block: NormalizedBlock, { prefix, inWidth, outWidth, stride }: BlockPlan, input: string): string {
  if (stride === 1 && inWidth === outWidth) return input;
  let index = 0;
  let x = input;
  if (block.shortcut === 'avgPool') {
    if (stride > 1) x = ops.emit({ kind: 'avgPool', name: `${prefix}.downsample.${index}`, inputs: [x], stride, ceilMode: true });
    index++;
    x = ops.conv(`${prefix}.downsample.${index++}`, x, outWidth, 1, 1);
  } else {
    x = ops.conv(`${prefix}.downsample.${index++}`, x, outWidth, stride > 1 ? block.shortcutKernelSize : 1, stride);
  }
  return block.preActivation ? x : ops.norm(`${prefix}.downsample.${index}`, x);
}

/**
 * The end of a residual branch, before the add: channel attention, then stochastic depth (timm's order). Attention
 * sizes itself from the stage's nominal width, as timm's pruned models keep it.
 */
function branchTail(ops: OpList, block: NormalizedBlock, { prefix, width, dropPath }: BlockPlan, input: string): string {
  const channels = width * block.expansion;
  let x = input;
  if (block.attention === 'se') x = ops.emit({ kind: 'squeezeExcite', name: `${prefix}.se`, inputs: [x], reduced: makeDivisible(channels * block.seRatio) });
  if (block.attention === 'eca') x = ops.emit({ kind: 'efficientChannelAttention', name: `${prefix}.se`, inputs: [x], kernelSize: ecaKernelSize(channels) });
  if (dropPath > 0) x = ops.emit({ kind: 'dropPath', name: `${prefix}.drop_path`, inputs: [x], rate: dropPath });
  return x;
}

/** timm's make_divisible(v, 8, round_limit=0): the nearest multiple of 8 to v, at least 8. */
function makeDivisible(value: number, divisor = 8): number {
  return Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
}

/** timm's EcaModule kernel size: ⌊|log₂ C + 1| / 2⌋, made odd, at least 3. */
function ecaKernelSize(channels: number): number {
  const t = Math.floor(Math.abs(Math.log2(channels) + 1) / 2);
  return Math.max(t % 2 === 1 ? t : t + 1, 3);
}
