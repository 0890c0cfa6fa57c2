import { compileSpecFile } from '../project/compile-files.js';
import { formatDiagnostic, type Diagnostic } from '../errors/diagnostics.js';
import type { AnalyzedGraph } from '../ir/analyze.js';

/** Prints diagnostics and a count line to standard error; prints nothing when there are none. */
export function printDiagnostics(diagnostics: readonly Diagnostic[], consequence = ''): void {
  if (diagnostics.length === 0) return;
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const files = new Set(diagnostics.map((d) => d.file)).size;
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const counts = [...(errors > 0 ? [plural(errors, 'error')] : []), ...(warnings > 0 ? [plural(warnings, 'warning')] : [])].join(' and ');
  process.stderr.write(`${counts} in ${plural(files, 'spec')}${consequence}\n`);
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Compiles one spec for a command that needs its analysis, printing its diagnostics; undefined on errors. */
export function analyzeSpecFile(spec: string): AnalyzedGraph | undefined {
  const result = compileSpecFile(spec);
  printDiagnostics(result.diagnostics);
  return result.ok ? result.graph : undefined;
}
