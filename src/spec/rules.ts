import type { Diagnostic, DiagnosticCode } from '../diagnostics.js';
import { diagnose } from './read.js';
import { outputSize } from '../ir/analyze.js';
import { BLOCK_KERNEL, STEM_POOL } from '../ir/lower.js';
import { DEFAULTS } from './normalize.js';
import type { ValidSpec } from './validate.js';

interface Finding {
  readonly pointer: string;
  readonly message: string;
}

interface Rule {
  readonly code: DiagnosticCode;
  /** The rule, stated as the sentence a user reads when it is broken. */
  readonly sentence: string;
  readonly check: (spec: ValidSpec['spec']) => Finding[];
}

/** The semantic rules that the schema cannot express, one entry each. They run on a schema-valid spec. */
export const rules: readonly Rule[] = [
  {
    code: 'NS201',
    sentence: 'stages.widths, stages.depths and stages.strides have one entry per stage',
    check: ({ stages }) =>
      (['depths', 'strides'] as const)
        .filter((list) => stages[list].length !== stages.widths.length)
        .map((list) => ({
          pointer: `/stages/${list}`,
          message: `stages.${list} has ${stages[list].length} entries but stages.widths has ${stages.widths.length}; each stage needs one width, one depth and one stride`,
        })),
  },
  {
    code: 'NS202',
    sentence: 'every stride meets a feature map at least as large as the stride',
    check: (spec) => {
      const findings: Finding[] = [];
      let size = [spec.input.height, spec.input.width] as const;
      const downsample = (pointer: string, what: string, kernel: number, stride: number, padding: number) => {
        if (stride > 1 && Math.min(...size) < stride) {
          findings.push({
            pointer,
            message: `${what} has stride ${stride} but receives a ${size[0]}×${size[1]} feature map, which it cannot reduce; the ${spec.input.height}×${spec.input.width} input is too small for this model's strides`,
          });
        }
        size = [outputSize(size[0], kernel, stride, padding), outputSize(size[1], kernel, stride, padding)];
      };
      const { kernelSize, stride, pool = DEFAULTS.stemPool } = spec.stem;
      downsample('/stem/stride', 'the stem convolution', kernelSize, stride, Math.floor(kernelSize / 2));
      if (pool === 'max') downsample('/stem/pool', 'the stem max-pool', STEM_POOL.size, STEM_POOL.stride, STEM_POOL.padding);
      spec.stages.strides.forEach((s, i) => downsample(`/stages/strides/${i}`, `stage ${i + 1}`, BLOCK_KERNEL, s, 1));
      return findings;
    },
  },
];

/** Applies every rule and positions each finding at the field it names. */
export function checkRules({ document, spec }: ValidSpec): Diagnostic[] {
  return rules.flatMap((rule) =>
    rule.check(spec).map((finding) => diagnose(document, rule.code, finding.pointer, finding.message)),
  );
}
