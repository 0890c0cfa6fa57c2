// torch.save checkpoints read without Python: files written by Debian's PyTorch (test/support/torch-save-cases.py)
// in the zip and the legacy formats, compared bit for bit with what PyTorch converts and with the same tensors in
// safetensors; nested and DDP checkpoints, --key, a real torchvision model through the CLI, and weights export
// to a .pth that torch.load(weights_only=True) loads. Hostile and damaged files are in pth-hostile.test.ts.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { loadWeights, readWeightsFolder } from '../src/runtime/weights/files.js';
import { fitsModel, readCheckpoint } from '../src/weights/checkpoint-file.js';
import { exportCheckpoint, importCheckpoint, type ImportedWeights } from '../src/weights/convert.js';
import { PickleDict, PickleSet, PickleTuple, type PickleValue } from '../src/weights/pickle-values.js';
import { readPickle } from '../src/weights/pickle.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { torchPickleHost } from '../src/weights/torch-pickle.js';
import { cli, PYTHON, skipReason, TINY_SPEC, torchAvailable, writeTorchCases } from './support/torch-cases.js';

const define = torchAvailable ? test : test.skip;
const root = mkdtempSync(join(tmpdir(), 'netspec-pth-'));
let cases = '';

test.before(() => {
  if (torchAvailable) cases = writeTorchCases(root, ['dtypes', 'model', 'resnet18', 'pickles']);
  else console.log(`\n  pth.test.ts ${skipReason}\n`);
});
test.after(() => rmSync(root, { recursive: true, force: true }));

function analyzed(name: string, spec: Uint8Array): AnalyzedGraph {
  const result = compileSpec(name, spec);
  if (!result.ok) throw new Error(`${name} does not compile`);
  return result.graph;
}
const tiny = () => analyzed('tiny.json', new TextEncoder().encode(JSON.stringify(TINY_SPEC)));

const hex = (data: Float32Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
const read = (name: string, options = {}) => readCheckpoint(name, readFileSync(join(cases, name)), options);

/** Imported weights as comparable text: each tensor's name, shape and bits. */
const weightsText = (imported: ImportedWeights) => imported.weights.map((w) => `${w.name} ${w.shape.join('×')} ${hex(w.data)}`);

define('every dtype, view, shared storage and non-contiguous tensor reads as PyTorch converts it to float32, bit for bit, in both formats', () => {
  const expected = JSON.parse(readFileSync(join(cases, 'expected.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; float32?: string }>;
  const otherNames: Record<string, string> = { int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL' };
  for (const file of ['dtypes.pth', 'dtypes-legacy.pth']) {
    const checkpoint = read(file);
    assert.equal([...checkpoint.tensors.keys(), ...checkpoint.others.keys()].sort(), Object.keys(expected).sort(), file);
    for (const [name, { dtype, shape, float32 }] of Object.entries(expected)) {
      if (float32 === undefined) {
        assert.is(checkpoint.others.get(name), otherNames[dtype], `${file} ${name}`);
        continue;
      }
      const tensor = checkpoint.tensors.get(name)!;
      assert.equal(tensor.shape, shape, `${file} ${name} shape`);
      assert.is(hex(tensor.data), float32, `${file} ${name} (${dtype}) values`);
    }
  }
  // The same tensors saved by hand as safetensors in their own dtypes (F16, BF16, F64 included) read the same.
  const safetensors = readSafetensors('dtypes.safetensors', readFileSync(join(cases, 'dtypes.safetensors')));
  const pth = read('dtypes.pth');
  assert.ok(safetensors.tensors.size >= 10);
  for (const [name, tensor] of safetensors.tensors) assert.is(hex(pth.tensors.get(name)!.data), hex(tensor.data), name);
});

define("a state dict imports from .pth, legacy .pth, pickle protocol 4 and with DDP's module. prefix exactly as from safetensors", () => {
  const graph = tiny();
  const reference = weightsText(
    importCheckpoint(graph, 'model.safetensors', readSafetensors('model.safetensors', readFileSync(join(cases, 'model.safetensors')))),
  );
  // 9 convolutions, 9 BatchNorms of 4 tensors and the classifier's weight and bias.
  assert.is(reference.length, 47);
  for (const file of ['model.pth', 'model-legacy.pth', 'model-protocol4.pth', 'ddp.pth', 'ddp-legacy.pth']) {
    const checkpoint = read(file);
    assert.equal(weightsText(importCheckpoint(graph, file, checkpoint)), reference, file);
    assert.is(checkpoint.others.size, 9, `${file}: the BatchNorms' num_batches_tracked`);
  }
});

define('nested checkpoints: the state dict beside an optimizer and the epoch, or beside a dict of tensors that does not fit, is found', () => {
  const graph = tiny();
  const fits = fitsModel(graph, []);
  const trained = weightsText(importCheckpoint(graph, 'x', readSafetensors('x', readFileSync(join(cases, 'nested-model.safetensors')))));
  const initial = weightsText(importCheckpoint(graph, 'x', readSafetensors('x', readFileSync(join(cases, 'model.safetensors')))));
  assert.not.equal(trained, initial, 'the optimizer step changed the weights');
  for (const file of ['nested-model.pth', 'nested-model-legacy.pth'])
    assert.equal(weightsText(importCheckpoint(graph, file, read(file, { fits }))), trained, file);
  for (const file of ['nested-state-dict.pth', 'nested-state-dict-legacy.pth'])
    assert.equal(weightsText(importCheckpoint(graph, file, read(file, { fits }))), initial, file);
  // Without the model to fit, two dicts of tensors are two candidates.
  assert.throws(
    () => read('nested-state-dict.pth'),
    /holds 2 state dicts \("state_dict", "head_init"\), none of which holds every tensor of the model; choose one with --key NAME/,
  );
});

define('--key through the CLI: two state dicts that both fit are refused naming them, --key chooses one, a wrong key lists the entries', () => {
  const work = mkdtempSync(join(root, 'key-'));
  writeFileSync(join(work, 'tiny.json'), JSON.stringify(TINY_SPEC));
  for (const file of ['ema.pth', 'ema.safetensors', 'model.safetensors']) copyFileSync(join(cases, file), join(work, file));

  const ambiguous = cli(['weights', 'import', 'tiny.json', 'ema.pth', '--out', 'w'], work);
  assert.is(ambiguous.status, 1);
  assert.is(
    ambiguous.stderr,
    'ema.pth: holds 2 state dicts ("state_dict", "state_dict_ema"), each of which holds every tensor of the model; choose one with --key NAME\n1 problem; nothing was written\n',
  );
  assert.not.ok(existsSync(join(work, 'w')));

  assert.is(cli(['weights', 'import', 'tiny.json', 'ema.pth', '--key', 'state_dict_ema', '--out', 'w'], work).status, 0);
  assert.is(cli(['weights', 'import', 'tiny.json', 'ema.safetensors', '--out', 'reference'], work).status, 0);
  assert.equal(shards(join(work, 'w')), shards(join(work, 'reference')), 'the EMA weights, as saved in safetensors');

  const wrong = cli(['weights', 'import', 'tiny.json', 'ema.pth', '--key', 'ema', '--out', 'x'], work);
  assert.is(wrong.status, 1);
  assert.is(
    wrong.stderr,
    'ema.pth: --key ema: the checkpoint has no entry "ema"; its entries are "state_dict", "state_dict_ema", "epoch"\n1 problem; nothing was written\n',
  );
  const notDict = cli(['weights', 'import', 'tiny.json', 'ema.pth', '--key', 'epoch', '--out', 'x'], work);
  assert.match(notDict.stderr, /^ema\.pth: --key epoch: the checkpoint's entry "epoch" is the int 1, not a dict of tensors\n/);
  const safetensors = cli(['weights', 'import', 'tiny.json', 'model.safetensors', '--key', 'model', '--out', 'x'], work);
  assert.is(safetensors.status, 1);
  assert.match(
    safetensors.stderr,
    /^model\.safetensors: --key model: a safetensors file holds one state dict; --key chooses among those of a torch\.save checkpoint\n/,
  );
  assert.is(cli(['weights', 'export', 'tiny.json', 'w', '--key', 'model', '--out', 'x.pth'], work).status, 2);
  assert.not.ok(existsSync(join(work, 'x')));
});

/** A weights folder's manifest and shards, as text to compare. */
function shards(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .map((file) => `${file} ${readFileSync(join(folder, file)).toString('hex')}`);
}

define(
  'torchvision resnet18 with random weights: .pth and legacy .pth import through the CLI into the same weights folder as its safetensors, which the model loads',
  async () => {
    const spec = 'specs/imagenet/resnet18.json';
    const imports = ['resnet18.safetensors', 'resnet18.pth', 'resnet18-legacy.pth'].map((file) => {
      const out = join(root, `w-${file}`);
      const run = cli(['weights', 'import', spec, join(cases, file), '--out', out], '.');
      assert.is(run.status, 0, run.stderr);
      assert.match(run.stdout, /^imported 102 tensors \(44\.6 MiB\) of resnet18 from /);
      return out;
    });
    const reference = shards(imports[0]!);
    for (const folder of imports.slice(1))
      assert.ok(
        shards(folder).every((shard, i) => shard === reference[i]),
        folder,
      );

    await initBackend({ backend: 'wasm', log: () => {} });
    const graph = analyzed(spec, readFileSync(spec));
    const model = await loadWeights(() => buildModel(graph), imports[1]!);
    const logits = model.predict(tf.ones([1, 224, 224, 3])) as tf.Tensor;
    assert.equal(logits.shape, [1, 1000]);
    assert.ok(logits.dataSync().every(Number.isFinite));
    model.dispose();
  },
);

define(
  'weights export --out .pth: torch.load(weights_only=True) loads the same tensors, 64-byte aligned; netspec replaces its own .pth and no other',
  async () => {
    const work = mkdtempSync(join(root, 'export-'));
    writeFileSync(join(work, 'tiny.json'), JSON.stringify(TINY_SPEC));
    copyFileSync(join(cases, 'model.pth'), join(work, 'model.pth'));
    assert.is(cli(['weights', 'import', 'tiny.json', 'model.pth', '--out', 'w'], work).status, 0);
    const exported = cli(['weights', 'export', 'tiny.json', 'w', '--out', 'back.pth'], work);
    assert.is(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /^exported 47 tensors \(0\.0 MiB\) of tiny to back\.pth\n$/);

    const load = spawnSync(PYTHON, ['-c', LOAD_WEIGHTS_ONLY, join(work, 'back.pth')], { encoding: 'utf8' });
    assert.is(load.status, 0, load.stderr);
    const loaded = JSON.parse(load.stdout) as {
      type: string;
      producer: string;
      misaligned: string[];
      tensors: Record<string, { dtype: string; shape: number[]; bits: string }>;
    };
    assert.equal([loaded.type, loaded.producer, loaded.misaligned], ['OrderedDict', 'netspec', []]);
    const folder = await readWeightsFolder(join(work, 'w'));
    const expected = exportCheckpoint(tiny(), 'w', folder.weights, []);
    assert.equal(Object.keys(loaded.tensors), [...expected.keys()]);
    for (const [name, tensor] of expected)
      assert.equal(loaded.tensors[name], { dtype: 'torch.float32', shape: [...tensor.shape], bits: hex(tensor.data) }, name);

    // The exported file imports back to the same folder, and netspec overwrites its own file but not PyTorch's.
    assert.is(cli(['weights', 'import', 'tiny.json', 'back.pth', '--out', 'again'], work).status, 0);
    assert.equal(shards(join(work, 'again')), shards(join(work, 'w')));
    assert.is(cli(['weights', 'export', 'tiny.json', 'w', '--out', 'back.pth'], work).status, 0);
    const foreign = cli(['weights', 'export', 'tiny.json', 'w', '--out', 'model.pth'], work);
    assert.is(foreign.status, 1);
    assert.match(foreign.stderr, /cannot write model\.pth: it exists and was not written by netspec/);
  },
);

/** Loads a .pth with weights_only=True and prints its tensors' bits, its type and attributes, and any entry whose data is not 64-byte aligned. */
const LOAD_WEIGHTS_ONLY = `
import json, struct, sys, zipfile, torch
path = sys.argv[1]
state = torch.load(path, weights_only=True)
data = open(path, "rb").read()
misaligned = []
for info in zipfile.ZipFile(path).infolist():
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    if (info.header_offset + 30 + name_length + extra_length) % 64:
        misaligned.append(info.filename)
tensors = {name: {"dtype": str(t.dtype), "shape": list(t.shape), "bits": t.contiguous().numpy().tobytes().hex()} for name, t in state.items()}
print(json.dumps({"type": type(state).__name__, "producer": getattr(state, "producer", None), "misaligned": misaligned, "tensors": tensors}))
`;

/** A pickled value in the JSON form torch-save-cases.py gives it. */
function asJson(value: PickleValue): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { float: value > 0 ? 'inf' : '-inf' };
  if (typeof value === 'bigint') return { int: String(value) };
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (value instanceof PickleTuple) return { tuple: value.items.map(asJson) };
  if (Array.isArray(value)) return value.map(asJson);
  if (value instanceof PickleSet) return { [value.frozen ? 'frozenset' : 'set']: value.items.map(asJson).sort() };
  if (value instanceof PickleDict) return { dict: [...value.entries].map(([key, item]) => [asJson(key), asJson(item)]) };
  return value.description;
}

define("Python's pickles of every protocol, 0 to 5, read as the values Python pickled", () => {
  const pickles = JSON.parse(readFileSync(join(cases, 'pickles.json'), 'utf8')) as { protocol: number; pickle: string; value: unknown }[];
  assert.equal(
    pickles.map((p) => p.protocol),
    [0, 1, 2, 3, 4, 5],
  );
  for (const { protocol, pickle, value } of pickles) {
    const bytes = Uint8Array.from(Buffer.from(pickle, 'hex'));
    const read = readPickle(bytes, 0, torchPickleHost('zip'));
    assert.equal(asJson(read.value), value, `protocol ${protocol}`);
    assert.is(read.end, bytes.length, `protocol ${protocol}: read to STOP, the last byte`);
  }
});

define('the format is told from the bytes: a safetensors file named .bin and a .pth named .safetensors import; other bytes are one line', () => {
  const work = mkdtempSync(join(root, 'format-'));
  writeFileSync(join(work, 'tiny.json'), JSON.stringify(TINY_SPEC));
  copyFileSync(join(cases, 'model.safetensors'), join(work, 'pytorch_model.bin'));
  copyFileSync(join(cases, 'model.pth'), join(work, 'model.safetensors'));
  assert.is(cli(['weights', 'import', 'tiny.json', 'pytorch_model.bin', '--out', 'a'], work).status, 0);
  assert.is(cli(['weights', 'import', 'tiny.json', 'model.safetensors', '--out', 'b'], work).status, 0);
  assert.equal(shards(join(work, 'a')), shards(join(work, 'b')));

  writeFileSync(join(work, 'text.pth'), 'hello, world\n');
  const text = cli(['weights', 'import', 'tiny.json', 'text.pth', '--out', 'c'], work);
  assert.is(text.status, 1);
  assert.is(
    text.stderr,
    'text.pth: is neither a safetensors file nor a torch.save checkpoint (a zip archive or a legacy pickle): it starts with the bytes 68 65 6c 6c 6f 2c 20 77\n1 problem; nothing was written\n',
  );
  assert.is(spawnSync('tar', ['-cf', 'old.pth', 'tiny.json'], { cwd: work }).status, 0);
  assert.match(
    cli(['weights', 'import', 'tiny.json', 'old.pth', '--out', 'c'], work).stderr,
    /^old\.pth: is a tar archive, torch\.save's format before PyTorch 0\.4, which is not read;/,
  );
});

test.run();
