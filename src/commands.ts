import { existsSync, statSync } from 'node:fs';
import { compileSpecFile, findStale, hasErrors, planCompile, writePlan, type CompileOptions, type PlannedOutput } from './compile-files.js';
import { formatDiagnostic, type Diagnostic } from './diagnostics.js';
import { outputsText, summarize, summaryTable } from './emit/summary.js';
import type { AnalyzedGraph } from './ir/analyze.js';
import { displayPath } from './display-path.js';
import { assertWritable } from './output-guard.js';
import { writeAtomically } from './output.js';

/** Prints diagnostics and a count line; prints nothing when there are none. */
function printDiagnostics(diagnostics: readonly Diagnostic[], consequence = ''): void {
  if (diagnostics.length === 0) return;
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const files = new Set(diagnostics.map((d) => d.file)).size;
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const counts = [...(errors > 0 ? [plural(errors, 'error')] : []), ...(warnings > 0 ? [plural(warnings, 'warning')] : [])].join(' and ');
  process.stderr.write(`${counts} in ${plural(files, 'spec')}${consequence}\n`);
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export async function compileCommand(options: CompileOptions & { readonly check: boolean; readonly onnx?: boolean }): Promise<number> {
  if (options.specs.length === 0 && !existsSync(options.specRoot)) {
    process.stderr.write(`netspec: no specs folder ${JSON.stringify(options.specRoot)}; pass spec files or --specs DIR\n`);
    return 2;
  }
  if (options.specs.length === 0 && !statSync(options.specRoot).isDirectory()) {
    process.stderr.write(`netspec: --specs ${JSON.stringify(options.specRoot)} is a file, not a folder; pass spec files as arguments\n`);
    return 2;
  }
  const started = performance.now();
  const plan = planCompile(options);
  if (hasErrors(plan.diagnostics)) {
    printDiagnostics(plan.diagnostics, options.check ? '' : '; nothing was written');
    return 1;
  }
  printDiagnostics(plan.diagnostics);
  if (options.check) {
    const stale = findStale(plan, options.outDir, options.specs.length === 0);
    for (const line of stale) process.stderr.write(`stale: ${line}\n`);
    if (stale.length > 0) {
      process.stderr.write(`${stale.length} generated file${stale.length === 1 ? ' is' : 's are'} stale; run 'npx netspec compile'\n`);
      return 1;
    }
    process.stdout.write(`${plan.outputs.length} spec${plan.outputs.length === 1 ? '\'s' : 's\''} generated modules up to date\n`);
    return 0;
  }
  const onnxPath = (output: PlannedOutput) => output.files[0]!.target.replace(/\.ts$/, '.onnx');
  if (options.onnx) assertWritable(plan.outputs.map((output) => ({ path: onnxPath(output), kind: 'onnx' })));
  writePlan(plan);
  if (options.onnx) {
    const { emitOnnx } = await import('./emit/onnx.js');
    const { initialWeights } = await import('./weights/init.js');
    for (const output of plan.outputs) writeAtomically(onnxPath(output), emitOnnx(output.graph, initialWeights(output.graph)), 'onnx');
  }
  for (const output of plan.outputs) {
    const { params } = output.graph;
    const onnx = options.onnx ? [onnxPath(output)] : [];
    const targets = [...output.files.map((file) => file.target), ...onnx].map(displayPath).join(', ');
    process.stdout.write(`${output.spec} → ${targets}  (${params.trainable.toLocaleString('en-US')} trainable params, output ${outputsText(output.graph)})\n`);
  }
  process.stdout.write(`compiled ${plan.outputs.length} spec${plan.outputs.length === 1 ? '' : 's'} in ${Math.round(performance.now() - started)} ms\n`);
  return 0;
}

/** Compiles one spec for a command that needs its analysis, printing its diagnostics; undefined on errors. */
export function analyzeSpecFile(spec: string): AnalyzedGraph | undefined {
  const result = compileSpecFile(spec);
  printDiagnostics(result.diagnostics);
  return result.ok ? result.graph : undefined;
}

export async function checkCommand(options: { readonly spec: string; readonly json: boolean }): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  process.stdout.write(options.json ? `${JSON.stringify(summarize(graph), null, 2)}\n` : `${summaryTable(graph)}\n`);
  return 0;
}
