// Weights folders on disk as someone else may hand them over: every file read with its size known first, shards
// checked against the manifest before any byte of them is read and each read once, devices, pipes and folders
// refused without blocking, and NaN or ±Inf in a shard refused naming the tensor, by every command that loads one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { loadWeights, readWeightsFolder } from '../src/runtime/weights/files.js';
import { importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { checkpointFor } from './support/checkpoint.js';
import { TINY_FASHION_SPEC, tinyGraph } from './support/tiny-fashion.js';

const cli = resolve('dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'netspec-weights-folder-'));
const graph = tinyGraph();
const SHARD = 'group1-shard1of1.bin';

function netspec(args: readonly string[], timeout = 60_000) {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, NETSPEC_BACKEND: 'cpu' } });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr.replace(/^netspec: TensorFlow\.js backend .*\n/, '') };
}

/** A fresh copy of the tiny model's weights folder at `name`, its manifest changed by `edit` when given. */
function folder(
  name: string,
  edit?: (manifest: Record<string, unknown> & { weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[] }) => void,
): string {
  const path = join(root, name);
  rmSync(path, { recursive: true, force: true });
  const imported = importCheckpoint(graph, 'tiny.safetensors', readSafetensors('tiny.safetensors', writeSafetensors(checkpointFor(graph))));
  writeWeightsFolder(path, graph.name, imported.weights, []);
  if (edit) {
    const manifest = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8'));
    edit(manifest);
    writeFileSync(join(path, 'model.json'), JSON.stringify(manifest));
  }
  return path;
}

/** The message readWeightsFolder fails with. */
async function refusal(path: string): Promise<string> {
  try {
    await readWeightsFolder(path);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${path} was read`);
}

const shardBytes = () => readFileSync(join(folder('sizes'), SHARD)).length;

test.before(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  writeFileSync(join(root, 'tiny.json'), JSON.stringify(TINY_FASHION_SPEC));
  const png = new PNG({ width: 28, height: 28 });
  writeFileSync(join(root, 'grey.png'), PNG.sync.write(png));
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test('a shard linked to /dev/zero, a FIFO as a shard or as model.json, and model.json as a folder are refused without reading, naming the path', () => {
  const zero = folder('zero');
  rmSync(join(zero, SHARD));
  symlinkSync('/dev/zero', join(zero, SHARD));
  const fifoShard = folder('fifo-shard');
  rmSync(join(fifoShard, SHARD));
  spawnSync('mkfifo', [join(fifoShard, SHARD)]);
  const fifoManifest = folder('fifo-manifest');
  rmSync(join(fifoManifest, 'model.json'));
  spawnSync('mkfifo', [join(fifoManifest, 'model.json')]);
  const manifestFolder = folder('manifest-folder');
  rmSync(join(manifestFolder, 'model.json'));
  mkdirSync(join(manifestFolder, 'model.json'));
  const cases: [string, string][] = [
    ['zero', `cannot read zero/${SHARD}: it is not a regular file (a device, pipe or socket)`],
    ['fifo-shard', `cannot read fifo-shard/${SHARD}: it is not a regular file (a device, pipe or socket)`],
    ['fifo-manifest', 'cannot read fifo-manifest/model.json: it is not a regular file (a device, pipe or socket)'],
    ['manifest-folder', 'cannot read manifest-folder/model.json: it is a folder'],
  ];
  for (const [weights, message] of cases) {
    const run = netspec(['weights', 'export', 'tiny.json', weights, '--out', `${weights}.safetensors`], 20_000);
    assert.is(run.signal, null, `${weights} did not hang`);
    assert.is(run.status, 1, run.stderr);
    assert.is(run.stderr, `netspec: ${message}\n`);
  }
});

test('a manifest listing one shard 3,000 times is refused before any shard is read', async () => {
  const path = folder('repeated', (manifest) => {
    manifest.weightsManifest[0]!.paths = Array.from({ length: 3000 }, () => SHARD);
  });
  const before = process.memoryUsage().rss;
  assert.is(await refusal(path), `${path}/model.json is not a netspec weights manifest: it lists the shard ${SHARD} 3000 times; each shard is read once`);
  assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, 'nothing was read');
});

test('a shard larger than the manifest describes is refused from its size, before it is read', async () => {
  const bytes = shardBytes();
  const path = folder('large');
  // 1 GiB without writing it: the file is sparse, so reading it would cost memory, not disk.
  truncateSync(join(path, SHARD), 2 ** 30);
  const started = performance.now();
  const before = process.memoryUsage().rss;
  assert.is(await refusal(path), `${path}: shards ${SHARD} hold ${2 ** 30} bytes, the manifest describes ${bytes}`);
  assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, 'the shard was not read');
  assert.ok(performance.now() - started < 2000, 'refused from its size');
  // A short shard is refused the same way, before reading either.
  truncateSync(join(path, SHARD), 100);
  assert.is(await refusal(path), `${path}: shards ${SHARD} hold 100 bytes, the manifest describes ${bytes}`);
});

test('a model.json past its size limit is refused from its size', async () => {
  const path = folder('huge-manifest');
  truncateSync(join(path, 'model.json'), 2 ** 30);
  assert.match(
    await refusal(path),
    new RegExp(`^cannot read ${path}/model\\.json: the file is ${2 ** 30} bytes, more than the \\d+-byte limit for a weights manifest$`),
  );
});

test('malformed manifests are one line naming model.json: a null group, paths or weights that are not lists, names twice, sizes past any model', async () => {
  // biome-ignore lint/suspicious/noExplicitAny: each case breaks the manifest's structure on purpose
  const cases: [(manifest: any) => void, string | RegExp][] = [
    [(m) => (m.weightsManifest = [null]), 'weightsManifest[0] is not an object of paths and weights'],
    [(m) => (m.weightsManifest[0].paths = null), 'weightsManifest[0].paths is not a list of shard file names'],
    [(m) => (m.weightsManifest[0].weights = 'x'), 'weightsManifest[0].weights is not a list of weights'],
    [(m) => (m.weightsManifest[0].weights[1].name = m.weightsManifest[0].weights[0].name), 'it lists the weight conv1/kernel twice'],
    [(m) => (m.weightsManifest[0].weights[0].name = 7), 'a weight name is not a string'],
    // 4 bytes × 2^30 values of the first weight alone: past the 2^32 bytes one buffer holds.
    [(m) => (m.weightsManifest[0].weights[0].shape = [2 ** 15, 2 ** 15]), /^the weights take \d+ bytes, more than the 4294967296 bytes one buffer holds$/],
    [(m) => m.weightsManifest.push({ paths: [SHARD], weights: [] }), `it lists the shard ${SHARD} 2 times; each shard is read once`],
  ];
  for (const [edit, why] of cases) {
    const path = folder('malformed', edit);
    const message = await refusal(path);
    const prefix = `${path}/model.json is not a netspec weights manifest: `;
    assert.ok(message.startsWith(prefix), message);
    if (typeof why === 'string') assert.is(message.slice(prefix.length), why);
    else assert.match(message.slice(prefix.length), why);
  }
});

test('NaN in a shard is one line naming the tensor for predict, eval, export onnx, weights export and createModel', async () => {
  const path = folder('nan');
  const manifest = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8'));
  const first = manifest.weightsManifest[0].weights[0];
  const shard = readFileSync(join(path, SHARD));
  new DataView(shard.buffer, shard.byteOffset).setFloat32(4 * 5, NaN, true);
  writeFileSync(join(path, SHARD), shard);
  const line = `nan: ${first.name} holds 1 NaN value (at index 5)`;
  assert.is(await refusal(path), `${path}: ${first.name} holds 1 NaN value (at index 5)`);
  const fashion = mkdtempSync(join(root, 'no-fashion-'));
  for (const args of [
    ['predict', 'tiny.json', '--weights', 'nan', 'grey.png'],
    ['eval', 'tiny.json', '--weights', 'nan', '--data', 'fashion-mnist'],
    ['export', 'onnx', 'tiny.json', '--weights', 'nan', '--out', 'nan.onnx'],
    ['weights', 'export', 'tiny.json', 'nan', '--out', 'nan.safetensors'],
  ]) {
    const run = spawnSync(process.execPath, [cli, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NETSPEC_BACKEND: 'cpu', NETSPEC_FASHION_MNIST: fashion },
    });
    assert.is(run.status, 1, `${args[0]}: ${run.stderr}`);
    assert.is(run.stderr.replace(/^netspec: TensorFlow\.js backend .*\n/, ''), `netspec: ${line}\n`, args[0]);
    assert.is(run.stdout, '', `${args[0]} printed nothing`);
  }
  const model = buildModel(graph);
  const failure = await loadWeights(model, path, { disposeOnError: true }).then(
    () => 'loaded',
    (error: Error) => error.message,
  );
  assert.is(failure, `${path}: ${first.name} holds 1 NaN value (at index 5)`);
});

test('a negative BatchNorm variance in a shard is refused naming the tensor, by the reader every loader shares', async () => {
  const path = folder('negative-variance');
  const manifest = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8'));
  const weights = manifest.weightsManifest[0].weights as { name: string; shape: number[] }[];
  const at = weights.findIndex((w) => w.name.endsWith('/moving_variance'));
  // The variance's first value sits after every weight before it, four bytes a value.
  const offset = weights.slice(0, at).reduce((bytes, w) => bytes + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  const shard = readFileSync(join(path, SHARD));
  new DataView(shard.buffer, shard.byteOffset).setFloat32(offset + 4, -0.25, true);
  writeFileSync(join(path, SHARD), shard);
  assert.is(await refusal(path), `${path}: ${weights[at]!.name} holds 1 negative variance (-0.25 at index 1); a BatchNorm variance cannot be below 0`);
});

test('a file: URL loads from disk in Node, as the path it names', async () => {
  const path = folder('by-url');
  const model = await loadWeights(buildModel(graph), `file://${path}/`);
  assert.ok(model.layers.length > 0);
  model.dispose();
});

test.run();
