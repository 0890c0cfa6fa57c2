import { sortDiagnostics, type Diagnostic } from './errors/diagnostics.js';
import type { EmitOptions } from './emit/header.js';
import { emitOnnxModule } from './emit/onnx-module.js';
import { emitPytorch } from './emit/pytorch.js';
import { emitTfjs } from './emit/tfjs.js';
import { analyze, type AnalyzedGraph } from './ir/analyze.js';
import { checkLimits } from './ir/limits.js';
import { resolveSizes } from './ir/sizes.js';
import { lower } from './spec/lower.js';
import { normalize } from './spec/normalize.js';
import { read } from './spec/read.js';
import { checkRules } from './spec/rules.js';
import { validate } from './spec/validate.js';

/** On success `diagnostics` holds only warnings; on failure at least one error. */
export type CompileResult =
  | {
      readonly ok: true;
      readonly graph: AnalyzedGraph;
      /** The TensorFlow.js module. */
      readonly code: string;
      /** The typed onnxruntime wrapper for the spec's ONNX export. */
      readonly onnxModule: string;
      /** The PyTorch module, for `compile --target pytorch`. */
      readonly pytorchModule: string;
      readonly diagnostics: readonly Diagnostic[];
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

const failed = (diagnostics: readonly Diagnostic[]): CompileResult => ({ ok: false, diagnostics: sortDiagnostics(diagnostics) });

/** The whole compiler: a spec file's bytes in, the analysed model and its TypeScript and Python modules out. Pure; no I/O. */
export function compileSpec(path: string, bytes: Uint8Array, options: EmitOptions = {}): CompileResult {
  const parsed = read(path, bytes);
  if (!parsed.document) return failed(parsed.diagnostics);
  const checked = validate(parsed.document);
  if (!checked.valid || parsed.diagnostics.length > 0) return failed([...parsed.diagnostics, ...checked.diagnostics]);
  const findings = checkRules(checked.valid);
  if (findings.some((d) => d.severity === 'error')) return failed(findings);
  const sized = resolveSizes(lower(normalize(checked.valid)), parsed.document);
  if (sized.diagnostics.length > 0) return failed([...findings, ...sized.diagnostics]);
  const graph = analyze(sized.graph, sized.sizes);
  const limitErrors = checkLimits(graph, parsed.document);
  if (limitErrors.length > 0) return failed([...findings, ...limitErrors]);
  return {
    ok: true,
    graph,
    code: emitTfjs(graph, options),
    onnxModule: emitOnnxModule(graph, options),
    pytorchModule: emitPytorch(graph, options),
    diagnostics: sortDiagnostics(findings),
  };
}
