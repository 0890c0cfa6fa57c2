// The ONNX target: every block family exported to ONNX and run by onnxruntime agrees with the tfjs model built
// from the same weights; the typed wrapper runs exports of any batch size and checks its input.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { emitOnnx, OPSET } from '../src/emit/onnx.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { createSession } from '../src/runtime/onnx/index.js';
import { initialWeights } from '../src/weights/init.js';
import { families, familySpec, modelWithWeights, weightsFor } from './support/families.js';
import { relativeError } from './support/error.js';

const TOLERANCE = 1e-4;
const quiet = { log: () => {} };

function analyzed(spec: object): AnalyzedGraph {
  const result = compileSpec('specs/x.json', new TextEncoder().encode(JSON.stringify(familySpec(spec))));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result.graph;
}

test.before(async () => {
  await initBackend({ backend: 'wasm', ...quiet });
});

for (const [family, overrides] of Object.entries(families)) {
  test(`${family}: onnxruntime agrees with tfjs within ${TOLERANCE} of the output scale`, async () => {
    const graph = analyzed(overrides);
    const weights = weightsFor(graph);
    const session = await createSession(emitOnnx(graph, weights), quiet);
    const model = modelWithWeights(graph, weights);
    const [h, w, c] = graph.inputShape as [number, number, number];
    const images = tf.randomNormal([2, h, w, c], 0, 1, 'float32', 11);
    const results = await session.run({ input: new ort.Tensor('float32', (await images.transpose([0, 3, 1, 2]).data()) as Float32Array, [2, c, h, w]) });
    const expected = model.predict(images) as tf.Tensor | tf.Tensor[];
    const references = Array.isArray(expected) ? expected : [expected];
    graph.outputs.forEach((output, i) => {
      const reference = references[i]!.rank === 4 ? references[i]!.transpose([0, 3, 1, 2]) : references[i]!;
      const actual = tf.tensor(results[output.name]!.data as Float32Array, [...results[output.name]!.dims]);
      assert.equal(actual.shape, reference.shape, output.name);
      const error = relativeError(actual, reference);
      assert.ok(error <= TOLERANCE, `${output.name}: relative max |Δ| ${error.toExponential(2)}`);
    });
    model.dispose();
    await session.release();
  });
}

test('the export is standard ONNX: pinned opset, named input and outputs, dynamic batch, BatchNorm folded', () => {
  const graph = analyzed({ block: { type: 'bottleneck' }, outputs: ['C3'] });
  const model = onnxProto.onnx.ModelProto.decode(emitOnnx(graph, initialWeights(graph)));
  assert.equal(
    model.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [['', OPSET]],
  );
  assert.equal(
    model.graph!.input!.map((i) => i.name),
    ['input'],
  );
  assert.equal(
    model.graph!.output!.map((o) => o.name),
    ['C3', 'logits'],
  );
  const dims = model.graph!.input![0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  assert.equal(dims, ['batch', 3, 24, 24]);
  const types = model.graph!.node!.map((n) => n.opType);
  assert.not.ok(types.includes('BatchNormalization'), 'every BatchNorm here follows a convolution');
  assert.is(types.filter((t) => t === 'Conv').length, graph.ops.filter((op) => op.kind === 'conv2d').length);
});

test("compile --target onnx writes each spec's ONNX model beside its modules, and export onnx from a weights folder", () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-onnx-cli-'));
  mkdirSync(join(root, 'specs'));
  writeFileSync(join(root, 'specs', 'x.json'), JSON.stringify(familySpec(families.basic!)));
  const cli = (args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
  const run = cli(['compile', '--target', 'onnx']);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /specs\/x\.json → generated\/x\.ts, generated\/x\.onnx\.ts, generated\/x\.onnx /);
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(join(root, 'generated', 'x.onnx')));
  assert.equal(
    model.graph!.output!.map((o) => o.name),
    ['output'],
  );
  assert.is(cli(['compile', '--target', 'tflite']).status, 2);
  const exported = cli(['export', 'onnx', 'specs/x.json', '--out', 'x.onnx']);
  assert.is(exported.status, 0, exported.stderr);
  assert.match(exported.stdout, /^wrote x\.onnx: x as ONNX \(opset 17, BatchNorm folded\) with freshly initialised weights/);
  assert.equal(readFileSync(join(root, 'x.onnx')), readFileSync(join(root, 'generated', 'x.onnx')));
  assert.is(cli(['export', 'onnx', 'specs/x.json', '--weights', 'missing', '--out', 'y.onnx']).status, 1);
  rmSync(root, { recursive: true });
});

test("a model past ONNX's 2 GiB is refused by export onnx and compile --target onnx before any weight is drawn or file written", () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-onnx-large-'));
  // Two basic blocks of 4096 channels on an 8×8 input: 4 convolutions of 3 × 3 × 4096 × 4096 = 151 million weights each,
  // 604 million parameters, 2.25 GiB as float32, within the compiler's limit of 10^9 but past what one ONNX file holds.
  const spec = {
    name: 'wide',
    input: { height: 8, width: 8, channels: 1 },
    stem: { type: 'conv', width: 4096, kernelSize: 3, stride: 1, pool: 'none' },
    block: { type: 'basic' },
    stages: { widths: [4096], depths: [2], strides: [1] },
    head: { type: 'classifier', classes: 10 },
  };
  mkdirSync(join(root, 'specs'));
  writeFileSync(join(root, 'specs', 'wide.json'), JSON.stringify(spec));
  const cli = (args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const started = performance.now();
  const exported = cli(['export', 'onnx', 'specs/wide.json', '--out', 'wide.onnx']);
  assert.is(exported.status, 1, exported.stderr);
  assert.match(
    exported.stderr,
    /^netspec: wide has 604,\d{3},\d{3} parameters, 2\.25 GiB as float32: past the 2 GiB that one ONNX file \(a protocol buffer\) can hold; netspec writes single-file ONNX models, so export a smaller model, or use the TensorFlow\.js or PyTorch targets\n$/,
  );
  const compiled = cli(['compile', '--target', 'onnx']);
  assert.is(compiled.status, 1, compiled.stderr);
  assert.match(compiled.stderr, /^netspec: wide has 604,\d{3},\d{3} parameters, .*; nothing was written\n$/);
  assert.ok(performance.now() - started < 20_000, 'refused without building 2 GiB');
  assert.equal(readdirSync(root).sort(), ['specs'], 'nothing written');
  rmSync(root, { recursive: true });
});

test('exports are byte-identical from run to run', () => {
  const graph = analyzed({ block: { type: 'basic' } });
  assert.equal(emitOnnx(graph, initialWeights(graph)), emitOnnx(graph, initialWeights(graph)));
});

test('the generated onnxruntime wrapper runs any batch size, types its output and checks its input', async () => {
  const spec = JSON.parse(readFileSync('specs/resnet18.json', 'utf8'));
  const result = compileSpec('specs/resnet18.json', readFileSync('specs/resnet18.json'));
  if (!result.ok) throw new Error('does not compile');
  const folder = join('test', `.onnx-${process.pid}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'resnet18.onnx.ts'), result.onnxModule);
  const wrapper = await import(`./.onnx-${process.pid}/resnet18.onnx.ts`);
  assert.equal(wrapper.inputShape, [spec.input.channels, spec.input.height, spec.input.width]);
  const lines: string[] = [];
  const model = await wrapper.load(emitOnnx(result.graph, initialWeights(result.graph)), { threads: 1, log: (line: string) => lines.push(line) });
  assert.equal(lines, ['netspec: onnxruntime execution provider cpu (this onnxruntime-node has no CUDA execution provider)']);
  for (const batch of [1, 3]) {
    const output = await model.predict(new Float32Array(batch * 3 * 32 * 32).fill(0.5), batch);
    assert.equal(output.dims, [batch, 10]);
    assert.ok(output.data.every(Number.isFinite));
  }
  await model.predict(new Float32Array(10), 1).then(
    () => assert.unreachable('should refuse'),
    (error: Error) => assert.is(error.message, 'expected 1 image(s) of [3, 32, 32] = 3072 values, got 10'),
  );
  await model.session.release();
  // Another spec's export, 3 classes where this module's spec has 10: refused by its output's shape, not returned.
  const other = { ...spec, head: { ...spec.head, classes: 3 } };
  const otherResult = compileSpec('other.json', new TextEncoder().encode(JSON.stringify(other)));
  if (!otherResult.ok) throw new Error('the 3-class variant does not compile');
  const wrong = await wrapper.load(emitOnnx(otherResult.graph, initialWeights(otherResult.graph)), { threads: 1, log: () => {} });
  await wrong.predict(new Float32Array(2 * 3 * 32 * 32), 2).then(
    () => assert.unreachable('should refuse'),
    (error: Error) => assert.is(error.message, 'the ONNX model\'s output "output" is [2, 3] where [2, 10] is expected: is it the export of another spec?'),
  );
  await wrong.session.release();
  rmSync(folder, { recursive: true });
});

test.run();
