import { existsSync, statSync } from 'node:fs';
import { findStale, hasErrors, planCompile, writePlan, type CompileOptions, type PlannedOutput } from '../project/compile-files.js';
import { UserError, UserErrors } from '../errors/user-error.js';
import { onnxSizeProblem } from '../emit/onnx-limit.js';
import { progressLine } from '../terminal/progress.js';
import { displayPath } from '../files/display-path.js';
import { outputsText } from '../emit/summary.js';
import { assertWritable } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { DEFAULT_OUT_DIR, DEFAULT_SPEC_ROOT } from '../project/paths.js';
import { defineCommand, UsageError } from './command-line.js';
import { printDiagnostics, SpecError } from './print-diagnostics.js';

export const command = defineCommand({
  name: 'compile',
  summary: 'Validate specs and generate one TypeScript module per spec',
  forms: [{ args: '[spec.json...]' }],
  description: `Validates every spec, renders all modules in memory, and only then writes them, each atomically. If any
spec has errors, nothing is written. A spec under the specs folder is mirrored under the output folder:
${DEFAULT_SPEC_ROOT}/imagenet/resnet34.json → ${DEFAULT_OUT_DIR}/imagenet/resnet34.ts. Every spec gets two modules: <spec>.ts
builds the TensorFlow.js model, <spec>.onnx.ts runs its ONNX export with onnxruntime-node. With --target pytorch
each also gets <spec>.py, the same network as a PyTorch nn.Module whose state_dict() keys are the names
'netspec weights import' reads.

Arguments:
  spec.json...   Spec files to compile (default: every .json file under the specs folder)`,
  options: {
    out: { type: 'string', arg: 'DIR', default: DEFAULT_OUT_DIR, help: 'Output folder' },
    specs: { type: 'string', arg: 'DIR', default: DEFAULT_SPEC_ROOT, help: 'Specs folder' },
    check: { type: 'boolean', help: 'Write nothing; exit 1 naming each output that is missing, stale or extra' },
    target: {
      type: 'choice',
      arg: 'TARGET',
      choices: ['tfjs', 'pytorch', 'onnx'],
      default: 'tfjs',
      help: "tfjs writes the modules; pytorch also writes <spec>.py, an nn.Module (with --check, checks those too); onnx also writes each model as ONNX (<spec>.onnx beside its modules) with freshly initialised weights from a fixed seed, where 'netspec export onnx --weights DIR' exports trained weights",
    },
  },
  run: async ({ values, positionals }) => {
    if (values.target === 'onnx' && values.check) throw new UsageError('--check compares the generated modules; it does not take --target onnx');
    return compileCommand({
      specs: positionals,
      specRoot: values.specs,
      outDir: values.out,
      check: values.check,
      onnx: values.target === 'onnx',
      pytorch: values.target === 'pytorch',
    });
  },
});

async function compileCommand(options: CompileOptions & { readonly check: boolean; readonly onnx: boolean }): Promise<number> {
  if (options.specs.length === 0 && !existsSync(options.specRoot))
    throw new UsageError(`no specs folder ${JSON.stringify(options.specRoot)}; pass spec files or --specs DIR`);
  if (options.specs.length === 0 && !statSync(options.specRoot).isDirectory())
    throw new UsageError(`--specs ${JSON.stringify(options.specRoot)} is a file, not a folder; pass spec files as arguments`);
  const started = performance.now();
  const plan = planCompile(options);
  if (hasErrors(plan.diagnostics)) throw new SpecError(plan.diagnostics, options.check ? '' : '; nothing was written');
  printDiagnostics(plan.diagnostics);
  if (options.check) return reportStale(findStale(plan, options.outDir, options.specs.length === 0), plan.outputs.length, options.pytorch === true);
  const onnxPath = (output: PlannedOutput) => output.files[0]!.target.replace(/\.ts$/, '.onnx');
  if (options.onnx) {
    // Before anything is written or any weight drawn: ONNX's 2 GiB limit, for every spec at once.
    const tooLarge = plan.outputs.flatMap((output) => onnxSizeProblem(output.graph) ?? []);
    if (tooLarge.length > 0) throw new UserErrors(tooLarge.map((problem) => new UserError(`${problem}; nothing was written`)));
    assertWritable(plan.outputs.map((output) => ({ path: onnxPath(output), kind: 'onnx' })));
  }
  writePlan(plan);
  if (options.onnx) {
    // Loaded for --target onnx only, so that other compiles do not load the ONNX encoder.
    const { emitOnnx } = await import('../emit/onnx.js');
    const { initialWeights } = await import('../weights/init.js');
    // Drawing the weights and encoding them takes a second or more a model: the count and the time left show on standard error.
    const progress = progressLine(process.stderr, 'onnx', 'specs');
    for (const [index, output] of plan.outputs.entries()) {
      writeAtomically(onnxPath(output), emitOnnx(output.graph, initialWeights(output.graph)), 'onnx');
      progress.update(index + 1, plan.outputs.length);
    }
    progress.end();
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

/** Generated files that `compile --check` finds missing, out of date or without a spec: one line each, then how to fix them. */
class StaleOutputError extends UserError {
  constructor(
    readonly stale: readonly string[],
    pytorch: boolean,
  ) {
    super(`${stale.length} generated file${stale.length === 1 ? ' is' : 's are'} stale; run 'npx netspec compile${pytorch ? ' --target pytorch' : ''}'`);
  }

  override lines(): readonly string[] {
    return [...this.stale.map((line) => `stale: ${line}`), this.message];
  }
}

/** `compile --check`: one line saying all is current, or a StaleOutputError. */
function reportStale(stale: readonly string[], specs: number, pytorch: boolean): number {
  if (stale.length > 0) throw new StaleOutputError(stale, pytorch);
  process.stdout.write(`${specs} spec${specs === 1 ? "'s" : "s'"} generated modules up to date\n`);
  return 0;
}
