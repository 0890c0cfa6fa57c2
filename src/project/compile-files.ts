// The compiler over spec files on disk, for the library and the commands: read, compile in memory, compare with
// or write the output. Nothing here prints; the commands say what happened.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileSpec, type CompileResult } from '../compile.js';
import { sortDiagnostics, type Diagnostic } from '../errors/diagnostics.js';
import { displayPath } from '../files/display-path.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { assertWritable } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { findFiles } from '../files/find-files.js';
import { DEFAULT_OUT_DIR, DEFAULT_SPEC_ROOT, findCaseCollisions, findSpecs, isInsideFolder, outputPathFor } from './paths.js';
import { readBounded } from '../files/read-bounded.js';
import { MAX_SPEC_BYTES, sizeLimitMessage } from '../spec/read.js';

export interface CompileOptions {
  /** Spec files; empty means every spec under `specRoot`. */
  readonly specs: readonly string[];
  readonly specRoot: string;
  readonly outDir: string;
  /** Also the PyTorch module (`x.py`) beside the TypeScript ones. */
  readonly pytorch?: boolean;
}

/** A spec's generated files: the tfjs module (`x.ts`), the typed onnxruntime wrapper (`x.onnx.ts`) and, if asked, the PyTorch module (`x.py`). */
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
        ...(options.pytorch ? [{ target: target.replace(/\.ts$/, '.py'), code: result.pytorchModule }] : []),
      ];
      outputs.push({ spec: shown, graph: result.graph, files });
    }
  }
  diagnostics.push(...findCaseCollisions(outputs.flatMap((output) => output.files.map((file) => ({ spec: output.spec, target: file.target })))));
  return { outputs, diagnostics: sortDiagnostics(diagnostics) };
}

/** Compiles one spec file, for what needs its analysis (check, weights, predict, train); an unreadable file is a diagnostic. */
export function compileSpecFile(spec: string): CompileResult {
  const shown = displayPath(spec);
  const bytes = readSpecBytes(shown, spec);
  return bytes instanceof Uint8Array ? compileSpec(shown, bytes) : { ok: false, diagnostics: [bytes] };
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

/**
 * Outputs that differ from what is on disk, and (for a whole-folder compile) modules no spec produces: TypeScript
 * always, Python when the plan holds PyTorch modules.
 */
export function findStale(plan: CompilePlan, outDir: string, wholeFolder: boolean): string[] {
  const files = plan.outputs.flatMap((output) => output.files);
  const stale = files.filter((file) => !isCurrent(file.target, file.code)).map((file) => `${displayPath(file.target)} is missing or out of date`);
  if (wholeFolder && existsSync(outDir)) {
    const planned = new Set(files.map((file) => file.target));
    const kinds = files.some((file) => file.target.endsWith('.py')) ? ['.ts', '.py'] : ['.ts'];
    const extra = kinds
      .flatMap((kind) => findFiles(outDir, kind))
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

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** A spec file's bytes, read no further than the size limit (devices and pipes refused), or the diagnostic why not. */
function readSpecBytes(shown: string, path: string): Uint8Array | Diagnostic {
  const read = readBounded(path, MAX_SPEC_BYTES);
  if (read instanceof Uint8Array) return read;
  const [code, message] =
    read.kind === 'tooLarge' ? (['NS002', sizeLimitMessage(read.size)] as const) : (['NS001', `cannot read the spec: ${read.reason}`] as const);
  return { file: shown, line: 1, column: 1, severity: 'error', code, message };
}

/** Whether a file already holds exactly this text: read no further than the text's length, and a device, pipe or folder never is. */
function isCurrent(path: string, text: string): boolean {
  const expected = new TextEncoder().encode(text);
  const read = readBounded(path, expected.length);
  return read instanceof Uint8Array && read.length === expected.length && read.every((byte, i) => byte === expected[i]);
}
