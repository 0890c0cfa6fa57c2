// The PyTorch target: every generated nn.Module, built by Debian's PyTorch, holds exactly the compiler's
// parameters, under the names and shapes `netspec weights import` maps, initialised as each op declares, and
// produces the analysed output shapes. Outputs against torchvision's are in parity.test.ts.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planCompile } from '../src/project/compile-files.js';
import type { Init } from '../src/ops/op.js';
import { weightSlots } from '../src/weights/mapping.js';

const PYTHON = '/usr/bin/python3';

interface TensorReport {
  readonly name: string;
  readonly shape: number[];
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
}

interface ModuleReport {
  readonly path: string;
  readonly trainable: number;
  readonly nonTrainable: number;
  readonly declared: { trainable: number; non_trainable: number };
  readonly outputs: Record<string, number[]>;
  readonly declaredOutputs: Record<string, number[]>;
  readonly tensors: TensorReport[];
}

const available = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const define = available ? test : test.skip;
if (!available) console.log(`\n  pytorch-target.test.ts skipped: the generated modules are checked with Debian's python3-torch at ${PYTHON}\n`);

const outputs = planCompile({ specs: [], specRoot: 'specs', outDir: 'generated', pytorch: true }).outputs;
let reports = new Map<string, ModuleReport>();

test.before(() => {
  if (!available) return;
  const paths = outputs.map((output) => output.files.find((file) => file.target.endsWith('.py'))!.target);
  const run = spawnSync(PYTHON, ['scripts/pytorch-module-check.py', ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`the module check failed:\n${run.stderr}`);
  const parsed = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as ModuleReport);
  reports = new Map(parsed.map((report, i) => [outputs[i]!.spec, report]));
});

const channelsFirst = (shape: readonly number[]) => (shape.length === 3 ? [shape[2]!, shape[0]!, shape[1]!] : [...shape]);

define('every spec: parameters and BatchNorm statistics count what the analysis counts', () => {
  for (const { spec, graph } of outputs) {
    const report = reports.get(spec)!;
    assert.is(report.trainable, graph.params.trainable, `${spec} trainable`);
    assert.is(report.nonTrainable, graph.params.nonTrainable, `${spec} running statistics`);
    assert.equal(report.declared, { trainable: graph.params.trainable, non_trainable: graph.params.nonTrainable }, `${spec} PARAMS`);
  }
});

define('every spec: state_dict() holds exactly the tensors weights import maps, with their PyTorch shapes', () => {
  for (const { spec, graph } of outputs) {
    const actual = reports.get(spec)!.tensors.map((t) => `${t.name} ${t.shape.join('×')}`);
    const expected = weightSlots(graph).map((slot) => `${slot.torchName} ${slot.torchShape.join('×')}`);
    assert.equal(actual.sort(), expected.sort(), spec);
  }
});

define('every spec: a forward pass gives the analysed output shapes, channels first', () => {
  for (const { spec, graph } of outputs) {
    const report = reports.get(spec)!;
    const expected = Object.fromEntries(graph.outputs.map((output, i) => [output.name, channelsFirst(graph.outputShapes[i]!)]));
    assert.equal(report.outputs, expected, spec);
    assert.equal(report.declaredOutputs, expected, `${spec} OUTPUT_SHAPES`);
  }
});

/**
 * Whether a tensor's initial values could have been drawn as `init` says, within five standard errors: the sample
 * standard deviation of n normal values has a relative standard error of about 1/√(2n), of uniform ones about
 * √(0.8)/(2√n) ≈ 0.45/√n (the uniform's kurtosis is 1.8); the mean has σ/√n.
 */
function drawnAs(tensor: TensorReport, init: Init): string | undefined {
  const n = tensor.shape.reduce((a, b) => a * b, 1);
  // A float32 tensor holds the constant rounded to float32 (RetinaNet's prior −log 99, for one).
  if (init.kind === 'constant') return tensor.min === Math.fround(init.value) && tensor.max === Math.fround(init.value) ? undefined : `not constant ${init.value}: ${tensor.min}…${tensor.max}`;
  const sigma = init.kind === 'normal' ? init.std : init.bound / Math.sqrt(3);
  const stdError = (init.kind === 'normal' ? 1 / Math.sqrt(2 * n) : 0.45 / Math.sqrt(n)) * 5;
  if (Math.abs(tensor.std / sigma - 1) > stdError) return `std ${tensor.std} where ${init.kind} gives ${sigma}`;
  if (Math.abs(tensor.mean) > (5 * sigma) / Math.sqrt(n)) return `mean ${tensor.mean}`;
  if (init.kind === 'uniform' && Math.max(-tensor.min, tensor.max) > init.bound * (1 + 1e-6)) return `beyond ±${init.bound}`;
  return undefined;
}

define('every spec: each weight starts as its op declares (He normal, uniform, ones and zeros, zero-init residuals)', () => {
  for (const { spec, graph } of outputs) {
    const byName = new Map(reports.get(spec)!.tensors.map((t) => [t.name, t]));
    for (const slot of weightSlots(graph)) {
      const problem = drawnAs(byName.get(slot.torchName)!, slot.init);
      assert.ok(problem === undefined, `${spec} ${slot.torchName}: ${problem}`);
    }
  }
});

define('the check is not vacuous: a kernel drawn with another scale, or a shifted constant, is caught', () => {
  const tensor = (std: number, n = 4096): TensorReport => ({ name: 'w', shape: [n], min: -1, max: 1, mean: 0, std });
  assert.is(drawnAs(tensor(0.1), { kind: 'normal', std: 0.1 }), undefined);
  // kaiming_uniform's default (a = √5) gives std 1/√(3·fan_in) instead of He normal's √(2/fan_out): off by far more than 5 errors.
  assert.ok(drawnAs(tensor(0.1 / Math.sqrt(6)), { kind: 'normal', std: 0.1 }) !== undefined);
  assert.ok(drawnAs({ ...tensor(0), min: 1, max: 1, mean: 1 }, { kind: 'constant', value: 0 }) !== undefined);
});

test.run();
