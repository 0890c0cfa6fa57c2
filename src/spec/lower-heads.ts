import type { OpList } from './lower-block.js';
import type { NormalizedNeck } from './normalize.js';

/** A value and its channel count, as the heads read stage outputs. */
export interface Feature {
  readonly op: string;
  readonly channels: number;
}

/** torchvision's ASPP width, and the dropout rates of its heads. */
const ASPP_CHANNELS = 256;
const FCN_DROPOUT = 0.1;
const ASPP_DROPOUT = 0.5;

/** conv → BatchNorm → ReLU, the convolution without bias and left as nn.Conv2d initialises it. */
function convBnRelu(ops: OpList, names: readonly [string, string, string], input: string, filters: number, kernelSize: number, dilation = 1): string {
  const x = ops.conv(names[0], input, filters, kernelSize, 1, { dilation, init: 'pytorchDefault' });
  return ops.relu(names[2], ops.norm(names[1], x));
}

/** The last 1×1 convolution of a segmentation head: bias, nn.Conv2d's initialisation. */
const classifierConv = (ops: OpList, name: string, input: string, classes: number) =>
  ops.conv(name, input, classes, 1, 1, { bias: true, init: 'pytorchDefault' });

/** torchvision's FCNHead under `ops`' prefix: 3×3 to a quarter of the channels, BN, ReLU, dropout, 1×1 to the classes. */
export function fcnHead(ops: OpList, input: Feature, classes: number): string {
  const x = convBnRelu(ops, ['0', '1', '2'], input.op, Math.floor(input.channels / 4), 3);
  return classifierConv(ops, '4', ops.emit({ kind: 'dropout', name: '3', inputs: [x], rate: FCN_DROPOUT }), classes);
}

/** torchvision's DeepLabHead: ASPP as `0`, then 3×3 conv, BN, ReLU and the 1×1 classifier. */
export function deepLabHead(ops: OpList, input: Feature, classes: number, rates: readonly number[]): string {
  const x = convBnRelu(ops, ['1', '2', '3'], aspp(ops.scoped('0.'), input.op, rates), ASPP_CHANNELS, 3);
  return classifierConv(ops, '4', x, classes);
}

/** ASPP: a 1×1 branch, a dilated 3×3 branch per rate and the image-pooling branch, joined and projected. */
function aspp(ops: OpList, input: string, rates: readonly number[]): string {
  const branch = (i: number) => [`convs.${i}.0`, `convs.${i}.1`, `convs.${i}.2`] as const;
  const branches = [
    convBnRelu(ops, branch(0), input, ASPP_CHANNELS, 1),
    ...rates.map((rate, i) => convBnRelu(ops, branch(i + 1), input, ASPP_CHANNELS, 3, rate)),
  ];
  const p = rates.length + 1;
  const pooled = ops.emit({ kind: 'globalAvgPool', name: `convs.${p}.0`, inputs: [input], keepDims: true });
  const gated = convBnRelu(ops, [`convs.${p}.1`, `convs.${p}.2`, `convs.${p}.3`], pooled, ASPP_CHANNELS, 1);
  branches.push(ops.emit({ kind: 'resize', name: `convs.${p}.resize`, inputs: [gated, input], mode: 'bilinear' }));
  const joined = ops.emit({ kind: 'concat', name: 'cat', inputs: branches });
  const projected = convBnRelu(ops, ['project.0', 'project.1', 'project.2'], joined, ASPP_CHANNELS, 1);
  return ops.emit({ kind: 'dropout', name: 'project.3', inputs: [projected], rate: ASPP_DROPOUT });
}

/** One pyramid level: its name (P3 for C3) and value. */
export interface Level {
  readonly name: string;
  readonly op: string;
}

/**
 * torchvision's FeaturePyramidNetwork under `ops`' prefix, in its forward's order: the top level's lateral and output
 * convolutions, then downwards each lateral plus the level above upsampled (nearest) to its size. Then the extra
 * levels. `inputs` are lowest first, with their stage numbers.
 */
export function fpn(ops: OpList, neck: NormalizedNeck, inputs: readonly (Feature & { readonly level: number })[]): Level[] {
  const conv = (name: string, input: string, kernelSize: number, stride = 1) =>
    ops.conv(name, input, neck.channels, kernelSize, stride, { bias: true, init: 'kaimingUniform' });
  const top = inputs.length - 1;
  let last = conv(`inner_blocks.${top}.0`, inputs[top]!.op, 1);
  const levels: Level[] = [{ name: `P${inputs[top]!.level}`, op: conv(`layer_blocks.${top}.0`, last, 3) }];
  for (let i = top - 1; i >= 0; i--) {
    const lateral = conv(`inner_blocks.${i}.0`, inputs[i]!.op, 1);
    const topDown = ops.emit({ kind: 'resize', name: `top_down.${i}`, inputs: [last, lateral], mode: 'nearest' });
    last = ops.emit({ kind: 'add', name: `merge.${i}`, inputs: [lateral, topDown] });
    levels.unshift({ name: `P${inputs[i]!.level}`, op: conv(`layer_blocks.${i}.0`, last, 3) });
  }
  const next = (k: number) => `P${inputs[top]!.level + k}`;
  const highest = levels.at(-1)!.op;
  if (neck.extra === 'pool') {
    levels.push({ name: next(1), op: ops.emit({ kind: 'maxPool', name: 'extra_blocks.pool', inputs: [highest], poolSize: 1, stride: 2, padding: 0 }) });
  } else if (neck.extra === 'p6p7') {
    // RetinaNet's LastLevelP6P7(256, 256): P6 from P5, since its in and out widths are equal.
    const p6 = conv('extra_blocks.p6', highest, 3, 2);
    levels.push({ name: next(1), op: p6 }, { name: next(2), op: conv('extra_blocks.p7', ops.relu('extra_blocks.relu', p6), 3, 2) });
  }
  return levels;
}

/** torchvision's RetinaNetHead under `head.`: both towers read every level. */
export function retinanetHead(ops: OpList, levels: readonly Level[], anchors: number, classes: number): { classification: string; regression: string } {
  const inputs = levels.map((level) => level.op);
  const classification = ops.emit({
    kind: 'retinanetHead',
    name: 'classification_head',
    inputs,
    role: 'classification',
    anchors,
    perAnchor: classes,
    convs: 4,
  });
  const regression = ops.emit({ kind: 'retinanetHead', name: 'regression_head', inputs, role: 'regression', anchors, perAnchor: 4, convs: 4 });
  return { classification, regression };
}
