import type { AnchorSettings, DetectionSettings, OpenSizeBounds, Preprocessing } from '../ir/graph.js';
import type { NetSpec } from './types.js';
import type { ValidSpec } from './validate.js';

/** Defaults of the optional fields; a test holds them equal to the schema's `default` values. */
export const DEFAULTS = {
  stemPool: 'none',
  antiAlias: 'none',
  seRatio: 0.0625,
  reduceFirst: 1,
  shortcutKernelSize: 1,
  cropFraction: 0.875,
  interpolation: 'bilinear',
  expansion: 4,
  groups: 1,
  widthPerGroup: 64,
  strideOn: '3x3',
  preActivation: false,
  zeroInitResidual: false,
  shortcut: 'conv',
  attention: 'none',
  dropPath: 0,
  dropout: 0,
  aux: false,
  asppRates: [12, 24, 36],
  fpnChannels: 256,
  fpnExtra: 'pool',
  scoreThreshold: 0.05,
  nmsThreshold: 0.5,
  detectionsPerImage: 300,
  topkCandidates: 1000,
  batchNormEpsilon: 1e-5,
  batchNormMomentum: 0.1,
} as const;

export interface Stage {
  readonly width: number;
  readonly depth: number;
  readonly stride: number;
  readonly dilate: boolean;
  /** Per block, the widths of its convolutions but the last, where the spec prunes them. */
  readonly blockWidths: readonly (readonly number[])[] | null;
  /** The blocks' output channels where the spec prunes them, else null for width × expansion. */
  readonly outputWidth: number | null;
}

export type StemPool = 'none' | 'max' | 'conv';
export type AntiAlias = 'none' | 'blur' | 'avg';

interface StemCommon {
  readonly width: number;
  readonly stride: number;
  readonly pool: StemPool;
  readonly antiAlias: AntiAlias;
}

export type NormalizedStem =
  | (StemCommon & { readonly type: 'conv'; readonly kernelSize: number })
  | (StemCommon & { readonly type: 'deep'; readonly midWidths: readonly [number, number] });

/** The model's normalisation layer: BatchNorm (in PyTorch's momentum convention) or GroupNorm. */
export type Normalization =
  | { readonly kind: 'batchNorm'; readonly epsilon: number; readonly momentum: number }
  | { readonly kind: 'groupNorm'; readonly groups: number; readonly epsilon: number };

/** Both block kinds in one shape: a basic block is a bottleneck-free block with expansion 1 and no groups. */
export interface NormalizedBlock {
  readonly type: 'basic' | 'bottleneck';
  readonly expansion: number;
  readonly groups: number;
  readonly widthPerGroup: number;
  readonly strideOn: '3x3' | '1x1';
  readonly preActivation: boolean;
  readonly zeroInitResidual: boolean;
  readonly shortcut: 'conv' | 'avgPool';
  readonly attention: 'none' | 'se' | 'eca';
  /** The 'se' reduction as a fraction of the output channels (timm's rd_ratio). */
  readonly seRatio: number;
  /** Stochastic depth rate at the last block. */
  readonly dropPath: number;
  /** timm's aa_layer: the pool that carries a stride-2 block's stride after its 3×3 convolution. */
  readonly antiAlias: AntiAlias;
  /** timm's block_reduce_first: the first convolution's width is divided by this. */
  readonly reduceFirst: number;
  /** timm's down_kernel_size: the kernel of a strided 'conv' projection. */
  readonly shortcutKernelSize: number;
}

export type NormalizedHead =
  | { readonly type: 'classifier'; readonly classes: number; readonly dropout: number }
  | { readonly type: 'pool' }
  | { readonly type: 'none' }
  | { readonly type: 'fcn'; readonly classes: number; readonly aux: boolean }
  | { readonly type: 'deeplabv3'; readonly classes: number; readonly aux: boolean; readonly rates: readonly number[] }
  | { readonly type: 'retinanet'; readonly classes: number; readonly anchors: AnchorSettings; readonly detection: DetectionSettings };

export interface NormalizedNeck {
  readonly type: 'fpn';
  readonly channels: number;
  /** Stage indices it reads, lowest first (C3 is stage index 1). */
  readonly from: readonly number[];
  readonly extra: 'pool' | 'p6p7' | 'none';
}

/** An open size's largest side when the spec gives none: the size limits are checked there. */
export const DEFAULT_MAX_SIZE = 2048;

/** The input's height and width: fixed, or open within bounds. */
export type InputSize =
  | { readonly kind: 'fixed'; readonly height: number; readonly width: number }
  | { readonly kind: 'open'; readonly bounds: OpenSizeBounds };

function inputSize(input: NetSpec['input']): InputSize {
  if (input.height !== undefined && input.width !== undefined) return { kind: 'fixed', height: input.height, width: input.width };
  const bounds = {
    maximum: input.maxSize ?? DEFAULT_MAX_SIZE,
    ...(input.minSize !== undefined ? { minimum: input.minSize } : {}),
    ...(input.sizeMultiple !== undefined ? { multiple: input.sizeMultiple } : {}),
  };
  return { kind: 'open', bounds };
}

/** A spec with every default filled in and the stage lists zipped into one entry per stage. */
export interface NormalizedSpec {
  readonly source: { readonly path: string; readonly sha256: string };
  readonly name: string;
  readonly description: string;
  readonly input: { readonly channels: number; readonly size: InputSize };
  readonly stem: NormalizedStem;
  readonly block: NormalizedBlock;
  readonly stages: readonly Stage[];
  readonly neck: NormalizedNeck | null;
  readonly head: NormalizedHead;
  /** Stage outputs returned as features (C2 = first stage); empty for a single-output model. */
  readonly outputs: readonly string[];
  readonly normalization: Normalization;
  readonly preprocess: Preprocessing | null;
}

/** Fills in defaults; the stage lists must already be known to have equal lengths (see rules). */
export function normalize({ document, spec }: ValidSpec): NormalizedSpec {
  return {
    source: { path: document.path, sha256: document.sha256 },
    name: spec.name,
    description: spec.description ?? '',
    input: { channels: spec.input.channels, size: inputSize(spec.input) },
    stem: normalizeStem(spec.stem),
    block: normalizeBlock(spec.block),
    stages: spec.stages.widths.map((width, i) => ({
      width,
      depth: spec.stages.depths[i]!,
      stride: spec.stages.strides[i]!,
      dilate: spec.stages.dilate?.[i] ?? false,
      blockWidths: spec.stages.blockWidths?.[i] ?? null,
      outputWidth: spec.stages.outputWidths?.[i] ?? null,
    })),
    neck: spec.neck ? normalizeNeck(spec.neck) : null,
    head: normalizeHead(spec.head),
    outputs: [...(spec.outputs ?? [])],
    normalization: spec.groupNorm
      ? { kind: 'groupNorm', groups: spec.groupNorm.groups, epsilon: spec.groupNorm.epsilon ?? DEFAULTS.batchNormEpsilon }
      : { kind: 'batchNorm', epsilon: spec.batchNorm?.epsilon ?? DEFAULTS.batchNormEpsilon, momentum: spec.batchNorm?.momentum ?? DEFAULTS.batchNormMomentum },
    preprocess: spec.preprocess
      ? {
          mean: spec.preprocess.mean,
          std: spec.preprocess.std,
          cropFraction: spec.preprocess.cropFraction ?? DEFAULTS.cropFraction,
          interpolation: spec.preprocess.interpolation ?? DEFAULTS.interpolation,
        }
      : null,
  };
}

/** The stage index of a stage output's name: C2 is the first stage's. */
export const stageIndexOf = (output: string): number => Number(output.slice(1)) - 2;

function normalizeNeck(neck: NonNullable<NetSpec['neck']>): NormalizedNeck {
  const from = neck.from.map(stageIndexOf).sort((a, b) => a - b);
  return { type: 'fpn', channels: neck.channels ?? DEFAULTS.fpnChannels, from, extra: neck.extra ?? DEFAULTS.fpnExtra };
}

/**
 * torchvision's RetinaNet anchors: on each of five levels, sizes x, x·2^(1/3), x·2^(2/3) for x = 32 … 512 (truncated
 * to integers, as torchvision's `int(x * 2 ** (i / 3))` does) and ratios 0.5, 1, 2.
 */
export function retinanetDefaultAnchorSettings(): AnchorSettings {
  const sizes = [32, 64, 128, 256, 512].map((x) => [0, 1, 2].map((i) => Math.trunc(x * 2 ** (i / 3))));
  return { sizes, ratios: sizes.map(() => [0.5, 1, 2]) };
}

export function normalizeHead(head: NetSpec['head']): NormalizedHead {
  switch (head.type) {
    case 'classifier':
      return { type: 'classifier', classes: head.classes, dropout: head.dropout ?? DEFAULTS.dropout };
    case 'fcn':
      return { type: 'fcn', classes: head.classes, aux: head.aux ?? DEFAULTS.aux };
    case 'deeplabv3':
      return { type: 'deeplabv3', classes: head.classes, aux: head.aux ?? DEFAULTS.aux, rates: head.rates ?? DEFAULTS.asppRates };
    case 'retinanet': {
      const anchors = head.anchors ?? retinanetDefaultAnchorSettings();
      // One ratio list applies to every level, as the schema says.
      const ratios = anchors.ratios.length === 1 ? anchors.sizes.map(() => anchors.ratios[0]!) : anchors.ratios;
      return {
        type: 'retinanet',
        classes: head.classes,
        anchors: { sizes: anchors.sizes, ratios },
        detection: {
          scoreThreshold: head.scoreThreshold ?? DEFAULTS.scoreThreshold,
          nmsThreshold: head.nmsThreshold ?? DEFAULTS.nmsThreshold,
          detectionsPerImage: head.detectionsPerImage ?? DEFAULTS.detectionsPerImage,
          topkCandidates: head.topkCandidates ?? DEFAULTS.topkCandidates,
        },
      };
    }
    default:
      return { type: head.type };
  }
}

export function normalizeStem(stem: NetSpec['stem']): NormalizedStem {
  const common = { width: stem.width, stride: stem.stride, pool: stem.pool ?? DEFAULTS.stemPool, antiAlias: stem.antiAlias ?? DEFAULTS.antiAlias };
  if (stem.type === 'conv') return { type: 'conv', kernelSize: stem.kernelSize, ...common };
  const mid = stem.midWidth ?? Math.max(1, Math.floor(stem.width / 2));
  return { type: 'deep', midWidths: typeof mid === 'number' ? [mid, mid] : [mid[0]!, mid[1]!], ...common };
}

export function normalizeBlock(block: NetSpec['block']): NormalizedBlock {
  const common = {
    preActivation: block.preActivation ?? DEFAULTS.preActivation,
    zeroInitResidual: block.zeroInitResidual ?? DEFAULTS.zeroInitResidual,
    shortcut: block.shortcut ?? DEFAULTS.shortcut,
    attention: block.attention ?? DEFAULTS.attention,
    seRatio: block.seRatio ?? DEFAULTS.seRatio,
    dropPath: block.dropPath ?? DEFAULTS.dropPath,
    antiAlias: block.antiAlias ?? DEFAULTS.antiAlias,
    reduceFirst: block.reduceFirst ?? DEFAULTS.reduceFirst,
    shortcutKernelSize: block.shortcutKernelSize ?? DEFAULTS.shortcutKernelSize,
  };
  return block.type === 'basic'
    ? { type: 'basic', expansion: 1, groups: 1, widthPerGroup: 64, strideOn: '3x3', ...common }
    : {
        type: 'bottleneck',
        expansion: block.expansion ?? DEFAULTS.expansion,
        groups: block.groups ?? DEFAULTS.groups,
        widthPerGroup: block.widthPerGroup ?? DEFAULTS.widthPerGroup,
        strideOn: block.strideOn ?? DEFAULTS.strideOn,
        ...common,
      };
}

/** torchvision's bottleneck width: ⌊width × widthPerGroup / 64⌋ × groups. */
export function bottleneckWidth(stageWidth: number, block: NormalizedBlock): number {
  return Math.floor((stageWidth * block.widthPerGroup) / 64) * block.groups;
}

/** The dilation of each stage's first 3×3 convolution and of its later ones, as torchvision accumulates it. */
export function stageDilations(stages: readonly Pick<Stage, 'stride' | 'dilate'>[]): { first: number; rest: number; stride: number }[] {
  let dilation = 1;
  return stages.map(({ stride, dilate }) => {
    const first = dilation;
    if (dilate) dilation *= stride;
    return { first, rest: dilation, stride: dilate ? 1 : stride };
  });
}
