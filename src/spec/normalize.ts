import type { Block, ClassifierHead, Input, NetSpec, NoHead, PoolHead } from './types.js';
import type { ValidSpec } from './validate.js';

/** Defaults of the optional fields; a test holds them equal to the schema's `default` values. */
export const DEFAULTS = {
  stemPool: 'none',
  batchNormEpsilon: 1e-5,
  batchNormMomentum: 0.1,
} as const satisfies {
  stemPool: NonNullable<NetSpec['stem']['pool']>;
  batchNormEpsilon: number;
  batchNormMomentum: number;
};

export interface Stage {
  readonly width: number;
  readonly depth: number;
  readonly stride: number;
}

/** A spec with every default filled in and the stage lists zipped into one entry per stage. */
export interface NormalizedSpec {
  readonly source: { readonly path: string; readonly sha256: string };
  readonly name: string;
  readonly description: string;
  readonly input: Readonly<Input>;
  readonly stem: {
    readonly type: 'conv';
    readonly width: number;
    readonly kernelSize: number;
    readonly stride: number;
    readonly pool: 'none' | 'max';
  };
  readonly block: Readonly<Block>;
  readonly stages: readonly Stage[];
  readonly head: Readonly<ClassifierHead | PoolHead | NoHead>;
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
    stem: {
      type: spec.stem.type,
      width: spec.stem.width,
      kernelSize: spec.stem.kernelSize,
      stride: spec.stem.stride,
      pool: spec.stem.pool ?? DEFAULTS.stemPool,
    },
    block: { type: spec.block.type },
    stages: spec.stages.widths.map((width, i) => ({
      width,
      depth: spec.stages.depths[i]!,
      stride: spec.stages.strides[i]!,
    })),
    head: { ...spec.head },
    batchNorm: {
      epsilon: spec.batchNorm?.epsilon ?? DEFAULTS.batchNormEpsilon,
      momentum: spec.batchNorm?.momentum ?? DEFAULTS.batchNormMomentum,
    },
  };
}
