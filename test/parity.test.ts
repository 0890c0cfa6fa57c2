// Numerical parity with PyTorch: weights written by PyTorch are imported, the generated model runs on the wasm
// backend, and its outputs must match PyTorch's eval-mode outputs within 1e-4 of their largest magnitude. The
// generated PyTorch module, loaded with the same state dict by the reference script, must match them within 1e-5.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { outputPathFor } from '../src/project/paths.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { createSession } from '../src/runtime/onnx/index.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { exportCheckpoint, importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { readSafetensors, type FloatTensor } from '../src/weights/safetensors.js';
import type { GeneratedModule } from './support/agreement.js';
import { relativeError } from './support/error.js';
import { pythonHas } from './support/python.js';

const PYTHON = '/usr/bin/python3';
const TOLERANCE = 1e-4;
/** The generated PyTorch module against the reference: the same arithmetic in the same library, so closer. */
const EMITTED_TOLERANCE = 1e-5;

/** The models the reference script writes, the spec each corresponds to, and the renames its checkpoint needs. */
const models = [
  { name: 'founding_resnet34', spec: 'specs/resnet34.json', renames: [['shortcut', 'downsample']] as [string, string][] },
  { name: 'resnet18', spec: 'specs/imagenet/resnet18.json', renames: [] },
  { name: 'resnet34', spec: 'specs/imagenet/resnet34.json', renames: [] },
  { name: 'resnet50', spec: 'specs/imagenet/resnet50.json', renames: [] },
  { name: 'resnext50_32x4d', spec: 'specs/imagenet/resnext50_32x4d.json', renames: [] },
  // timm's variants, built by the reference script from torchvision's resnet50 with timm's modules and names.
  { name: 'seresnet50', spec: 'specs/imagenet/seresnet50.json', renames: [] },
  { name: 'ecaresnet50d', spec: 'specs/imagenet/ecaresnet50d.json', renames: [] },
  // torchvision's resnet50 with layer3 and layer4 dilated, as a backbone of C2…C5.
  { name: 'resnet50_dilated8', spec: 'specs/imagenet/resnet50_dilated8.json', renames: [] },
];

const available = pythonHas(PYTHON, 'torch', 'torchvision');
const reason = `skipped: the PyTorch reference needs Debian's python3-torch and python3-torchvision at ${PYTHON} (apt-get install -y python3-torch python3-torchvision)`;
const folder = mkdtempSync(join(tmpdir(), 'netspec-parity-'));

test.before(async () => {
  if (!available) {
    console.log(`\n  parity.test.ts ${reason}\n`);
    return;
  }
  await initBackend({ backend: 'wasm', log: () => {} });
  const run = spawnSync(PYTHON, ['scripts/pytorch-reference.py', folder], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the PyTorch reference script failed:\n${run.stderr}`);
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

function analyzed(spec: string): AnalyzedGraph {
  const result = compileSpec(spec, readFileSync(spec));
  if (!result.ok) throw new Error(`${spec} does not compile`);
  return result.graph;
}

const nhwc = (nchw: FloatTensor) => tf.tidy(() => tf.tensor(nchw.data, [...nchw.shape]).transpose([0, 2, 3, 1]));

const define = available ? test : test.skip;

for (const model of models) {
  define(`${model.name}: outputs match PyTorch and the generated PyTorch module within ${TOLERANCE} of their scale (wasm)`, async () => {
    const graph = analyzed(model.spec);
    const checkpointPath = join(folder, `${model.name}.safetensors`);
    const imported = importCheckpoint(graph, checkpointPath, readSafetensors(checkpointPath, readFileSync(checkpointPath)), { renames: model.renames });
    const weightsFolder = join(folder, `${model.name}.weights`);
    writeWeightsFolder(weightsFolder, graph.name, imported.weights, imported.skippedLayers);
    const generated = (await import(`./${relative('test', outputPathFor(model.spec, 'specs', 'generated'))}`)) as GeneratedModule & {
      createModel(options: { weights: string }): Promise<tf.LayersModel>;
    };
    const net = await generated.createModel({ weights: weightsFolder });
    const io = readSafetensors('io', readFileSync(join(folder, `${model.name}.io.safetensors`))).tensors;
    const input = nhwc(io.get('input')!) as tf.Tensor4D;
    const predicted = generated.predict(net, input) as tf.Tensor | Record<string, tf.Tensor>;
    const outputs = predicted instanceof tf.Tensor ? { output: predicted } : predicted;
    for (const { name } of graph.outputs) {
      const [reference, emitted] = [io.get(name)!, io.get(`emitted.${name}`)!].map((t) => (t.shape.length === 4 ? nhwc(t) : tf.tensor(t.data, [...t.shape])));
      const emittedError = relativeError(emitted!, reference!);
      assert.ok(emittedError <= EMITTED_TOLERANCE, `${name}: the generated PyTorch module is off by ${emittedError.toExponential(2)}`);
      for (const [against, expected] of [
        ['PyTorch', reference!],
        ['the generated PyTorch module', emitted!],
      ] as const) {
        const error = relativeError(outputs[name]!, expected);
        assert.ok(error <= TOLERANCE, `${name} against ${against}: relative max |Δ| ${error.toExponential(2)}`);
      }
      tf.dispose([reference!, emitted!]);
    }
    tf.dispose([input, ...Object.values(outputs)]);
    net.dispose();
  });
}

define('resnet18: every stage output matches PyTorch, so a mismatch would be located', async () => {
  const generated = (await import('../generated/imagenet/resnet18.ts')) as { createModel(options: { weights: string }): Promise<tf.LayersModel> };
  const net = await generated.createModel({ weights: join(folder, 'resnet18.weights') });
  const stages = ['layer1.1.relu2', 'layer2.1.relu2', 'layer3.1.relu2', 'layer4.1.relu2'];
  const probe = tf.model({ inputs: net.inputs, outputs: stages.map((name) => net.getLayer(name).output as tf.SymbolicTensor) });
  const io = readSafetensors('io', readFileSync(join(folder, 'resnet18.io.safetensors'))).tensors;
  const input = nhwc(io.get('input')!);
  const outputs = probe.predict(input) as tf.Tensor[];
  stages.forEach((stage, i) => {
    const expected = nhwc(io.get(`layer${i + 1}`)!);
    const error = relativeError(outputs[i]!, expected);
    assert.ok(error <= TOLERANCE, `${stage}: relative max |Δ| ${error.toExponential(2)}`);
    expected.dispose();
  });
  tf.dispose([input, ...outputs]);
  net.dispose();
});

define(`the ONNX exports, run by onnxruntime, match PyTorch within ${TOLERANCE} of their scale`, async () => {
  for (const model of models) {
    const graph = analyzed(model.spec);
    const { manifest, weights } = await readWeightsFolder(join(folder, `${model.name}.weights`));
    const session = await createSession(emitOnnx(graph, exportCheckpoint(graph, 'weights', weights, manifest.skipped)), { log: () => {} });
    const io = readSafetensors('io', readFileSync(join(folder, `${model.name}.io.safetensors`))).tensors;
    const input = io.get('input')!;
    const result = await session.run({ input: new ort.Tensor('float32', input.data, [...input.shape]) });
    for (const { name } of graph.outputs) {
      const actual = tf.tensor(result[name]!.data as Float32Array, [...result[name]!.dims]);
      const expected = tf.tensor(io.get(name)!.data, [...io.get(name)!.shape]);
      const error = relativeError(actual, expected);
      assert.ok(error <= TOLERANCE, `${model.name} ${name}: relative max |Δ| ${error.toExponential(2)}`);
      tf.dispose([actual, expected]);
    }
    await session.release();
  }
});

define('import then export gives back every PyTorch tensor bit for bit', async () => {
  for (const model of models) {
    const graph = analyzed(model.spec);
    const checkpointPath = join(folder, `${model.name}.safetensors`);
    const original = readSafetensors(checkpointPath, readFileSync(checkpointPath));
    const { manifest, weights } = await readWeightsFolder(join(folder, `${model.name}.weights`));
    const exported = exportCheckpoint(graph, 'weights', weights, manifest.skipped);
    const renamed = (key: string) => model.renames.reduce((k, [from, to]) => k.replace(`.${from}.`, `.${to}.`), key);
    assert.equal([...exported.keys()].sort(), [...original.tensors.keys()].map(renamed).sort(), model.name);
    for (const [key, tensor] of original.tensors) {
      const back = exported.get(renamed(key))!;
      assert.equal(back.shape, tensor.shape, key);
      assert.ok(
        Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength).equals(
          Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
        ),
        `${model.name} ${key} differs`,
      );
    }
  }
});

test.run();
