// Mapping PyTorch state dicts onto generated models: layouts checked on hand-worked examples, every mismatch
// reported at once, partial imports for fine-tuning, renames, the weights folder and the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { exportCheckpoint, importCheckpoint, renameKey, type ImportOptions } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { toTfjs, toTorch, weightSlots } from '../src/weights/mapping.js';
import { readSafetensors, WeightFileError, writeSafetensors, type FloatTensor, type SafetensorsFile } from '../src/weights/safetensors.js';
import { conv2d, dense, globalAvgPool } from '../src/runtime/ops/index.js';
import { checkpointFor } from './support/checkpoint.js';

const tinySpec = (classes: number) => ({
  name: 'tiny',
  input: { height: 8, width: 8, channels: 2 },
  stem: { type: 'conv', width: 4, kernelSize: 3, stride: 1 },
  block: { type: 'bottleneck', groups: 2, widthPerGroup: 32, expansion: 2 },
  stages: { widths: [4, 8], depths: [1, 1], strides: [1, 2] },
  head: { type: 'classifier', classes },
});

function analyzed(spec: object): AnalyzedGraph {
  const result = compileSpec('specs/tiny.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!result.ok) throw new Error('does not compile');
  return result.graph;
}

const readBack = (tensors: Map<string, FloatTensor>) => readSafetensors('ckpt.safetensors', writeSafetensors(tensors));

/** A safetensors file of `tensors` in which those named in `halves` are stored as these F16 or BF16 bit patterns. */
function withHalves(tensors: Map<string, FloatTensor>, halves: Map<string, { dtype: 'F16' | 'BF16'; bits: number[] }>): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const half = halves.get(name);
    const bytes = half ? new Uint8Array(new Uint16Array(half.bits).buffer) : new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    header[name] = { dtype: half?.dtype ?? 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

/** The problems a refused import reports. */
function importProblems(graph: AnalyzedGraph, checkpoint: SafetensorsFile, options: ImportOptions = {}): readonly string[] {
  try {
    importCheckpoint(graph, 'ckpt.safetensors', checkpoint, options);
  } catch (error) {
    if (error instanceof WeightFileError) return error.problems;
    throw error;
  }
  throw new Error('the import should have failed');
}

/** `tensors` with the values at the given indices of one tensor replaced. */
function poisoned(tensors: Map<string, FloatTensor>, name: string, values: Record<number, number>): Map<string, FloatTensor> {
  const tensor = tensors.get(name)!;
  const data = tensor.data.slice();
  for (const [index, value] of Object.entries(values)) data[Number(index)] = value;
  return new Map(tensors).set(name, { shape: tensor.shape, data });
}

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

test('OIHW → HWIO and [out, in] → [in, out], worked by hand', () => {
  const conv = { layer: 'c', torchName: 'c.weight', torchShape: [2, 1, 1, 2], tfjsName: 'c/kernel', tfjsShape: [1, 2, 1, 2], layout: 'conv' as const };
  // torch[o][i][h][w]: o0 = [1, 2], o1 = [3, 4] along w. tfjs[h][w][i][o]: w0 = [1, 3], w1 = [2, 4].
  assert.equal([...toTfjs(conv, new Float32Array([1, 2, 3, 4]))], [1, 3, 2, 4]);
  const linear = { layer: 'fc', torchName: 'fc.weight', torchShape: [2, 3], tfjsName: 'fc/kernel', tfjsShape: [3, 2], layout: 'linear' as const };
  assert.equal([...toTfjs(linear, new Float32Array([1, 2, 3, 4, 5, 6]))], [1, 4, 2, 5, 3, 6]);
  assert.equal([...toTorch(linear, new Float32Array([1, 4, 2, 5, 3, 6]))], [1, 2, 3, 4, 5, 6]);
});

test('the grouped 3×3 convolution maps as PyTorch stores it: [out, in / groups, k, k]', () => {
  const slot = weightSlots(analyzed(tinySpec(3))).find((s) => s.torchName === 'layer1.0.conv2.weight')!;
  // Stage width 4, widthPerGroup 32, groups 2: ⌊4·32/64⌋·2 = 4 channels in 2 groups of 2.
  assert.equal(
    [slot.torchShape, slot.tfjsShape],
    [
      [4, 2, 3, 3],
      [3, 3, 2, 4],
    ],
  );
});

test('imported weights reproduce a convolution computed by hand', async () => {
  // One 2-channel pixel through a 1×1 conv (out 2) and a dense layer: conv weight OIHW [[1, 2], [3, 4]] gives
  // channels (1·x0 + 2·x1, 3·x0 + 4·x1) = (5, 11) for x = (1, 2); dense [[1, −1]] with bias 0.5 gives 5 − 11 + 0.5.
  const input = tf.input({ shape: [1, 1, 2] });
  const model = tf.model({
    inputs: input,
    outputs: dense(globalAvgPool(conv2d(input, 'c', { filters: 2, kernelSize: 1, stride: 1, padding: 0 }), 'p'), 'fc', { units: 1 }),
  });
  const slots = [
    { layer: 'c', torchName: 'c.weight', torchShape: [2, 2, 1, 1], tfjsName: 'c/kernel', tfjsShape: [1, 1, 2, 2], layout: 'conv' as const },
    { layer: 'fc', torchName: 'fc.weight', torchShape: [1, 2], tfjsName: 'fc/kernel', tfjsShape: [2, 1], layout: 'linear' as const },
  ];
  model.getLayer('c').setWeights([tf.tensor(toTfjs(slots[0]!, new Float32Array([1, 2, 3, 4])), [1, 1, 2, 2])]);
  model.getLayer('fc').setWeights([tf.tensor(toTfjs(slots[1]!, new Float32Array([1, -1])), [2, 1]), tf.tensor([0.5])]);
  const output = model.predict(tf.tensor4d([1, 2], [1, 1, 1, 2])) as tf.Tensor;
  assert.equal(await output.data(), new Float32Array([-5.5]));
  model.dispose();
});

test('missing, unexpected and misshapen tensors are reported together, naming layers and both shapes', () => {
  const graph = analyzed(tinySpec(3));
  const tensors = checkpointFor(graph);
  tensors.delete('layer2.0.bn3.running_var');
  tensors.set('fc.weight', { shape: [5, 16], data: new Float32Array(80) });
  tensors.set('head.extra', { shape: [2], data: new Float32Array(2) });
  try {
    importCheckpoint(graph, 'ckpt.safetensors', readBack(tensors));
    assert.unreachable('the import should fail');
  } catch (error) {
    assert.instance(error, WeightFileError);
    assert.equal((error as WeightFileError).problems, [
      'missing layer2.0.bn3.running_var (layer2.0.bn3 expects [16])',
      'fc.weight is [5, 16] but fc expects [3, 16]',
      'unexpected head.extra [2]: no layer of tiny has it',
    ]);
  }
});

test('--partial loads what matches and keeps a resized classifier at its initialisation', async () => {
  const source = analyzed(tinySpec(5));
  const target = analyzed(tinySpec(3));
  const imported = importCheckpoint(target, 'ckpt', readBack(checkpointFor(source)), { partial: true });
  assert.equal(imported.skippedLayers, ['fc']);
  assert.equal(imported.skipped, ['fc.weight is [5, 16] but fc expects [3, 16]', 'fc.bias is [5] but fc expects [3]']);
  const folder = mkdtempSync(join(tmpdir(), 'netspec-partial-'));
  writeWeightsFolder(folder, 'tiny', imported.weights, imported.skippedLayers);
  const { manifest } = await readWeightsFolder(folder);
  assert.equal(manifest.skipped, ['fc']);

  // The generated module loads the partial folder: imported layers take its values, fc keeps its initialisation.
  const compiled = compileSpec('specs/tiny.json', new TextEncoder().encode(JSON.stringify(tinySpec(3))));
  if (!compiled.ok) throw new Error('does not compile');
  const modules = join('test', `.weights-${process.pid}`);
  mkdirSync(modules, { recursive: true });
  writeFileSync(join(modules, 'tiny.ts'), compiled.code);
  const generated = await import(`./.weights-${process.pid}/tiny.ts`);
  const model = (await generated.createModel({ weights: folder })) as tf.LayersModel;
  const stem = imported.weights.find((w) => w.name === 'conv1/kernel')!;
  assert.equal(await model.getLayer('conv1').getWeights()[0]!.data(), stem.data);
  const [fcKernel] = model.getLayer('fc').getWeights();
  assert.equal(fcKernel!.shape, [16, 3]);
  assert.ok(new Set(await fcKernel!.data()).size > 1, 'fc drawn at random, not left at zero');
  model.dispose();
  rmSync(modules, { recursive: true });
  rmSync(folder, { recursive: true });
});

test('NaN and ±Inf in F32 tensors are refused, every bad tensor listed with counts and the first index, beside the other problems', () => {
  const graph = analyzed(tinySpec(3));
  let tensors = poisoned(checkpointFor(graph), 'conv1.weight', { 17: NaN, 20: NaN, 30: Infinity, 71: NaN });
  tensors = poisoned(tensors, 'fc.bias', { 2: -Infinity });
  tensors.delete('bn1.running_var');
  assert.equal(importProblems(graph, readBack(tensors)), [
    'missing bn1.running_var (bn1 expects [4])',
    'conv1.weight holds 3 NaN and 1 +Inf values (first at index 17)',
    'fc.bias holds 1 -Inf value (at index 2)',
  ]);
});

test('a negative BatchNorm variance is refused naming the tensor, as PyTorch and onnxruntime would turn it into NaN; a variance of 0 imports', () => {
  const graph = analyzed(tinySpec(3));
  const negative = poisoned(poisoned(checkpointFor(graph), 'bn1.running_var', { 1: -0.5 }), 'layer1.0.bn1.running_var', { 0: -1, 3: -2 });
  assert.equal(importProblems(graph, readBack(negative)), [
    'bn1.running_var holds 1 negative variance (-0.5 at index 1); a BatchNorm variance cannot be below 0',
    'layer1.0.bn1.running_var holds 2 negative variances (first -1 at index 0); a BatchNorm variance cannot be below 0',
  ]);
  // A negative mean or scale is ordinary, and a variance of exactly 0 is still divided by √ε.
  const ordinary = poisoned(poisoned(checkpointFor(graph), 'bn1.running_mean', { 0: -3 }), 'bn1.running_var', { 2: 0 });
  assert.is(importCheckpoint(graph, 'ckpt', readBack(ordinary)).weights.length, ordinary.size);
});

test('NaN and ±Inf stored as F16 or BF16 are refused once widened', () => {
  const graph = analyzed(tinySpec(3));
  const tensors = checkpointFor(graph);
  // F16: 0x3C00 = 1, 0x7E00 = NaN, 0x7C00 = +Inf, 0xFC00 = −Inf. BF16: 0x3F80 = 1, 0x7FC0 = NaN, 0xFF80 = −Inf.
  const halves = new Map([
    ['bn1.weight', { dtype: 'F16' as const, bits: [0x3c00, 0x7e00, 0x7c00, 0xfc00] }],
    ['layer1.0.bn1.bias', { dtype: 'BF16' as const, bits: [0x3f80, 0x3f80, 0xff80, 0xff80] }],
    ['layer1.0.bn1.running_mean', { dtype: 'BF16' as const, bits: [0x3f80, 0x3f80, 0x3f80, 0x7fc0] }],
  ]);
  assert.equal(importProblems(graph, readSafetensors('ckpt.safetensors', withHalves(tensors, halves))), [
    'bn1.weight holds 1 NaN, 1 +Inf and 1 -Inf values (first at index 1)',
    'layer1.0.bn1.bias holds 2 -Inf values (first at index 2)',
    'layer1.0.bn1.running_mean holds 1 NaN value (at index 3)',
  ]);
  // The largest F16 (0x7BFF = 65504) and the smallest subnormal (0x0001) are finite and import.
  const finite = new Map([
    ['bn1.weight', { dtype: 'F16' as const, bits: [0x3c00, 0x3c00, 0x7bff, 0x0001] }],
    ['layer1.0.bn1.bias', { dtype: 'BF16' as const, bits: [0x3f80, 0x3f80, 0x3f80, 0x3f80] }],
  ]);
  assert.is(importCheckpoint(graph, 'ckpt', readSafetensors('ckpt', withHalves(tensors, finite))).weights.length, tensors.size);
});

test('--partial refuses NaN and ±Inf too, and refuses a checkpoint of which no tensor matches, showing both spellings', () => {
  const source = analyzed(tinySpec(5));
  const target = analyzed(tinySpec(3));
  const nan = poisoned(checkpointFor(source), 'layer2.0.conv3.weight', { 5: NaN });
  assert.equal(importProblems(target, readBack(nan), { partial: true }), ['layer2.0.conv3.weight holds 1 NaN value (at index 5)']);

  const prefixed = new Map([...checkpointFor(target)].map(([name, tensor]) => [`backbone.${name}`, tensor]));
  assert.equal(importProblems(target, readBack(prefixed), { partial: true }), [
    'no tensor of the checkpoint matched any layer of tiny: the checkpoint has backbone.conv1.weight, backbone.bn1.weight, … (47 in all); ' +
      'tiny expects conv1.weight, bn1.weight, … (47 in all); if the names differ by a prefix or a module name, --rename from=to maps them',
  ]);
  assert.is(importCheckpoint(target, 'ckpt', readBack(prefixed), { partial: true, renames: [['backbone', '']] }).weights.length, 47);
  assert.match(importProblems(target, readBack(new Map()), { partial: true })[0]!, /: the checkpoint has no floating-point tensors; tiny expects /);
});

test('renames replace whole dot-separated segments only', () => {
  const renames = [
    ['shortcut', 'downsample'],
    ['module', ''],
  ] as const;
  assert.is(renameKey('module.layer1.0.shortcut.0.weight', renames), 'layer1.0.downsample.0.weight');
  assert.is(renameKey('layer1.0.shortcut_extra.weight', renames), 'layer1.0.shortcut_extra.weight');
  assert.is(renameKey('submodule.conv1.weight', renames), 'submodule.conv1.weight');
});

test('a weights folder loads into the model, and a mismatched folder is refused naming every problem', async () => {
  const graph = analyzed(tinySpec(3));
  const imported = importCheckpoint(graph, 'ckpt', readBack(checkpointFor(graph)));
  const folder = mkdtempSync(join(tmpdir(), 'netspec-folder-'));
  writeWeightsFolder(folder, 'tiny', imported.weights, []);
  const { weights } = await readWeightsFolder(folder);
  const exported = exportCheckpoint(graph, folder, weights, []);
  assert.equal(
    [...exported.keys()],
    weightSlots(graph).map((s) => s.torchName),
  );

  // Stage 2 at width 4 has a bottleneck of ⌊4·32/64⌋·2 = 4 channels instead of 8.
  const other = analyzed({ ...tinySpec(3), stages: { widths: [4, 4], depths: [1, 1], strides: [1, 2] } });
  assert.throws(() => exportCheckpoint(other, folder, weights, []), /layer2\.0\.conv1\/kernel is \[1, 1, 8, 8\] but layer2\.0\.conv1 expects \[1, 1, 8, 4\]/);
  rmSync(folder, { recursive: true });
});

test('weights import and export through the CLI: exit codes, nothing written on error, a faithful round trip', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-weights-cli-'));
  const specPath = join(root, 'tiny.json');
  writeFileSync(specPath, JSON.stringify(tinySpec(3)));
  const graph = analyzed(tinySpec(3));
  const tensors = checkpointFor(graph);
  writeFileSync(join(root, 'good.safetensors'), writeSafetensors(tensors));
  tensors.delete('fc.bias');
  writeFileSync(join(root, 'bad.safetensors'), writeSafetensors(tensors));
  const cli = (args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });

  const bad = cli(['weights', 'import', 'tiny.json', 'bad.safetensors', '--out', 'w']);
  assert.is(bad.status, 1);
  assert.is(bad.stderr, 'bad.safetensors: missing fc.bias (fc expects [3])\n1 problem; nothing was written\n');
  assert.not.ok(existsSync(join(root, 'w')));

  const good = cli(['weights', 'import', 'tiny.json', 'good.safetensors', '--out', 'w']);
  assert.is(good.status, 0, good.stderr);
  // 9 convolutions (stem, 3 + projection per block) + 9 BatchNorms × 4 tensors + fc weight and bias = 47.
  assert.match(good.stdout, /^imported 47 tensors \(0\.0 MiB\) of tiny from good\.safetensors into w in \d+ ms\n$/);
  const back = cli(['weights', 'export', 'tiny.json', 'w', '--out', 'back.safetensors']);
  assert.is(back.status, 0, back.stderr);
  const original = readSafetensors('good', readFileSync(join(root, 'good.safetensors')));
  const returned = readSafetensors('back', readFileSync(join(root, 'back.safetensors')));
  for (const [name, tensor] of original.tensors) assert.equal([...returned.tensors.get(name)!.data], [...tensor.data], name);

  assert.is(cli(['weights', 'import', 'tiny.json', 'good.safetensors']).status, 2, '--out is required');
  assert.is(cli(['weights', 'frobnicate', 'tiny.json', 'x']).status, 2);
  assert.is(cli(['weights', 'import', 'tiny.json', 'good.safetensors', '--out', 'w', '--rename', 'nonsense']).status, 2);
  rmSync(root, { recursive: true });
});

test('weights import through the CLI refuses NaN and ±Inf and a --partial that matches nothing: exit 1, nothing written', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-weights-cli-'));
  writeFileSync(join(root, 'tiny.json'), JSON.stringify(tinySpec(3)));
  const tensors = checkpointFor(analyzed(tinySpec(3)));
  writeFileSync(
    join(root, 'nan.safetensors'),
    writeSafetensors(poisoned(poisoned(tensors, 'bn1.running_var', { 1: NaN }), 'fc.weight', { 0: Infinity, 9: -Infinity })),
  );
  writeFileSync(join(root, 'renamed.safetensors'), writeSafetensors(new Map([...tensors].map(([name, tensor]) => [`model.${name}`, tensor]))));
  const cli = (args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });

  for (const partial of [[], ['--partial']]) {
    const nan = cli(['weights', 'import', 'tiny.json', 'nan.safetensors', '--out', 'w', ...partial]);
    assert.is(nan.status, 1);
    assert.is(
      nan.stderr,
      'nan.safetensors: bn1.running_var holds 1 NaN value (at index 1)\n' +
        'nan.safetensors: fc.weight holds 1 +Inf and 1 -Inf values (first at index 0)\n' +
        '2 problems; nothing was written\n',
    );
    assert.not.ok(existsSync(join(root, 'w')));
  }

  const renamed = cli(['weights', 'import', 'tiny.json', 'renamed.safetensors', '--out', 'w', '--partial']);
  assert.is(renamed.status, 1);
  assert.is(
    renamed.stderr,
    'renamed.safetensors: no tensor of the checkpoint matched any layer of tiny: the checkpoint has model.conv1.weight, model.bn1.weight, … (47 in all); ' +
      'tiny expects conv1.weight, bn1.weight, … (47 in all); if the names differ by a prefix or a module name, --rename from=to maps them\n' +
      '1 problem; nothing was written\n',
  );
  assert.not.ok(existsSync(join(root, 'w')));
  rmSync(root, { recursive: true });
});

test('loadWeights refuses a folder that does not fit, and can dispose the model it was given', async () => {
  const graph = analyzed(tinySpec(3));
  const imported = importCheckpoint(graph, 'ckpt', readBack(checkpointFor(graph)), {});
  const folder = mkdtempSync(join(tmpdir(), 'netspec-load-'));
  writeWeightsFolder(
    folder,
    'tiny',
    imported.weights.filter((w) => !w.name.startsWith('fc/')),
    [],
  );
  const input = tf.input({ shape: [8, 8, 2] });
  const model = tf.model({
    inputs: input,
    outputs: dense(globalAvgPool(conv2d(input, 'conv1', { filters: 4, kernelSize: 3, stride: 1, padding: 1 }), 'avgpool'), 'fc', { units: 3 }),
  });
  const failure = await loadWeights(model, folder, { disposeOnError: true }).then(
    () => undefined,
    (error: Error) => error.message,
  );
  assert.match(failure ?? '', /\n {2}missing fc\/kernel \(Dense fc expects \[4, 3\]\)\n/);
  assert.match(failure ?? '', /\n {2}unexpected layer1\.0\.conv1\/kernel: no layer of \S+ has it\n/);
  assert.throws(() => model.dispose(), /already disposed/);
  rmSync(folder, { recursive: true });
});

test.run();
