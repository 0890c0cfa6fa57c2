// The PyTorch target: every generated nn.Module, built by Debian's PyTorch, holds exactly the compiler's
// parameters, under the names and shapes `netspec weights import` maps, initialised as each op declares, and
// produces the analysed output shapes. Outputs against torchvision's are in parity.test.ts.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import { analyzeAt } from '../src/ir/analyze.js';
import { probeSize } from './support/agreement.js';
import * as assert from 'uvu/assert';
import { planCompile } from '../src/project/compile-files.js';
import type { Init } from '../src/ops/op.js';
import { weightSlots } from '../src/weights/mapping.js';
import { pythonHas } from './support/python.js';

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

const available = pythonHas(PYTHON, 'torch');
const define = available ? test : test.skip;
if (!available) console.log(`\n  pytorch-target.test.ts skipped: the generated modules are checked with Debian's python3-torch at ${PYTHON}\n`);

/**
 * Of timm's zoo, resnet50_gn stands here for the one new op with weights (GroupNorm, its last-in-block scale zeroed):
 * building the 80 modules at full size would take minutes. timm.test.ts checks every timm spec's state dict
 * against timm's and runs a module of each combination of timm's options.
 */
const TIMM_HERE = 'specs/timm/resnet50_gn.json';
const outputs = planCompile({ specs: [], specRoot: 'specs', outDir: 'generated', pytorch: true }).outputs.filter(
  ({ spec }) => !spec.startsWith('specs/timm/') || spec === TIMM_HERE,
);
let reports = new Map<string, ModuleReport>();

test.before(() => {
  if (!available) return;
  const paths = outputs.map((output) => output.files.find((file) => file.target.endsWith('.py'))!.target);
  const run = spawnSync(PYTHON, ['scripts/pytorch-module-check.py', ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`the module check failed:\n${run.stderr}`);
  const parsed = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ModuleReport);
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

define('every spec: a forward pass gives the analysed output shapes, channels first (an open size at its smallest side)', () => {
  for (const { spec, graph } of outputs) {
    const report = reports.get(spec)!;
    // The same probe as the module check's: the smallest side, and the next for the width.
    const at = graph.sizes ? analyzeAt(graph, ...probeSize(graph)) : graph;
    const expected = Object.fromEntries(graph.outputs.map((output, i) => [output.name, channelsFirst(at.outputShapes[i]!)]));
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
  if (init.kind === 'constant')
    return tensor.min === Math.fround(init.value) && tensor.max === Math.fround(init.value)
      ? undefined
      : `not constant ${init.value}: ${tensor.min}…${tensor.max}`;
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

test("forward names values after what they hold, as torchvision's forwards do", () => {
  const source = (spec: string) => outputs.find((output) => output.spec === spec)!.files.find((file) => file.target.endsWith('.py'))!.code;
  const resnet50 = source('specs/imagenet/resnet50.json');
  // A bottleneck: the branch is `out`, the projection `identity`, the block's output `x` for the next block.
  for (const line of [
    'identity = self.layer1[0].downsample[0](x)',
    'out = out + identity',
    'x = self.layer1[0].relu3(out)',
    'out = out + x',
    'x = self.fc(x)',
  ]) {
    assert.ok(resnet50.includes(`        ${line}  #`), `resnet50: ${line}`);
  }
  const retinanet = source('specs/detection/retinanet_resnet50_fpn.json');
  // layer2's and layer3's outputs outlive layer4's (the FPN reads them): C3 and C4; the FPN's levels P3…P7.
  for (const line of [
    'inner_lateral = self.backbone.fpn.inner_blocks[1][0](c4)',
    'inner_top_down = F.interpolate(last_inner, size=inner_lateral.shape[-2:], mode="nearest")',
    'last_inner = inner_lateral + inner_top_down',
    'p3 = self.backbone.fpn.layer_blocks[0][0](last_inner)',
    'p7 = self.backbone.fpn.extra_blocks.p7(p6_relu)',
    'cls_logits = self.head.classification_head(p3, p4, p5, p6, p7)',
  ]) {
    assert.ok(retinanet.includes(`        ${line}  #`), `retinanet: ${line}`);
  }
  const deeplab = source('specs/segmentation/deeplabv3_resnet50.json');
  // The input is read again for the output size, so it is `images`; ASPP's branches are joined by name.
  for (const line of [
    'x = torch.cat([branch0, branch1, branch2, branch3, branch4], dim=1)',
    'x = self.aux_classifier[0](c4)',
    'out = F.interpolate(x, size=images.shape[-2:], mode="bilinear", align_corners=False)',
  ]) {
    assert.ok(deeplab.includes(`        ${line}  #`), `deeplabv3: ${line}`);
  }
  assert.ok(deeplab.includes('    def forward(self, images: Tensor) -> dict[str, Tensor]:'));
  // A value dead after its last read is deleted unless the next line takes its name: identity after the add.
  assert.ok(resnet50.includes('        out = out + identity  # 256×56×56\n        del identity\n'));
  for (const { spec, files } of outputs) {
    const code = files.find((file) => file.target.endsWith('.py'))!.code;
    assert.not.match(code, /^ {8}[yzwvu] = /m, `${spec} still names values y, z, w, v or u`);
  }
});

test.run();
