import { diagnose, type Diagnostic, type DiagnosticCode, type SourceDocument } from '../errors/diagnostics.js';
import type { AnalyzedGraph } from './analyze.js';

/** Beyond these a model cannot be built or trained here; refusing early beats running out of memory. */
export const LIMITS = {
  trainableParams: 1_000_000_000,
  macs: 10_000_000_000_000,
  ops: 5_000,
  /** Elements of the largest feature map of one image: 2^28 float32 values are 1 GiB. */
  activation: 2 ** 28,
} as const;

const CODE: DiagnosticCode = 'NS301';

/** Reports every limit the analysed model exceeds, at the spec field that drives it. */
export function checkLimits(graph: AnalyzedGraph, document: SourceDocument): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const exceeds = (pointer: string, what: string, value: number, limit: number) => {
    if (value > limit) {
      diagnostics.push(diagnose(document, CODE, pointer, `the model has ${format(value)} ${what}, above the limit of ${format(limit)}`));
    }
  };
  exceeds('/stages/widths', 'trainable parameters', graph.params.trainable, LIMITS.trainableParams);
  exceeds('/stages', 'multiply-accumulates per image', graph.macs, LIMITS.macs);
  exceeds('/stages/depths', 'layers', graph.layers.length, LIMITS.ops);
  const largest = graph.layers.reduce((a, b) => (elements(b.outputShape) > elements(a.outputShape) ? b : a));
  exceeds(
    '/input',
    `values in its largest feature map (${largest.op.name}, ${largest.outputShape.join('×')})`,
    elements(largest.outputShape),
    LIMITS.activation,
  );
  return diagnostics;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A count with digit separators; past 2^53 a double holds only an approximation, so it is written as one. */
function format(value: number): string {
  return Number.isSafeInteger(value) ? value.toLocaleString('en-US') : `about ${value.toPrecision(3)}`;
}
