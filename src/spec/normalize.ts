import type { NetSpec } from './types.js';
import type { ValidSpec } from './validate.js';

/** Defaults of the optional fields; a test holds them equal to the schema's `default` values. */
export const DEFAULTS = {
  stemPool: 'none',
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
  batchNormEpsilon: 1e-5,
  batchNormMomentum: 0.1,
} as const;

export interface Stage {
  readonly width: number;
  readonly depth: number;
  readonly stride: number;
  readonly dilate: boolean;
}

export type NormalizedStem =
  | { readonly type: 'conv'; readonly width: number; readonly kernelSize: number; readonly stride: number; readonly pool: 'none' | 'max' }
  | { readonly type: 'deep'; readonly width: number; readonly midWidth: number; readonly stride: number; readonly pool: 'none' | 'max' };

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
  /** Stochastic depth rate at the last block. */
  readonly dropPath: number;
}

export type NormalizedHead =
  | { readonly type: 'classifier'; readonly classes: number; readonly dropout: number }
  | { readonly type: 'pool' }
  | { readonly type: 'none' };

/** A spec with every default filled in and the stage lists zipped into one entry per stage. */
export interface NormalizedSpec {
  readonly source: { readonly path: string; readonly sha256: string };
  readonly name: string;
  readonly description: string;
  readonly input: { readonly height: number; readonly width: number; readonly channels: number };
  readonly stem: NormalizedStem;
  readonly block: NormalizedBlock;
  readonly stages: readonly Stage[];
  readonly head: NormalizedHead;
  /** Stage outputs returned as features (C2 = first stage); empty for a single-output model. */
  readonly outputs: readonly string[];
  /** In PyTorch's convention: momentum is the weight of the new batch statistic. */
  readonly batchNorm: { readonly epsilon: number; readonly momentum: number };
}

/** Fills in defaults; the stage lists must already be known to have equal lengths (see rules). */
export function normalize({ document, spec }: ValidSpec): NormalizedSpec {
  return {
    source: { path: document.path, sha256: document.sha256 },
    name: spec.name,
    description: spec.description ?? '',
    input: { height: spec.input.height, width: spec.input.width, channels: spec.input.channels },
    stem: normalizeStem(spec.stem),
    block: normalizeBlock(spec.block),
    stages: spec.stages.widths.map((width, i) => ({
      width,
      depth: spec.stages.depths[i]!,
      stride: spec.stages.strides[i]!,
      dilate: spec.stages.dilate?.[i] ?? false,
    })),
    head:
      spec.head.type === 'classifier'
        ? { type: 'classifier', classes: spec.head.classes, dropout: spec.head.dropout ?? DEFAULTS.dropout }
        : { type: spec.head.type },
    outputs: [...(spec.outputs ?? [])],
    batchNorm: {
      epsilon: spec.batchNorm?.epsilon ?? DEFAULTS.batchNormEpsilon,
      momentum: spec.batchNorm?.momentum ?? DEFAULTS.batchNormMomentum,
    },
  };
}

export function normalizeStem(stem: NetSpec['stem']): NormalizedStem {
  const pool = stem.pool ?? DEFAULTS.stemPool;
  return stem.type === 'conv'
    ? { type: 'conv', width: stem.width, kernelSize: stem.kernelSize, stride: stem.stride, pool }
    : { type: 'deep', width: stem.width, midWidth: stem.midWidth ?? Math.max(1, Math.floor(stem.width / 2)), stride: stem.stride, pool };
}

export function normalizeBlock(block: NetSpec['block']): NormalizedBlock {
  const common = {
    preActivation: block.preActivation ?? DEFAULTS.preActivation,
    zeroInitResidual: block.zeroInitResidual ?? DEFAULTS.zeroInitResidual,
    shortcut: block.shortcut ?? DEFAULTS.shortcut,
    attention: block.attention ?? DEFAULTS.attention,
    dropPath: block.dropPath ?? DEFAULTS.dropPath,
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
