// `netspec verify`: a model whose targets agree passes with each output's difference printed; a PyTorch state dict
// with one transposed kernel, as a layout bug in a converter would leave it, is caught and the layer named.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { emitPytorch } from '../src/emit/pytorch.js';
import { runPytorch } from '../src/evaluate/pytorch-run.js';
import { pytorchReport, referenceRun, seededImages, VERIFY_TOLERANCE } from '../src/evaluate/verify.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { modelWeights, setModelWeights } from '../src/runtime/weights/load.js';
import { exportCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { mulberry32 } from '../src/random/mulberry32.js';
import { TINY_FASHION_SPEC, tinyGraph } from './support/tiny-fashion.js';
import { pythonHas } from './support/python.js';

const PYTHON = '/usr/bin/python3';
// The PyTorch target runs NETSPEC_PYTHON: Debian's Python, which has python3-torch.
process.env.NETSPEC_PYTHON = PYTHON;
const haveTorch = pythonHas(PYTHON, 'torch');
const root = mkdtempSync(join(tmpdir(), 'netspec-verify-'));
const graph = tinyGraph();
const spec = join(root, 'tiny_fashion.json');
const weights = join(root, 'weights');

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  writeFileSync(spec, JSON.stringify(TINY_FASHION_SPEC));
  // BatchNorm statistics away from 0 and 1, so that a target that ignored them would show.
  const random = mulberry32(7);
  const model = buildModel(graph);
  const drawn = modelWeights(model).map((w) =>
    /moving_(mean|variance)|gamma|beta/.test(w.name) ? { ...w, data: Float32Array.from(w.data, () => 0.5 + random()) } : w,
  );
  writeWeightsFolder(weights, graph.name, drawn, []);
  model.dispose();
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const cli = (args: string[]) =>
  spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NETSPEC_PYTHON: PYTHON, NETSPEC_BACKEND: 'wasm' },
  });

test('a model whose targets agree: each target and output with its difference, exit 0', () => {
  const run = cli(['verify', spec, '--weights', weights]);
  assert.is(run.status, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  assert.is(lines[0], 'optimised tfjs path: agrees');
  assert.match(lines[1]!, /^ {2}output: max \|Δ\| \/ max \|reference\| \d\.\de-\d$/);
  assert.match(run.stdout, /^ONNX on onnxruntime: (agrees|skipped \(onnxruntime-node is not installed\))$/m);
  assert.match(run.stdout, haveTorch ? /^PyTorch module: agrees$/m : /^PyTorch module: skipped /m);
  const json = JSON.parse(cli(['verify', spec, '--weights', weights, '--json']).stdout) as { targets: { target: string; outputs: { relative: number }[] }[] };
  for (const target of json.targets)
    for (const output of target.outputs) assert.ok(output.relative <= VERIFY_TOLERANCE, `${target.target}: ${output.relative}`);
});

test('usage: one spec and --weights', () => {
  assert.is(cli(['verify', spec]).status, 2);
  assert.is(cli(['verify', '--weights', weights]).status, 2);
});

test('a transposed kernel in the PyTorch state dict is caught, naming its layer', async () => {
  if (!haveTorch) {
    console.log('  skipped: needs python3-torch');
    return;
  }
  const folder = await readWeightsFolder(weights);
  const model = buildModel(graph);
  setModelWeights(model, folder.weights, weights);
  const images = seededImages(graph, 2, 0);
  const reference = await referenceRun(graph, model, images, 2);
  model.dispose();
  const stateDict = exportCheckpoint(graph, weights, folder.weights, []);
  // The second stage's first 3×3 kernel with its rows and columns swapped: [out, in, kh, kw] → [out, in, kw, kh].
  const name = 'layer2.0.conv1.weight';
  const kernel = stateDict.get(name)!;
  const [out, input, size] = kernel.shape as [number, number, number, number];
  const swapped = new Float32Array(kernel.data.length);
  for (let o = 0; o < out * input; o++)
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) swapped[o * size * size + x * size + y] = kernel.data[o * size * size + y * size + x]!;
  stateDict.set(name, { ...kernel, data: swapped });
  const report = pytorchReport(graph, reference, runPytorch(graph, emitPytorch(graph), stateDict, images, 2));
  assert.ok(report.outputs[0]!.relative > VERIFY_TOLERANCE, String(report.outputs[0]!.relative));
  assert.is(report.firstDiffering?.layer, 'layer2.0.conv1');
});

test.run();
