import { formatDiagnostic, type Diagnostic, type DiagnosticCode } from '../errors/diagnostics.js';
import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { compileSpecFile } from '../project/compile-files.js';

/** Each diagnostic on a line, then a count line (`2 errors in 1 spec`, followed by `consequence`); none when there are none. */
function diagnosticLines(diagnostics: readonly Diagnostic[], consequence = ''): string[] {
  if (diagnostics.length === 0) return [];
  const files = new Set(diagnostics.map((d) => d.file)).size;
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const counts = [...(errors > 0 ? [plural(errors, 'error')] : []), ...(warnings > 0 ? [plural(warnings, 'warning')] : [])].join(' and ');
  return [...diagnostics.map(formatDiagnostic), `${counts} in ${plural(files, 'spec')}${consequence}`];
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Prints diagnostics (warnings, when the specs compile) and a count line to standard error; prints nothing when there are none. */
export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const line of diagnosticLines(diagnostics)) process.stderr.write(`${line}\n`);
}

/** Specs with errors: standard error shows every diagnostic, positioned, and the count, as the compiler reports them. */
export class SpecError extends UserError {
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    consequence = '',
  ) {
    super(diagnosticLines(diagnostics, consequence).join('\n'));
  }

  override lines(): readonly string[] {
    return this.message.split('\n');
  }
}

/** Warnings about training alone, which a command that only runs or converts a model leaves unsaid. */
const TRAINING_WARNINGS: readonly DiagnosticCode[] = ['NS501'];

/**
 * Compiles one spec for a command that needs its analysis, printing its warnings (for `use` 'inference', those that
 * concern training left out); throws SpecError on errors.
 */
export function analyzeSpecFile(spec: string, use: 'any' | 'inference' = 'any'): AnalyzedGraph {
  const result = compileSpecFile(spec);
  if (!result.ok) throw new SpecError(result.diagnostics);
  printDiagnostics(use === 'inference' ? result.diagnostics.filter((d) => !TRAINING_WARNINGS.includes(d.code)) : result.diagnostics);
  return result.graph;
}
