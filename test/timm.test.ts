// timm's ResNet zoo: every model timm 0.9.16 registers in timm/models/resnet.py has a spec in specs/timm/ whose
// analysis counts timm's trainable parameters and whose weights carry timm's state-dict names and shapes, so a timm
// checkpoint imports without renames. One representative of each combination of timm's options runs, at an odd
// input size, on every target — the tfjs model, the optimised path, ONNX on onnxruntime — against the generated
// PyTorch module on the same weights.
//
// Where the figures come from: timm is not packaged by Debian, so neither the test nor the repository runs it. The
// counts below and test/reference/timm/<model>.json (the state dict's names and shapes without BatchNorm's
// num_batches_tracked, and the default pretrained configuration's input size, mean, std, crop_pct and
// interpolation) were taken from timm at tag v0.9.16, run from its source tree with Debian's PyTorch 1.13:
// `timm.create_model(name)`, `sum(p.numel() for p in model.parameters())`, `model.state_dict()` and
// `model.pretrained_cfg`. With the same state dict, timm's own models and the generated PyTorch modules of the
// representatives below gave identical outputs (max |Δ| 0, at 97×65 with one block per stage; bench/results.md).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { inferencePlan } from '../src/emit/plan.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { optimizeForInference } from '../src/runtime/inference/optimize.js';
import { createSession } from '../src/runtime/onnx/index.js';
import { importCheckpoint } from '../src/weights/convert.js';
import { weightSlots } from '../src/weights/mapping.js';
import { readSafetensors, writeSafetensors, type FloatTensor } from '../src/weights/safetensors.js';
import { relativeError } from './support/error.js';
import { modelWithWeights, weightsFor } from './support/families.js';
import { pythonHas } from './support/python.js';

const PYTHON = '/usr/bin/python3';
const TOLERANCE = 1e-4;

/** timm 0.9.16's trainable parameters, `sum(p.numel() for p in model.parameters())`, for every model of resnet.py. */
const TIMM_TRAINABLE: Readonly<Record<string, number>> = {
  ecaresnet101d: 44_568_563,
  ecaresnet101d_pruned: 24_876_040,
  ecaresnet200d: 64_693_400,
  ecaresnet269d: 102_093_077,
  ecaresnet26t: 16_011_916,
  ecaresnet50d: 25_576_350,
  ecaresnet50d_pruned: 19_939_713,
  ecaresnet50t: 25_573_814,
  ecaresnetlight: 30_162_046,
  ecaresnext26t_32x4d: 15_406_220,
  ecaresnext50t_32x4d: 15_406_220,
  resnet101: 44_549_160,
  resnet101c: 44_568_392,
  resnet101d: 44_568_392,
  resnet101s: 44_672_936,
  resnet10t: 5_435_488,
  resnet14t: 10_081_632,
  resnet152: 60_192_808,
  resnet152c: 60_212_040,
  resnet152d: 60_212_040,
  resnet152s: 60_316_584,
  resnet18: 11_689_512,
  resnet18d: 11_708_744,
  resnet200: 64_673_832,
  resnet200d: 64_693_064,
  resnet26: 15_995_176,
  resnet26d: 16_014_408,
  resnet26t: 16_011_872,
  resnet34: 21_797_672,
  resnet34d: 21_816_904,
  resnet50: 25_557_032,
  resnet50_gn: 25_557_032,
  resnet50c: 25_576_264,
  resnet50d: 25_576_264,
  resnet50s: 25_680_808,
  resnet50t: 25_573_728,
  resnetaa101d: 44_568_392,
  resnetaa34d: 21_816_904,
  resnetaa50: 25_557_032,
  resnetaa50d: 25_576_264,
  resnetblur101d: 44_568_392,
  resnetblur18: 11_689_512,
  resnetblur50: 25_557_032,
  resnetblur50d: 25_576_264,
  resnetrs101: 63_618_696,
  resnetrs152: 86_621_576,
  resnetrs200: 93_209_992,
  resnetrs270: 129_861_448,
  resnetrs350: 163_956_168,
  resnetrs420: 191_891_656,
  resnetrs50: 35_691_912,
  resnext101_32x16d: 194_026_792,
  resnext101_32x32d: 468_530_472,
  resnext101_32x4d: 44_177_704,
  resnext101_32x8d: 88_791_336,
  resnext101_64x4d: 83_455_272,
  resnext50_32x4d: 25_028_904,
  resnext50d_32x4d: 25_048_136,
  senet154: 115_088_984,
  seresnet101: 49_326_872,
  seresnet152: 66_821_848,
  seresnet152d: 66_841_080,
  seresnet18: 11_779_624,
  seresnet200d: 71_855_096,
  seresnet269d: 113_672_760,
  seresnet34: 21_960_416,
  seresnet50: 28_088_024,
  seresnet50t: 28_104_720,
  seresnetaa50d: 28_107_256,
  seresnext101_32x4d: 48_955_416,
  seresnext101_32x8d: 93_569_048,
  seresnext101_64x4d: 88_232_984,
  seresnext101d_32x8d: 93_588_280,
  seresnext26d_32x4d: 16_809_512,
  seresnext26t_32x4d: 16_806_976,
  seresnext50_32x4d: 27_559_896,
  seresnextaa101d_32x8d: 93_588_280,
  seresnextaa201d_32x8d: 149_394_904,
  wide_resnet101_2: 126_886_696,
  wide_resnet50_2: 68_883_240,
};

/** What timm declares of a model, as test/reference/timm/<model>.json records it. */
interface TimmReference {
  readonly model: string;
  readonly pretrained: string;
  readonly input_size: readonly [number, number, number];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly crop_pct: number;
  readonly interpolation: string;
  /** `name shape` per state-dict entry, in timm's order. */
  readonly state_dict: readonly string[];
}

const reference = (model: string) => JSON.parse(readFileSync(join('test', 'reference', 'timm', `${model}.json`), 'utf8')) as TimmReference;
const slotsOf = (graph: AnalyzedGraph) => weightSlots(graph).map((slot) => `${slot.torchName} ${slot.torchShape.join('×')}`);

function compiled(path: string, text: string = readFileSync(path, 'utf8')): { graph: AnalyzedGraph; pytorchModule: string } {
  const result = compileSpec(path, new TextEncoder().encode(text));
  if (!result.ok) throw new Error(`${path}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
  return result;
}

/** Each committed timm spec compiled once, for the tests that go through all 80. */
const committed = new Map<string, { graph: AnalyzedGraph; pytorchModule: string }>();
function committedSpec(model: string): { graph: AnalyzedGraph; pytorchModule: string } {
  if (!committed.has(model)) committed.set(model, compiled(join('specs', 'timm', `${model}.json`)));
  return committed.get(model)!;
}

const specs = readdirSync(join('specs', 'timm'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.slice(0, -'.json'.length))
  .sort();

test('specs/timm holds one spec for each of the 80 models of timm 0.9.16 resnet.py, named as timm names them', () => {
  assert.equal(specs, Object.keys(TIMM_TRAINABLE).sort());
  assert.is(specs.length, 80);
  for (const model of specs) assert.is(JSON.parse(readFileSync(join('specs', 'timm', `${model}.json`), 'utf8')).name, model);
});

test("every timm spec: timm's trainable count, and exactly timm's state-dict names and shapes", () => {
  for (const model of specs) {
    const { graph } = committedSpec(model);
    assert.is(graph.params.trainable, TIMM_TRAINABLE[model], `${model} trainable`);
    const timm = reference(model).state_dict;
    assert.equal([...slotsOf(graph)].sort(), [...timm].sort(), model);
    // Trainable and running statistics together are every value of the state dict.
    const values = timm.reduce(
      (sum, entry) =>
        sum +
        entry
          .split(' ')[1]!
          .split('×')
          .reduce((n, d) => n * Number(d), 1),
      0,
    );
    assert.is(graph.params.total, values, `${model} total`);
  }
});

test("every timm spec: the input and preprocessing of timm's default pretrained configuration, carried into the generated module", () => {
  for (const model of specs) {
    const { graph } = committedSpec(model);
    const timm = reference(model);
    assert.equal(graph.inputShape, [timm.input_size[1], timm.input_size[2], timm.input_size[0]], `${model} input`);
    assert.equal(graph.preprocess, { mean: timm.mean, std: timm.std, cropFraction: timm.crop_pct, interpolation: timm.interpolation }, model);
  }
  const generated = readFileSync(join('generated', 'timm', 'resnetrs50.ts'), 'utf8');
  assert.ok(
    generated.includes(
      'export const imageTransform: ImageTransform = { height: 160, width: 160, channels: 3, fit: "crop", cropFraction: 0.91, interpolation: "bicubic", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };',
    ),
  );
});

/** Values for timm's names, as a timm checkpoint would hold them: seeded, a shape each. */
function timmStateDict(model: string): Map<string, FloatTensor> {
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  return new Map(
    reference(model).state_dict.map((entry) => {
      const [name, dims] = entry.split(' ') as [string, string];
      const shape = dims.split('×').map(Number);
      // A plain loop: Float32Array.from with a function takes three times as long over these tens of millions of values.
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      const offset = name.endsWith('running_var') ? 1 : 0;
      for (let i = 0; i < data.length; i++) data[i] = offset + next();
      return [name, { dtype: 'F32', shape, data }] as const;
    }),
  );
}

test("a state dict under timm's names imports with no renames, every tensor in place", () => {
  for (const model of ['resnetblur18', 'resnet50_gn', 'ecaresnet50d_pruned']) {
    const { graph } = committedSpec(model);
    const state = timmStateDict(model);
    const imported = importCheckpoint(graph, `${model}.safetensors`, readSafetensors(`${model}.safetensors`, writeSafetensors(state)));
    assert.equal(imported.skipped, [], model);
    assert.equal(imported.skippedLayers, [], model);
    assert.is(
      imported.weights.reduce((sum, w) => sum + w.data.length, 0),
      graph.params.total,
      model,
    );
  }
});

test("weights import hands the spec's preprocessing to the weights folder, for predict and eval", () => {
  const folder = mkdtempSync(join(tmpdir(), 'netspec-timm-import-'));
  try {
    writeFileSync(join(folder, 'resnet10t.safetensors'), writeSafetensors(timmStateDict('resnet10t')));
    const run = spawnSync(
      process.execPath,
      ['dist/cli.js', 'weights', 'import', 'specs/timm/resnet10t.json', join(folder, 'resnet10t.safetensors'), '--out', join(folder, 'weights')],
      { encoding: 'utf8' },
    );
    assert.is(run.status, 0, run.stderr);
    const manifest = JSON.parse(readFileSync(join(folder, 'weights', 'model.json'), 'utf8')) as { input?: unknown; skipped: unknown[] };
    const timm = reference('resnet10t');
    assert.equal(manifest.input, { mean: timm.mean, std: timm.std, cropFraction: timm.crop_pct, interpolation: timm.interpolation });
    assert.equal(manifest.skipped, []);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

// ---- Numerical parity of one representative per combination of timm's options ------------------------------------

/**
 * Each combination of timm's options that the zoo uses, and the model that stands for it; the rest of the zoo differs
 * from its representative only in depth and width (resnet101 from resnet50, seresnet152d from seresnext26t…).
 * Combinations that test/parity.test.ts runs against torchvision under the same names (resnet18 and resnet34,
 * resnet50 and its deeper and wider kin, resnext50_32x4d, seresnet50 and with it SE on basic blocks, ecaresnet50d
 * and the deep-stem, pooled-shortcut resnet*d) are represented there.
 */
const REPRESENTATIVES: readonly (readonly [model: string, combination: string])[] = [
  ['resnet18d', 'basic blocks, deep stem, pooled shortcuts (resnet18d, resnet34d)'],
  ['resnet10t', 'tiered deep stem, pooled shortcuts (resnet10t, 14t, 26t, 50t)'],
  ['resnet50_gn', 'GroupNorm (resnet50_gn)'],
  ['ecaresnetlight', 'ECA with a 7×7 stem and pooled shortcuts (ecaresnetlight)'],
  ['ecaresnext26t_32x4d', 'ECA, grouped, tiered stem (ecaresnet26t, 50t, the ecaresnext and ecaresnet*d models)'],
  ['ecaresnet50d_pruned', 'pruned per-block widths (ecaresnet50d_pruned, ecaresnet101d_pruned)'],
  ['seresnext26t_32x4d', 'SE, grouped, tiered stem (seresnet50t, seresnext26d/26t, seresnet*d, seresnext101d)'],
  ['senet154', "senet154's reduced first convolutions and 3×3 strided shortcuts"],
  ['resnetblur18', 'BlurPool anti-aliasing in basic blocks (resnetblur18)'],
  ['resnetblur50d', 'BlurPool anti-aliasing, deep stem (resnetblur50, 50d, 101d)'],
  ['resnetaa34d', 'average-pool anti-aliasing in basic blocks (resnetaa34d)'],
  ['resnetaa50', 'average-pool anti-aliasing with convolution shortcuts (resnetaa50)'],
  ['seresnextaa101d_32x8d', 'average-pool anti-aliasing, SE, grouped (resnetaa50d, 101d, seresnetaa50d, seresnextaa*)'],
  ['resnetrs50', 'ResNet-RS: convolutional stem pool, SE ratio 0.25 (resnetrs50 … 420)'],
];

/**
 * The representative at 97×65 — odd, yet even wherever average-pool anti-aliasing strides, as that pool requires
 * (timm's models fail there too) — with one block per stage; the pruned models keep all theirs.
 */
function representative(model: string): { graph: AnalyzedGraph; pytorchModule: string } {
  const spec = JSON.parse(readFileSync(join('specs', 'timm', `${model}.json`), 'utf8')) as {
    input: object;
    stages: { depths: number[]; blockWidths?: unknown };
  };
  spec.input = { height: 97, width: 65, channels: 3 };
  if (!spec.stages.blockWidths) spec.stages.depths = spec.stages.depths.map(() => 1);
  return compiled(`specs/timm/${model}.json`, JSON.stringify(spec));
}

const available = pythonHas(PYTHON, 'torch');
if (!available) console.log(`\n  timm.test.ts: the parity checks need Debian's python3-torch at ${PYTHON}; skipped\n`);
const define = available ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-timm-'));
const twinStateDicts = new Map<string, string[]>();

test.before(async () => {
  if (!available) return;
  await initBackend({ backend: 'wasm', log: () => {} });
  const input = tf.tidy(() => tf.randomNormal([2, 3, 97, 65], 0, 1, 'float32', 3));
  writeFileSync(
    join(folder, 'input.safetensors'),
    writeSafetensors(new Map([['input', { dtype: 'F32', shape: [2, 3, 97, 65], data: input.dataSync() as Float32Array }]])),
  );
  input.dispose();
  for (const [model] of REPRESENTATIVES) {
    const { graph, pytorchModule } = representative(model);
    writeFileSync(join(folder, `${model}.py`), pytorchModule);
    writeFileSync(join(folder, `${model}.safetensors`), writeSafetensors(weightsFor(graph)));
  }
  const run = spawnSync(PYTHON, ['scripts/pytorch-outputs.py', folder, ...REPRESENTATIVES.map(([model]) => model)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`the generated PyTorch modules failed:\n${run.stderr}`);
  for (const line of run.stdout.trim().split('\n')) {
    const report = JSON.parse(line) as { name: string; state_dict: string[] };
    twinStateDicts.set(report.name, report.state_dict);
  }
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

for (const [model, combination] of REPRESENTATIVES) {
  define(`${model} — ${combination}: tfjs, the optimised path and ONNX match the generated PyTorch module within ${TOLERANCE}`, async () => {
    const { graph } = representative(model);
    // The PyTorch twin holds what the analysis maps, which for the full model is timm's state dict (above).
    assert.equal([...twinStateDicts.get(model)!].sort(), [...slotsOf(graph)].sort(), "the generated module's state dict");
    const weights = readSafetensors(model, readFileSync(join(folder, `${model}.safetensors`))).tensors as Map<string, FloatTensor>;
    const reference = readSafetensors('outputs', readFileSync(join(folder, `${model}.outputs.safetensors`))).tensors.get('output') as FloatTensor;
    const expected = tf.tensor(reference.data, [...reference.shape]);
    const nchw = readSafetensors('input', readFileSync(join(folder, 'input.safetensors'))).tensors.get('input') as FloatTensor;
    const images = tf.tidy(() => tf.tensor(nchw.data, [...nchw.shape]).transpose([0, 2, 3, 1])) as tf.Tensor4D;
    const model_ = modelWithWeights(graph, weights);
    const fast = optimizeForInference(model_, inferencePlan(graph));
    const session = await createSession(emitOnnx(graph, weights), { log: () => {} });
    const onnx = (await session.run({ input: new ort.Tensor('float32', nchw.data, [...nchw.shape]) })).output!;
    const outputs = {
      tfjs: model_.predict(images) as tf.Tensor,
      'the optimised path': fast.predict(images) as tf.Tensor,
      ONNX: tf.tensor(onnx.data as Float32Array, [...onnx.dims]),
    };
    for (const [target, actual] of Object.entries(outputs)) {
      assert.equal(actual.shape, expected.shape, target);
      const error = relativeError(actual, expected);
      assert.ok(error <= TOLERANCE, `${target}: relative max |Δ| ${error.toExponential(2)}`);
    }
    tf.dispose([expected, images, ...Object.values(outputs)]);
    await session.release();
    fast.dispose();
    model_.dispose();
  });
}

test.run();
