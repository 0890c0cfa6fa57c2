import type { Graph, Op } from '../ir/graph.js';
import { STEM_POOL } from '../ops/window.js';
import { bottleneckWidth, stageDilations, type NormalizedSpec } from './normalize.js';


/** The ops of one residual block, named under its prefix (`layer2.0`) as torchvision and timm name them. */
interface BlockPlan {
  readonly prefix: string;
  readonly input: string;
  readonly inWidth: number;
  readonly width: number;
  readonly stride: number;
  readonly dilation: number;
  /** Stochastic depth rate of this block. */
  readonly dropPath: number;
}

/** timm's make_divisible(v, 8, round_limit=0): the nearest multiple of 8 to v, at least 8. */
export function makeDivisible(value: number, divisor = 8): number {
  return Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
}

/** timm's SEModule width: output channels / 16, made divisible by 8. */
export const squeezeExciteWidth = (channels: number) => makeDivisible(channels / 16);

/** timm's EcaModule kernel size: ⌊|log₂ C + 1| / 2⌋, made odd, at least 3. */
export function ecaKernelSize(channels: number): number {
  const t = Math.floor(Math.abs(Math.log2(channels) + 1) / 2);
  return Math.max(t % 2 === 1 ? t : t + 1, 3);
}

/** Lowers a spec to the op graph, naming every op as torchvision (or timm, for its variants) names its module. */
export function lower(spec: NormalizedSpec): Graph {
  const ops: Op[] = [];
  const emit = (op: Op): string => {
    ops.push(op);
    return op.name;
  };
  const { epsilon, momentum } = spec.batchNorm;
  const { block } = spec;
  const conv = (name: string, input: string, filters: number, kernelSize: number, stride: number, options: { dilation?: number; groups?: number; initZero?: boolean } = {}) => {
    const { dilation = 1, groups = 1, initZero = false } = options;
    const padding = (dilation * (kernelSize - 1)) >> 1;
    return emit({ kind: 'conv2d', name, inputs: [input], filters, kernelSize, stride, padding, dilation, groups, initZero });
  };
  const batchNorm = (name: string, input: string, initZero = false) => emit({ kind: 'batchNorm', name, inputs: [input], epsilon, momentum, initZero });
  const relu = (name: string, input: string) => emit({ kind: 'relu', name, inputs: [input] });

  /** The end of a residual branch, before the add: channel attention, then stochastic depth (timm's order). */
  const branchTail = ({ prefix, width, dropPath }: BlockPlan, input: string): string => {
    const channels = width * block.expansion;
    let x = input;
    if (block.attention === 'se') x = emit({ kind: 'squeezeExcite', name: `${prefix}.se`, inputs: [x], reduced: squeezeExciteWidth(channels) });
    if (block.attention === 'eca') x = emit({ kind: 'efficientChannelAttention', name: `${prefix}.se`, inputs: [x], kernelSize: ecaKernelSize(channels) });
    if (dropPath > 0) x = emit({ kind: 'dropPath', name: `${prefix}.drop_path`, inputs: [x], rate: dropPath });
    return x;
  };

  /** The projection shortcut: conv (+ BN), or ResNet-D's average-pool first; pre-activation drops its BN. */
  const projection = ({ prefix, inWidth, width, stride }: BlockPlan, input: string): string => {
    const out = width * block.expansion;
    if (stride === 1 && inWidth === out) return input;
    let index = 0;
    let x = input;
    if (block.shortcut === 'avgPool') {
      if (stride > 1) x = emit({ kind: 'avgPool', name: `${prefix}.downsample.${index}`, inputs: [x], stride });
      index++;
    }
    x = conv(`${prefix}.downsample.${index++}`, x, out, 1, block.shortcut === 'avgPool' ? 1 : stride);
    return block.preActivation ? x : batchNorm(`${prefix}.downsample.${index}`, x);
  };

  /** conv1 … convN of a block with each one's kernel, width, stride, dilation and groups. */
  const convLayers = ({ width, stride, dilation }: BlockPlan) => {
    if (block.type === 'basic') {
      return [
        { kernel: 3, filters: width, stride, dilation, groups: 1 },
        { kernel: 3, filters: width, stride: 1, dilation, groups: 1 },
      ];
    }
    const inner = bottleneckWidth(width, block);
    const [first, middle] = block.strideOn === '1x1' ? [stride, 1] : [1, stride];
    return [
      { kernel: 1, filters: inner, stride: first, dilation: 1, groups: 1 },
      { kernel: 3, filters: inner, stride: middle, dilation, groups: block.groups },
      { kernel: 1, filters: width * block.expansion, stride: 1, dilation: 1, groups: 1 },
    ];
  };

  /** Post-activation (v1): conv → BN → ReLU …, last BN, add, ReLU. */
  const postActivationBlock = (plan: BlockPlan): string => {
    const layers = convLayers(plan);
    let x = plan.input;
    layers.forEach((layer, i) => {
      const n = i + 1;
      const last = n === layers.length;
      x = conv(`${plan.prefix}.conv${n}`, x, layer.filters, layer.kernel, layer.stride, layer);
      x = batchNorm(`${plan.prefix}.bn${n}`, x, last && block.zeroInitResidual);
      if (!last) x = relu(`${plan.prefix}.relu${n}`, x);
    });
    const sum = emit({ kind: 'add', name: `${plan.prefix}.add`, inputs: [branchTail(plan, x), projection(plan, plan.input)] });
    return relu(`${plan.prefix}.relu${layers.length}`, sum);
  };

  /** Pre-activation (v2): BN → ReLU → conv …, add; a projection reads the pre-activated input. */
  const preActivationBlock = (plan: BlockPlan): string => {
    const layers = convLayers(plan);
    let x = plan.input;
    let activated = '';
    layers.forEach((layer, i) => {
      const n = i + 1;
      x = relu(`${plan.prefix}.relu${n}`, batchNorm(`${plan.prefix}.bn${n}`, x));
      if (n === 1) activated = x;
      x = conv(`${plan.prefix}.conv${n}`, x, layer.filters, layer.kernel, layer.stride, { ...layer, initZero: n === layers.length && block.zeroInitResidual });
    });
    const shortcut = projection(plan, activated);
    return emit({ kind: 'add', name: `${plan.prefix}.add`, inputs: [branchTail(plan, x), shortcut === activated ? plan.input : shortcut] });
  };

  const { height, width, channels } = spec.input;
  let x = emit({ kind: 'input', name: 'input', inputs: [], shape: [height, width, channels] });
  const { stem } = spec;
  if (stem.type === 'conv') {
    x = conv('conv1', x, stem.width, stem.kernelSize, stem.stride);
  } else {
    x = relu('conv1.2', batchNorm('conv1.1', conv('conv1.0', x, stem.midWidth, 3, stem.stride)));
    x = relu('conv1.5', batchNorm('conv1.4', conv('conv1.3', x, stem.midWidth, 3, 1)));
    x = conv('conv1.6', x, stem.width, 3, 1);
  }
  x = relu('relu', batchNorm('bn1', x));
  if (stem.pool === 'max') {
    x = emit({ kind: 'maxPool', name: 'maxpool', inputs: [x], poolSize: STEM_POOL.size, stride: STEM_POOL.stride, padding: STEM_POOL.padding });
  }

  const { head } = spec;
  const residualBlock = block.preActivation ? preActivationBlock : postActivationBlock;
  const dilations = stageDilations(spec.stages);
  // A features-only backbone ends at the last stage it returns, as torchvision's IntermediateLayerGetter and timm's
  // features_only models do: later stages would reach no output, and tfjs would leave them out of the model.
  const built = head.type === 'none' && spec.outputs.length > 0 ? Math.max(...spec.outputs.map((name) => Number(name.slice(1)) - 1)) : spec.stages.length;
  const stageOutputs: string[] = [];
  let inWidth = stem.width;
  // timm's drop_path_rate: rising linearly over all blocks, from 0 at the first to the rate at the last.
  const blocks = spec.stages.reduce((sum, stage) => sum + stage.depth, 0);
  let index = 0;
  spec.stages.slice(0, built).forEach((stage, s) => {
    const { first, rest, stride } = dilations[s]!;
    for (let b = 0; b < stage.depth; b++) {
      const dropPath = blocks > 1 ? (block.dropPath * index++) / (blocks - 1) : 0;
      const plan = { prefix: `layer${s + 1}.${b}`, input: x, inWidth, width: stage.width, stride: b === 0 ? stride : 1, dilation: b === 0 ? first : rest, dropPath };
      x = residualBlock(plan);
      inWidth = stage.width * block.expansion;
    }
    stageOutputs.push(x);
  });

  // A feature-only backbone returns raw stage outputs; the final norm serves only a head or the lone output.
  if (block.preActivation && (head.type !== 'none' || spec.outputs.length === 0)) x = relu('relu_final', batchNorm('bn_final', x));
  if (head.type !== 'none') x = emit({ kind: 'globalAvgPool', name: 'avgpool', inputs: [x] });
  if (head.type === 'classifier') {
    if (head.dropout > 0) x = emit({ kind: 'dropout', name: 'dropout', inputs: [x], rate: head.dropout });
    x = emit({ kind: 'dense', name: 'fc', inputs: [x], units: head.classes });
  }

  const features = spec.outputs.map((name) => ({ name, op: stageOutputs[Number(name.slice(1)) - 2]! }));
  const headOutput = { name: head.type === 'classifier' ? 'logits' : head.type === 'pool' ? 'features' : 'output', op: x };
  const outputs = features.length === 0 ? [{ name: 'output', op: x }] : head.type === 'none' ? features : [...features, headOutput];
  return { name: spec.name, description: spec.description, source: spec.source, ops, outputs };
}
