// Image input: torchvision's evaluation transform worked by hand, JPEG and PNG decoding, and `netspec predict`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { initBackend } from '../src/runtime/backend.js';
import { decodeImage, preprocess, type DecodedImage } from '../src/runtime/preprocess.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { checkpointFor } from './support/checkpoint.js';

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

/** An RGB image whose pixel (x, y) holds (x, y, 7), so crops can be located. */
function coordinates(width: number, height: number): DecodedImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x % 256, y % 256, 7], 3 * (y * width + x));
  return { width, height, channels: 3, data };
}

test('a uniform colour normalises to ((value / 255) − mean) / std per channel', async () => {
  const data = new Uint8Array(40 * 30 * 4);
  for (let i = 0; i < data.length; i += 4) data.set([255, 0, 128, 255], i);
  const out = preprocess({ width: 40, height: 30, channels: 4, data }, { crop: 16 });
  assert.equal(out.shape, [16, 16, 3]);
  // (1 − 0.485) / 0.229 = 2.2489, (0 − 0.456) / 0.224 = −2.0357, (128/255 − 0.406) / 0.225 = 0.4265
  const expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225];
  const values = await out.data();
  for (let i = 0; i < values.length; i++) assert.ok(Math.abs(values[i]! - expected[i % 3]!) < 1e-5, `${i}: ${values[i]}`);
  out.dispose();
});

test('the centre crop starts at round((256 − 224) / 2) = 16 when no resize is needed', async () => {
  const out = preprocess(coordinates(256, 256), { crop: 224, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] });
  const pixels = (await out.array()) as number[][][];
  assert.equal(pixels[0]![0]!.map(Math.round), [16, 16, 7]);
  assert.equal(pixels[223]![223]!.map(Math.round), [239, 239, 7]);
  out.dispose();
});

test('the shorter side is resized to 256/224 of the crop and the longer one truncated, as torchvision does', () => {
  // 300×200 → shorter side 200 → 256, longer ⌊300 · 256 / 200⌋ = 384; crops to 224 either way round.
  for (const [w, h] of [[300, 200], [200, 300], [224, 224], [1000, 10]]) {
    const out = preprocess(coordinates(w!, h!), { crop: 224 });
    assert.equal(out.shape, [224, 224, 3], `${w}×${h}`);
    out.dispose();
  }
});

test('JPEG and PNG decode to their pixels; other bytes are refused', async () => {
  const png = new PNG({ width: 3, height: 2 });
  png.data.fill(0);
  png.data.set([10, 20, 30, 255], 4 * 4);
  const decodedPng = await decodeImage(PNG.sync.write(png));
  assert.equal([decodedPng.width, decodedPng.height, decodedPng.channels], [3, 2, 4]);
  assert.equal([...decodedPng.data.slice(16, 20)], [10, 20, 30, 255]);
  const grey = Buffer.alloc(8 * 8 * 4, 128);
  const decodedJpeg = await decodeImage(jpeg.encode({ data: grey, width: 8, height: 8 }, 100).data);
  assert.equal([decodedJpeg.width, decodedJpeg.height, decodedJpeg.channels], [8, 8, 3]);
  // A flat grey survives JPEG's lossy coding within a level or two.
  assert.ok(decodedJpeg.data.every((v) => Math.abs(v - 128) <= 2));
  await decodeImage(new Uint8Array([1, 2, 3, 4])).then(
    () => assert.unreachable('should refuse'),
    (error: Error) => assert.is(error.message, 'the image is neither JPEG nor PNG'),
  );
});

const classifier = (classes: number) => ({
  name: 'tiny',
  input: { height: 32, width: 32, channels: 3 },
  stem: { type: 'conv', width: 8, kernelSize: 3, stride: 1 },
  block: { type: 'basic' },
  stages: { widths: [8, 16], depths: [1, 1], strides: [1, 2] },
  head: { type: 'classifier', classes },
});

test('netspec predict prints each image\'s top five classes with ImageNet names, or indices for other classifiers', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-predict-'));
  const cli = (args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
  const png = new PNG({ width: 48, height: 40 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([(i / 4) % 256, 90, 200, 255], i);
  writeFileSync(join(root, 'image.png'), PNG.sync.write(png));
  const classes = JSON.parse(readFileSync('data/imagenet-classes.json', 'utf8')) as string[];
  assert.is(classes.length, 1000);
  assert.equal([classes[0], classes[999]], ['tench', 'toilet tissue']);

  for (const count of [1000, 10]) {
    const spec = classifier(count);
    writeFileSync(join(root, `tiny${count}.json`), JSON.stringify(spec));
    const compiled = compileSpec('tiny.json', new TextEncoder().encode(JSON.stringify(spec)));
    if (!compiled.ok) throw new Error('does not compile');
    writeFileSync(join(root, `tiny${count}.safetensors`), writeSafetensors(checkpointFor(compiled.graph)));
    assert.is(cli(['weights', 'import', `tiny${count}.json`, `tiny${count}.safetensors`, '--out', `w${count}`]).status, 0);
    const run = cli(['predict', `tiny${count}.json`, '--weights', `w${count}`, 'image.png']);
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stderr, /^netspec: TensorFlow\.js backend /);
    const lines = run.stdout.trimEnd().split('\n');
    assert.is(lines[0], 'image.png');
    assert.is(lines.length, 6);
    const ranked = lines.slice(1).map((line) => /^ {2}([1-5])\. +(\d+\.\d\d)% {2}(.+)$/.exec(line)!);
    assert.ok(ranked.every(Boolean), run.stdout);
    const percents = ranked.map((m) => Number(m[2]));
    assert.equal([...percents].sort((a, b) => b - a), percents);
    assert.ok(percents.reduce((a, b) => a + b) <= 100.05);
    for (const m of ranked) assert.ok(count === 1000 ? classes.includes(m[3]!) : /^class \d$/.test(m[3]!), m[3]);
  }
  const backbone = cli(['predict', 'tiny10.json', '--weights', 'missing', 'image.png']);
  assert.is(backbone.status, 1);
  assert.match(backbone.stderr, /missing\/model\.json/);
  assert.is(cli(['predict', 'tiny10.json', 'image.png']).status, 2, '--weights is required');
  rmSync(root, { recursive: true });
});

test.run();
