// Weights over HTTP and through tf.io.IOHandlers, in Node (its fetch is the browser's API): the same folder that
// `netspec weights import` writes, the same checks as on disk, and one error naming the URL for each way it fails.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { loadWeights, readWeightsFolder } from '../src/runtime/weights/files.js';
import { fetchWeightsFolder } from '../src/runtime/weights/http.js';
import { initialWeights } from '../src/weights/init.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { serve, type Served } from './support/browser.js';
import { TINY_FASHION_SPEC } from './support/tiny-fashion.js';

const root = mkdtempSync(join(tmpdir(), 'netspec-http-'));
let server: Served;

function graphOf(spec: object): AnalyzedGraph {
  const result = compileSpec('tiny.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.graph;
}
const tiny = graphOf(TINY_FASHION_SPEC);
const other = graphOf({ ...TINY_FASHION_SPEC, name: 'other_net', head: { type: 'classifier', classes: 5 } });

test.before(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  for (const [graph, folder] of [[tiny, 'tiny'], [other, 'other']] as const) {
    writeFileSync(join(root, `${folder}.json`), JSON.stringify(folder === 'tiny' ? TINY_FASHION_SPEC : { ...TINY_FASHION_SPEC, name: graph.name, head: { type: 'classifier', classes: 5 } }));
    writeFileSync(join(root, `${folder}.safetensors`), writeSafetensors(initialWeights(graph)));
    const run = spawnSync(process.execPath, [resolve('dist/cli.js'), 'weights', 'import', `${folder}.json`, `${folder}.safetensors`, '--out', `weights/${folder}`], { cwd: root, encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
  }
  cpSync(join(root, 'weights/tiny'), join(root, 'weights/short'), { recursive: true });
  truncateSync(join(root, 'weights/short/group1-shard1of1.bin'), 100);
  mkdirSync(join(root, 'weights/html'));
  writeFileSync(join(root, 'weights/html/model.json'), '<!doctype html><p>a page, not weights</p>');
  server = await serve(root, { isolated: false });
});

test.after(async () => {
  await server.close();
  rmSync(root, { recursive: true });
});

test('a folder fetched by its URL, with or without a slash or by its model.json, equals the folder read from disk', async () => {
  const disk = await readWeightsFolder(join(root, 'weights/tiny'));
  for (const url of ['weights/tiny', 'weights/tiny/', 'weights/tiny/model.json'].map((path) => `${server.url}${path}`)) {
    const fetched = await fetchWeightsFolder(url);
    assert.equal(fetched.manifest, disk.manifest, url);
    assert.equal([...fetched.weights.keys()], [...disk.weights.keys()]);
    for (const [name, weight] of disk.weights) assert.ok(Buffer.from(fetched.weights.get(name)!.data.buffer, fetched.weights.get(name)!.data.byteOffset, weight.data.byteLength).equals(Buffer.from(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength)), `${url}: ${name} bit for bit`);
  }
});

test('a model loaded over HTTP predicts exactly as one loaded from disk', async () => {
  const input = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 3);
  const fromDisk = await loadWeights(buildModel(tiny), join(root, 'weights/tiny'));
  const overHttp = await loadWeights(buildModel(tiny), `${server.url}weights/tiny/`);
  assert.equal(await (overHttp.predict(input) as tf.Tensor).array(), await (fromDisk.predict(input) as tf.Tensor).array());
  input.dispose();
  fromDisk.dispose();
  overHttp.dispose();
});

test('a missing folder, a short shard and another model\'s folder that does not fit each fail with one message naming the URL', async () => {
  const failure = async (url: string) => {
    const model = buildModel(tiny);
    try {
      await loadWeights(model, url, { disposeOnError: true });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${url} loaded`);
  };
  assert.is(await failure(`${server.url}weights/missing/`), `cannot fetch ${server.url}weights/missing/model.json: HTTP 404 Not Found`);
  assert.is(await failure(`${server.url}weights/short`), `${server.url}weights/short/: shards group1-shard1of1.bin hold 100 bytes, the manifest describes ${readFileSync(join(root, 'weights/tiny/group1-shard1of1.bin')).length}`);
  assert.match(await failure(`${server.url}weights/other/`), new RegExp(`^${server.url.replace(/[.]/g, '\\.')}weights/other/ holds weights of other_net, not of tiny_fashion: .* does not fit tiny_fashion:\n  fc/kernel is \\[16, 5\\] but fc expects \\[16, 10\\]`));
  assert.is(await failure(`${server.url}weights/html/`), `${server.url}weights/html/model.json is not a netspec weights manifest: it is not JSON`);
  assert.match(await failure('http://127.0.0.1:9/weights/'), /^cannot fetch http:\/\/127\.0\.0\.1:9\/weights\/model\.json: the request failed \(.+\); the server may be unreachable or refuse cross-origin requests \(CORS\)$/);
});

test('a tf.io.IOHandler of float32 weights loads; a quantised one is refused by name', async () => {
  const disk = await readWeightsFolder(join(root, 'weights/tiny'));
  const specs = [...disk.weights.values()].map((w) => ({ name: w.name, shape: [...w.shape], dtype: 'float32' as const }));
  const data = new Uint8Array(specs.reduce((sum, s) => sum + 4 * s.shape.reduce((a, b) => a * b, 1), 0));
  let at = 0;
  for (const w of disk.weights.values()) {
    data.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    at += w.data.byteLength;
  }
  const input = tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 5);
  const viaHandler = await loadWeights(buildModel(tiny), tf.io.fromMemory({ weightSpecs: specs, weightData: data.buffer }));
  const fromDisk = await loadWeights(buildModel(tiny), disk);
  assert.equal(await (viaHandler.predict(input) as tf.Tensor).array(), await (fromDisk.predict(input) as tf.Tensor).array());
  const quantised = specs.map((s, i) => (i === 0 ? { ...s, quantization: { dtype: 'uint8' as const, scale: 1, min: 0 } } : s));
  try {
    await loadWeights(buildModel(tiny), tf.io.fromMemory({ weightSpecs: quantised, weightData: data.buffer }));
    assert.unreachable('a quantised weight loaded');
  } catch (error) {
    assert.is((error as Error).message, `the IOHandler's weight ${specs[0]!.name} is quantised; netspec loads float32 weights`);
  }
  input.dispose();
  viaHandler.dispose();
  fromDisk.dispose();
});

test.run();
