// Weights over HTTP and through tf.io.IOHandlers, in Node (its fetch is the browser's API): the same folder that
// `netspec weights import` writes, the same checks as on disk, and one error naming the URL for each way it fails.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  for (const [graph, folder] of [
    [tiny, 'tiny'],
    [other, 'other'],
  ] as const) {
    writeFileSync(
      join(root, `${folder}.json`),
      JSON.stringify(folder === 'tiny' ? TINY_FASHION_SPEC : { ...TINY_FASHION_SPEC, name: graph.name, head: { type: 'classifier', classes: 5 } }),
    );
    writeFileSync(join(root, `${folder}.safetensors`), writeSafetensors(initialWeights(graph)));
    const run = spawnSync(
      process.execPath,
      [resolve('dist/cli.js'), 'weights', 'import', `${folder}.json`, `${folder}.safetensors`, '--out', `weights/${folder}`],
      { cwd: root, encoding: 'utf8' },
    );
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
    for (const [name, weight] of disk.weights)
      assert.ok(
        Buffer.from(fetched.weights.get(name)!.data.buffer, fetched.weights.get(name)!.data.byteOffset, weight.data.byteLength).equals(
          Buffer.from(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength),
        ),
        `${url}: ${name} bit for bit`,
      );
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

test("a missing folder, a short shard and another model's folder that does not fit each fail with one message naming the URL", async () => {
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
  assert.is(
    await failure(`${server.url}weights/short`),
    `${server.url}weights/short/: shards group1-shard1of1.bin hold 100 bytes, the manifest describes ${readFileSync(join(root, 'weights/tiny/group1-shard1of1.bin')).length}`,
  );
  assert.match(
    await failure(`${server.url}weights/other/`),
    new RegExp(
      `^${server.url.replace(/[.]/g, '\\.')}weights/other/ holds weights of other_net, not of tiny_fashion: .* does not fit tiny_fashion:\n  fc/kernel is \\[16, 5\\] but fc expects \\[16, 10\\]`,
    ),
  );
  assert.is(await failure(`${server.url}weights/html/`), `${server.url}weights/html/model.json is not a netspec weights manifest: it is not JSON`);
  // A port nothing listens on: one that was free a moment ago.
  const closed = createServer();
  await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
  const { port } = closed.address() as AddressInfo;
  await new Promise((done) => closed.close(done));
  assert.is(
    await failure(`http://127.0.0.1:${port}/weights/`),
    `cannot fetch http://127.0.0.1:${port}/weights/model.json: the server refused the connection (ECONNREFUSED)`,
  );
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

/**
 * A server that misbehaves on purpose, one folder per way: `endless` sends a shard that never ends, `stall` half a shard
 * and then nothing, `silent` no response at all, `large` a shard whose Content-Length is past the manifest's size,
 * `loop` redirects its manifest to itself, `moved` redirects its manifest to the folder `real/sub/`, which alone holds
 * the shards. Every manifest is the tiny model's.
 */
async function hostileServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const manifest = readFileSync(join(root, 'weights/tiny/model.json'));
  const shard = readFileSync(join(root, 'weights/tiny/group1-shard1of1.bin'));
  const server: Server = createServer((request, response) => {
    const [, folder, file] = /^\/([^/]+(?:\/sub)?)\/(.*)$/.exec(request.url ?? '') ?? [];
    if (folder === 'loop' && file === 'model.json') return void response.writeHead(302, { Location: '/loop/model.json' }).end();
    if (folder === 'moved' && file === 'model.json') return void response.writeHead(302, { Location: '/real/sub/model.json' }).end();
    if (folder === 'silent') return; // never answered
    if (file === 'model.json') return void response.writeHead(200, { 'Content-Type': 'application/json' }).end(manifest);
    if (file !== 'group1-shard1of1.bin' || folder === 'moved') return void response.writeHead(404).end();
    if (folder === 'real/sub') return void response.writeHead(200).end(shard);
    if (folder === 'large') return void response.writeHead(200, { 'Content-Length': String(2 ** 30) }).end(shard);
    response.writeHead(200);
    if (folder === 'stall') return void response.write(shard.subarray(0, 1000));
    // endless: 64 KiB at a time for as long as the client reads.
    const chunk = new Uint8Array(65536);
    const more = () => {
      while (!response.destroyed && response.write(chunk));
      if (!response.destroyed) response.once('drain', more);
    };
    more();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** The message fetchWeightsFolder fails with, and how long it took. */
async function fetchFailure(url: string, options: Parameters<typeof fetchWeightsFolder>[1] = {}): Promise<{ message: string; ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await fetchWeightsFolder(url, options);
  } catch (error) {
    return { message: (error as Error).message, ms: performance.now() - started, error };
  }
  throw new Error(`${url} loaded`);
}

test('a shard that never ends is cut at the size the manifest describes, in bounded memory', async () => {
  const hostile = await hostileServer();
  try {
    const before = process.memoryUsage().rss;
    const { message, ms } = await fetchFailure(`${hostile.url}endless/`);
    assert.match(
      message,
      new RegExp(`^cannot fetch ${hostile.url}endless/group1-shard1of1\\.bin: it holds more bytes than the manifest describes; stopped after \\d+$`),
    );
    assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, 'memory stayed bounded');
    assert.ok(ms < 5000, `stopped at once (${ms} ms)`);
    const large = await fetchFailure(`${hostile.url}large/`);
    assert.is(
      large.message,
      `cannot fetch ${hostile.url}large/group1-shard1of1.bin: the server sends ${2 ** 30} bytes, more than the ${readFileSync(join(root, 'weights/tiny/group1-shard1of1.bin')).length} the manifest leaves for it`,
    );
  } finally {
    await hostile.close();
  }
});

test('a server that stalls mid-shard or never answers times out, per request, with a line saying so', async () => {
  const hostile = await hostileServer();
  try {
    const stalled = await fetchFailure(`${hostile.url}stall/`, { timeoutMs: 300 });
    assert.is(stalled.message, `cannot fetch ${hostile.url}stall/group1-shard1of1.bin: the server sent 1000 bytes, then nothing for 0.3 s (timed out)`);
    const silent = await fetchFailure(`${hostile.url}silent/`, { timeoutMs: 300 });
    assert.is(silent.message, `cannot fetch ${hostile.url}silent/model.json: no response in 0.3 s (timed out)`);
    assert.ok(stalled.ms < 3000 && silent.ms < 3000, 'each gave up after its timeout');
  } finally {
    await hostile.close();
  }
});

test('an AbortSignal given to loadWeights (as createModel passes it) cancels a stalled load with its reason, and disposes the model', async () => {
  const hostile = await hostileServer();
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the page was closed')), 200);
    const model = buildModel(tiny);
    const started = performance.now();
    const failure = await loadWeights(model, `${hostile.url}stall/`, { signal: controller.signal, disposeOnError: true }).then(
      () => 'loaded',
      (error: Error) => error.message,
    );
    assert.is(failure, 'the page was closed');
    assert.ok(performance.now() - started < 3000, 'gave up when aborted');
    assert.throws(() => model.dispose(), /already disposed/);
    // A generated module's createModel hands its options to loadWeights.
    const generated = (await import('../generated/fashion/resnet20.ts')) as {
      createModel(options: { weights: string; signal: AbortSignal }): Promise<tf.LayersModel>;
    };
    const fromModule = await generated.createModel({ weights: `${hostile.url}stall/`, signal: AbortSignal.timeout(200) }).then(
      () => 'loaded',
      (error: Error) => error.name,
    );
    assert.is(fromModule, 'TimeoutError', "the signal's own reason");
    const aborted = await fetchFailure(`${hostile.url}stall/`, { signal: AbortSignal.abort() });
    assert.is((aborted.error as DOMException).name, 'AbortError', 'an aborted signal is refused before any request');
  } finally {
    await hostile.close();
  }
});

test("a redirected manifest's shards are fetched beside where it was found; a redirect loop and file: URLs say what they are", async () => {
  const hostile = await hostileServer();
  try {
    const moved = await fetchWeightsFolder(`${hostile.url}moved/`);
    assert.is(moved.weights.size, (await readWeightsFolder(join(root, 'weights/tiny'))).weights.size, 'the shards came from real/sub/');
    assert.is((await fetchFailure(`${hostile.url}loop/`)).message, `cannot fetch ${hostile.url}loop/model.json: too many redirects (a redirect loop)`);
    assert.is(
      (await fetchFailure('file:///tmp/weights/')).message,
      'cannot fetch file:///tmp/weights/model.json: a page cannot fetch file: URLs; serve the folder over HTTP (in Node, give its path)',
    );
  } finally {
    await hostile.close();
  }
});

test.run();
