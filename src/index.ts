// The library API: everything the CLI does, callable from code.
export { compileSpec, type CompileResult } from './compile.js';
export { planCompile, findStale, writePlan, type CompileOptions, type CompilePlan, type PlannedOutput } from './project/compile-files.js';
export { diagnosticCodes, formatDiagnostic, type Diagnostic, type DiagnosticCode } from './errors/diagnostics.js';
export { summarize, summaryTable, type Summary } from './emit/summary.js';
export type { AnalyzedGraph, LayerAnalysis, Shape } from './ir/analyze.js';
export type { Graph, Op, OpKind } from './ir/graph.js';
export type { NetSpec } from './spec/types.js';
