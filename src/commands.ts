import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileSpec } from './compile.js';
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { outputsText, summarize, summaryTable } from './emit/summary.js';
import type { AnalyzedGraph } from './ir/analyze.js';
import { displayPath } from './display-path.js';
import { readBounded } from './read-bounded.js';
import { assertWritable } from './output-guard.js';
import { MAX_SPEC_BYTES, sizeLimitMessage } from './spec/read.js';
import { DEFAULT_OUT_DIR, DEFAULT_SPEC_ROOT, findCaseCollisions, findFiles, findSpecs, isCurrent, isInsideFolder, outputPathFor, writeAtomically } from './output.js';

export interface CompileOptions {
  /** Spec files; empty means every spec under `specRoot`. */
  readonly specs: readonly string[];
  readonly specRoot: string;
  readonly outDir: string;
}

/** A spec's generated files: the tfjs module (`x.ts`) and the typed onnxruntime wrapper (`x.onnx.ts`). */
export interface PlannedOutput {
  readonly spec: string;
  readonly graph: AnalyzedGraph;
  /** Absolute paths and contents, the tfjs module first. */
  readonly files: readonly { readonly target: string; readonly code: string }[];
}

export interface CompilePlan {
  readonly outputs: readonly PlannedOutput[];
  readonly diagnostics: readonly Diagnostic[];
}

/** Compiles a batch of specs entirely in memory; nothing is written, so a bad spec cannot leave half a batch. */
export function planCompile(options: CompileOptions): CompilePlan {
  const specs = options.specs.length > 0 ? [...options.specs] : findSpecs(options.specRoot);
  const outputs: PlannedOutput[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const spec of specs) {
    const shown = displayPath(spec);
    const bytes = readSpecBytes(shown, spec);
    if (!(bytes instanceof Uint8Array)) {
      diagnostics.push(bytes);
      continue;
    }
    const result = compileSpec(shown, bytes, { regenerate: regenerateCommand(spec, options) });
    diagnostics.push(...result.diagnostics);
    if (result.ok) {
      const target = outputPathFor(spec, options.specRoot, options.outDir);
      const files = [
        { target, code: result.code },
        { target: target.replace(/\.ts$/, '.onnx.ts'), code: result.onnxModule },
      ];
      outputs.push({ spec: shown, graph: result.graph, files });
    }
  }
  diagnostics.push(...findCaseCollisions(outputs.flatMap((output) => output.files.map((file) => ({ spec: output.spec, target: file.target })))));
  return { outputs, diagnostics: sortDiagnostics(diagnostics) };
}

/**
 * The command that remakes a spec's modules where they are, as their header states it: the folders when they are
 * not the defaults, and the spec itself when it lies outside the specs folder (a whole-folder compile would miss it).
 */
function regenerateCommand(spec: string, options: CompileOptions): string {
  const words = ['npx netspec compile'];
  if (!isInsideFolder(spec, options.specRoot)) words.push(shellWord(displayPath(spec)));
  else if (resolve(options.specRoot) !== resolve(DEFAULT_SPEC_ROOT)) words.push('--specs', shellWord(displayPath(options.specRoot)));
  if (resolve(options.outDir) !== resolve(DEFAULT_OUT_DIR)) words.push('--out', shellWord(displayPath(options.outDir)));
  return words.join(' ');
}

/** A path as one shell word: quoted when it holds anything but plain path characters. */
const shellWord = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** Outputs that differ from what is on disk, and (for a whole-folder compile) modules no spec produces. */
export function findStale(plan: CompilePlan, outDir: string, wholeFolder: boolean): string[] {
  const files = plan.outputs.flatMap((output) => output.files);
  const stale = files.filter((file) => !isCurrent(file.target, file.code)).map((file) => `${displayPath(file.target)} is missing or out of date`);
  if (wholeFolder && existsSync(outDir)) {
    const planned = new Set(files.map((file) => file.target));
    const extra = findFiles(outDir, '.ts')
      .map((file) => resolve(file))
      .filter((file) => !planned.has(file));
    stale.push(...extra.map((file) => `${displayPath(file)} has no spec`));
  }
  return stale;
}

export function writePlan(plan: CompilePlan): void {
  if (hasErrors(plan.diagnostics)) throw new Error('refusing to write a batch that has errors');
  const files = plan.outputs.flatMap((output) => output.files);
  assertWritable(files.map((file) => ({ path: file.target, kind: 'generated-text' })));
  for (const file of files) writeAtomically(file.target, file.code, 'generated-text');
}

/** A spec file's bytes, read no further than the size limit (devices and pipes refused), or the diagnostic why not. */
function readSpecBytes(shown: string, path: string): Uint8Array | Diagnostic {
  const read = readBounded(path, MAX_SPEC_BYTES);
  if (read instanceof Uint8Array) return read;
  const [code, message] = read.kind === 'tooLarge' ? (['NS002', sizeLimitMessage(read.size)] as const) : (['NS001', `cannot read the spec: ${read.reason}`] as const);
  return { file: shown, line: 1, column: 1, severity: 'error', code, message };
}

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

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

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
  const shown = displayPath(spec);
  const bytes = readSpecBytes(shown, spec);
  const result = bytes instanceof Uint8Array ? compileSpec(shown, bytes) : { ok: false as const, diagnostics: [bytes] };
  printDiagnostics(result.diagnostics);
  return result.ok ? result.graph : undefined;
}

export async function checkCommand(options: { readonly spec: string; readonly json: boolean }): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  process.stdout.write(options.json ? `${JSON.stringify(summarize(graph), null, 2)}\n` : `${summaryTable(graph)}\n`);
  return 0;
}
