// Image input: torchvision's evaluation transform worked by hand, grey and alpha conversion, JPEG and PNG decoding,
// and `netspec predict`: the pixel limit, every input shape the compiler makes, and what a trained run saves.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { defaultFashionMnistDir, FASHION_MNIST_CLASSES } from '../src/data/fashion-mnist.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { DEFAULT_MAX_PIXELS } from '../src/runtime/images/header.js';
import { decodeImage } from '../src/runtime/images/decode.js';
import type { DecodedImage } from '../src/runtime/images/pixels.js';
import { IMAGENET_MEAN, IMAGENET_STD, imagenetNormalization } from '../src/runtime/images/pipeline.js';
import { preprocess, type PreprocessOptions } from '../src/runtime/images/preprocess.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { initialWeights } from '../src/weights/init.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { JFIF_APP0, jpegFile, pngBomb, startOfFrame } from './support/image-files.js';
import { TINY_FASHION_SPEC } from './support/tiny-fashion.js';

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
  for (const [w, h] of [
    [300, 200],
    [200, 300],
    [224, 224],
    [1000, 10],
  ]) {
    const out = preprocess(coordinates(w!, h!), { crop: 224 });
    assert.equal(out.shape, [224, 224, 3], `${w}×${h}`);
    out.dispose();
  }
});

/** Mean 0 and deviation 1/255 per channel: the preprocessed values are the pixel levels themselves. */
const levels = (channels: number) => ({ mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1 / 255) });

async function rounded(out: tf.Tensor): Promise<number[]> {
  const values = [...(await out.data())].map(Math.round);
  out.dispose();
  return values;
}

/** Levels rounded to bytes, as PIL's resampler rounds, lie within half a level (and a rounding's hair) of the exact values. */
function assertWithinByte(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.ok(
    actual.every((value, i) => Number.isInteger(Math.round(value * 1e6) / 1e6) && Math.abs(value - expected[i]!) <= 0.5 + 1e-3),
    `${what}: [${actual.join(', ')}], expected [${expected.join(', ')}] within half a level`,
  );
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.ok(
    actual.every((value, i) => Math.abs(value - expected[i]!) < 1e-3),
    `${what}: [${actual.join(', ')}], expected [${expected.join(', ')}]`,
  );
}

test("grey is PIL's convert('L'): ITU-R BT.601 luma, rounded as PIL's fixed point rounds it; alpha is ignored", async () => {
  // L = R·299/1000 + G·587/1000 + B·114/1000, then PIL's (R·19595 + G·38470 + B·7471 + 32768) >> 16 rounds it:
  // (255, 0, 0) → 76.245 → 76; (0, 255, 0) → 149.685 → 150; (0, 0, 255) → 29.07 → 29; (0, 1, 0) → 0.587 → 1.
  const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 1, 0]);
  const rgba = Uint8Array.from([255, 0, 0, 0, 0, 255, 0, 7, 0, 0, 255, 255, 0, 1, 0, 128]);
  for (const image of [
    { width: 2, height: 2, channels: 3, data: rgb },
    { width: 2, height: 2, channels: 4, data: rgba },
  ] as const) {
    const out = preprocess(image, { crop: 2, resize: 2, channels: 1, ...levels(1) });
    assert.equal(out.shape, [2, 2, 1]);
    assert.equal(await rounded(out), [76, 150, 29, 1], `${image.channels} channels in`);
  }
  // A grey PNG (colour type 0) keeps its levels exactly: the weights sum to 65536.
  const png = new PNG({ width: 2, height: 1 });
  png.data.set([37, 37, 37, 255, 200, 200, 200, 255]);
  const grey = await decodeImage(PNG.sync.write(png, { colorType: 0 }));
  assert.equal(await rounded(preprocess(grey, { crop: 1, resize: 1, channels: 1, ...levels(1) })), [37]);
  assert.equal(await rounded(preprocess(grey, { crop: [1, 2], resize: 1, channels: 1, ...levels(1) })), [37, 200]);
});

test('2 channels are grey and alpha, 4 are RGBA, 3 drop the alpha; an image without alpha is opaque', async () => {
  const rgb = { width: 1, height: 1, channels: 3, data: Uint8Array.from([0, 255, 0]) } as const;
  const rgba = { width: 1, height: 1, channels: 4, data: Uint8Array.from([0, 255, 0, 9]) } as const;
  const levelsOf = (image: DecodedImage, channels: number) => rounded(preprocess(image, { crop: 1, resize: 1, channels, ...levels(channels) }));
  assert.equal(await levelsOf(rgb, 2), [150, 255]);
  assert.equal(await levelsOf(rgba, 2), [150, 9]);
  assert.equal(await levelsOf(rgb, 4), [0, 255, 0, 255]);
  assert.equal(await levelsOf(rgba, 4), [0, 255, 0, 9]);
  assert.equal(await levelsOf(rgba, 3), [0, 255, 0]);
  assert.throws(() => preprocess(rgb, { crop: 1, channels: 5 }), /RGBA \(4\) input, not 5 channels$/);
  assert.throws(() => preprocess(rgb, { crop: 1, channels: 1, mean: [0, 0, 0] }), /has 3 means and 1 deviations for 1 channels$/);
});

test("without a saved normalisation, grey gets the luma of ImageNet's mean and deviation, alpha is only scaled", () => {
  // 0.485·0.299 + 0.456·0.587 + 0.406·0.114 = 0.458971; 0.229·0.299 + 0.224·0.587 + 0.225·0.114 = 0.225609.
  const grey = imagenetNormalization(1);
  assertClose(
    [...grey.mean, ...grey.std].map((v) => Math.round(v * 1e4) / 1e4),
    [0.459, 0.2256],
    'grey',
  );
  assert.equal(imagenetNormalization(3), { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] });
  assert.equal(imagenetNormalization(4), { mean: [...IMAGENET_MEAN, 0], std: [...IMAGENET_STD, 1] });
  assert.equal(imagenetNormalization(2).mean.length, 2);
});

test('a non-square input: the shorter side resized to ⌊longer input side / 0.875⌋, then CenterCrop((height, width))', async () => {
  // Input 24 high, 40 wide: resize = ⌊40 / 0.875⌋ = ⌊45.71⌋ = 45. A 100×60 image, shorter side its height, becomes
  // 45 high and ⌊45 · 100 / 60⌋ = 75 wide; the crop's top is round((45 − 24) / 2) = round(10.5) = 10 and its left
  // round((75 − 40) / 2) = round(17.5) = 18, halves to even. PIL's filter keeps a ramp's value at each output centre,
  // (i + 0.5) · in / out − 0.5, then rounds to a byte: crop (0, 0) is resized (18, 10), at x = 18.5 · 100 / 75 − 0.5 =
  // 23.667 and y = 10.5 · 60 / 45 − 0.5 = 13.5; crop (39, 23) is resized (57, 33), x = 76.167, y = 44.167.
  const out = preprocess(coordinates(100, 60), { crop: [24, 40], ...levels(3) });
  assert.equal(out.shape, [24, 40, 3]);
  const pixels = (await out.array()) as number[][][];
  assertWithinByte(pixels[0]![0]!, [23.667, 13.5, 7], 'top left');
  assertWithinByte(pixels[23]![39]!, [76.167, 44.167, 7], 'bottom right');
  out.dispose();
  // Portrait, 60×100: 45 wide, ⌊45 · 100 / 60⌋ = 75 high; top round((75 − 24) / 2) = round(25.5) = 26, left
  // round((45 − 40) / 2) = round(2.5) = 2. Crop (0, 0) is resized (2, 26): x = 2.5 · 60 / 45 − 0.5 = 2.833,
  // y = 26.5 · 100 / 75 − 0.5 = 34.833.
  const portrait = preprocess(coordinates(60, 100), { crop: [24, 40], ...levels(3) });
  assertWithinByte(((await portrait.array()) as number[][][])[0]![0]!, [2.833, 34.833, 7], 'portrait top left');
  portrait.dispose();
  assert.throws(
    () => preprocess(coordinates(50, 50), { crop: [24, 40], resize: 30 }),
    /^the image resized to 30×30 is smaller than the 40×24 crop \(width × height\)$/,
  );
});

test("the crop's offset rounds halves to even, as Python's round in torchvision's CenterCrop", async () => {
  // 101×46 resized to 46 stays 101 wide (⌊46 · 101 / 46⌋ = 101), so no resampling: left = round((101 − 40) / 2) =
  // round(30.5) = 30 in Python (JavaScript's Math.round says 31), top = round((46 − 24) / 2) = 11.
  const out = preprocess(coordinates(101, 46), { crop: [24, 40], resize: 46, ...levels(3) });
  const pixels = (await out.array()) as number[][][];
  assert.equal(pixels[0]![0]!.map(Math.round), [30, 11, 7]);
  assert.equal(pixels[23]![39]!.map(Math.round), [69, 34, 7]);
  out.dispose();
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

test("netspec predict prints each image's top five classes with ImageNet names, or indices for other classifiers", () => {
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
    // Initial weights as PyTorch draws them: support/checkpoint's values give BatchNorm negative variances, which
    // PyTorch and onnxruntime turn into NaN.
    writeFileSync(join(root, `tiny${count}.safetensors`), writeSafetensors(initialWeights(compiled.graph, 2)));
    assert.is(cli(['weights', 'import', `tiny${count}.json`, `tiny${count}.safetensors`, '--out', `w${count}`]).status, 0);
    const run = cli(['predict', `tiny${count}.json`, '--weights', `w${count}`, 'image.png']);
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stderr, /^netspec: running tiny on (onnxruntime|TensorFlow\.js) /);
    const lines = run.stdout.trimEnd().split('\n');
    assert.is(lines[0], 'image.png');
    assert.is(lines.length, 6);
    const ranked = lines.slice(1).map((line) => /^ {2}([1-5])\. +(\d+\.\d\d)% {2}(.+)$/.exec(line)!);
    assert.ok(ranked.every(Boolean), run.stdout);
    const percents = ranked.map((m) => Number(m[2]));
    assert.equal(
      [...percents].sort((a, b) => b - a),
      percents,
    );
    assert.ok(percents.reduce((a, b) => a + b) <= 100.05);
    for (const m of ranked) assert.ok(count === 1000 ? classes.includes(m[3]!) : /^class \d$/.test(m[3]!), m[3]);
  }
  const backbone = cli(['predict', 'tiny10.json', '--weights', 'missing', 'image.png']);
  assert.is(backbone.status, 1);
  assert.match(backbone.stderr, /missing\/model\.json/);
  assert.is(cli(['predict', 'tiny10.json', 'image.png']).status, 2, '--weights is required');
  rmSync(root, { recursive: true });
});

const netspecIn =
  (root: string) =>
  (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
/** Standard error without the line naming the engine that runs the model. */
const problems = (stderr: string) => stderr.replace(/^netspec: running \S+ on .*\n/, '');

/**
 * Writes `spec` as <name>.json in `root` and imports seeded initial weights for it into the folder <name>-weights:
 * unlike support/checkpoint's values, which give every image the same output, they tell images apart.
 */
function withImportedWeights(root: string, spec: { readonly name: string; readonly [field: string]: unknown }): AnalyzedGraph {
  writeFileSync(join(root, `${spec.name}.json`), JSON.stringify(spec));
  const compiled = compileSpec(`${spec.name}.json`, new TextEncoder().encode(JSON.stringify(spec)));
  if (!compiled.ok) throw new Error(`${spec.name} does not compile`);
  writeFileSync(join(root, `${spec.name}.safetensors`), writeSafetensors(initialWeights(compiled.graph, 1)));
  const run = netspecIn(root)(['weights', 'import', `${spec.name}.json`, `${spec.name}.safetensors`, '--out', `${spec.name}-weights`]);
  assert.is(run.status, 0, run.stderr);
  return compiled.graph;
}

/** The five "  N.  PP.PP%  name" lines printed for each image, by image. */
function printedTop(stdout: string): Map<string, { percent: string; name: string }[]> {
  const byImage = new Map<string, { percent: string; name: string }[]>();
  let current: { percent: string; name: string }[] = [];
  for (const line of stdout.trimEnd().split('\n')) {
    const ranked = /^ {2}[1-5]\. +(\d+\.\d\d)% {2}(.+)$/.exec(line);
    if (ranked) current.push({ percent: ranked[1]!, name: ranked[2]! });
    else byImage.set(line, (current = []));
  }
  return byImage;
}

function writeImage(
  path: string,
  width: number,
  height: number,
  rgba: (x: number, y: number) => readonly number[],
  options: { colorType?: 0 | 2 | 6 } = {},
): void {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set(rgba(x, y), 4 * (y * width + x));
  writeFileSync(path, PNG.sync.write(png, options));
}

test('predict refuses an image over the pixel limit in one line, exits 1, and still classifies the others', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-predict-limit-'));
  const netspec = netspecIn(root);
  withImportedWeights(root, { ...classifier(10), name: 'rgb' });
  writeFileSync(join(root, 'bomb.png'), pngBomb());
  writeFileSync(join(root, 'bomb.jpg'), jpegFile(JFIF_APP0, startOfFrame(60_000, 50_000)));
  writeFileSync(join(root, 'cut.png'), pngBomb().subarray(0, 20));
  writeImage(join(root, 'image.png'), 48, 40, (x) => [x * 5, 90, 200, 255]);
  const started = performance.now();
  const run = netspec(['predict', 'rgb.json', '--weights', 'rgb-weights', 'bomb.png', 'image.png', 'bomb.jpg', 'cut.png']);
  assert.ok(performance.now() - started < 30_000);
  assert.is(run.status, 1, run.stderr);
  assert.is(
    problems(run.stderr),
    'netspec: bomb.png is 20000×20000 = 400000000 pixels, more than the limit of 50000000; --max-pixels raises it\n' +
      'netspec: bomb.jpg is 60000×50000 = 3000000000 pixels, more than the limit of 50000000; --max-pixels raises it\n' +
      "netspec: cannot read the image cut.png: the PNG header is truncated: its 20 bytes end before the IHDR chunk's width and height\n",
  );
  assert.equal([...printedTop(run.stdout).keys()], ['image.png']);
  assert.is(printedTop(run.stdout).get('image.png')!.length, 5);

  // 48 × 40 = 1920 pixels: allowed at --max-pixels 1920, refused at 1919.
  const lowered = netspec(['predict', 'rgb.json', '--weights', 'rgb-weights', '--max-pixels', '1919', 'image.png']);
  assert.is(lowered.status, 1);
  assert.is(problems(lowered.stderr), 'netspec: image.png is 48×40 = 1920 pixels, more than the limit of 1919; --max-pixels raises it\n');
  assert.is(lowered.stdout, '');
  assert.is(netspec(['predict', 'rgb.json', '--weights', 'rgb-weights', '--max-pixels', '1920', 'image.png']).status, 0);
  for (const value of ['0', '1.5', 'many']) {
    const usage = netspec(['predict', 'rgb.json', '--weights', 'rgb-weights', `--max-pixels=${value}`, 'image.png']);
    assert.is(usage.status, 2);
    // A value that is not a decimal at all is said so.
    const decimal = value === 'many' ? ' written in decimal digits' : '';
    assert.match(usage.stderr, `netspec: --max-pixels takes an integer from 1${decimal}, got "${value}"\n`);
  }
  rmSync(root, { recursive: true });
});

test("predict --help states the pixel limit's default and how images are fed", () => {
  const help = netspecIn(process.cwd())(['predict', '--help']);
  assert.is(help.status, 0);
  assert.match(help.stdout, /--max-pixels N +Refuse images of more than N pixels/);
  assert.ok(help.stdout.replace(/\s+/g, ' ').includes(`(default: ${DEFAULT_MAX_PIXELS}, ${DEFAULT_MAX_PIXELS / 1e6} megapixels)`), help.stdout);
  assert.match(help.stdout, /resized straight to the\s+input size/);
  assert.match(help.stdout, /never inverted/);
  assert.match(help.stdout, /BT\.601 luma/);
  assert.match(help.stdout, /--runtime ENGINE +onnx runs the fp32 ONNX graph/);
});

test('predict classifies what the compiler makes: grey, non-square and RGBA inputs; more than 4 channels are refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-predict-shapes-'));
  const netspec = netspecIn(root);
  writeImage(join(root, 'photo.png'), 50, 30, (x, y) => [x * 5, y * 8, 100, 128 + y]);
  const inputs = { grey: { height: 28, width: 28, channels: 1 }, wide: { height: 24, width: 40, channels: 3 }, rgba: { height: 32, width: 32, channels: 4 } };
  for (const [name, input] of Object.entries(inputs)) {
    withImportedWeights(root, { ...classifier(10), name, input });
    const run = netspec(['predict', `${name}.json`, '--weights', `${name}-weights`, 'photo.png']);
    assert.is(run.status, 0, `${name}: ${run.stderr}`);
    assert.is(printedTop(run.stdout).get('photo.png')?.length, 5, run.stdout);
  }
  writeFileSync(join(root, 'five.json'), JSON.stringify({ ...classifier(10), name: 'five', input: { height: 32, width: 32, channels: 5 } }));
  const five = netspec(['predict', 'five.json', '--weights', 'unused', 'photo.png']);
  assert.is(five.status, 1);
  assert.is(five.stderr, 'netspec: predict feeds images as grey (1 channel), grey and alpha (2), RGB (3) or RGBA (4); five takes 5 channels\n');
  rmSync(root, { recursive: true });
});

/** The top five probabilities, as predict prints them, of `graph` with the folder's weights on preprocessed images. */
async function expectedTop(graph: AnalyzedGraph, folder: string, image: string, transform: PreprocessOptions, names?: readonly string[]) {
  const model = await loadWeights(() => buildModel(graph), folder);
  const input = preprocess(await decodeImage(readFileSync(image)), transform);
  const probabilities = tf.tidy(() => tf.softmax(model.predict(input.expandDims(0)) as tf.Tensor2D).squeeze([0]));
  const { values, indices } = tf.topk(probabilities, 5);
  const [p, i] = [await values.data(), await indices.data()];
  tf.dispose([input, probabilities, values, indices]);
  model.dispose();
  return [...i].map((index, rank) => ({ percent: (100 * p[rank]!).toFixed(2), name: names?.[index] ?? `class ${index}` }));
}

/**
 * The same ranking as the reference, figures within float rounding: the same class first, and every class printed by
 * both within 0.01 percentage points (probabilities within 1e-4), as two engines' sums in another order give.
 */
function assertSameTop(printed: readonly { percent: string; name: string }[], expected: readonly { percent: string; name: string }[], what: string): void {
  const shown = `${what}: ${JSON.stringify(printed)} against ${JSON.stringify(expected)}`;
  assert.is(printed[0]?.name, expected[0]?.name, shown);
  assert.is(printed.length, expected.length, shown);
  for (const { name, percent } of printed) {
    const reference = expected.find((e) => e.name === name);
    if (reference) assert.ok(Math.abs(Number(percent) - Number(reference.percent)) <= 0.01 + 1e-9, shown);
  }
}

test("weights carrying a run's normalisation and class names: predict uses both, and resizes straight to the input size", async () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-predict-trained-'));
  const netspec = netspecIn(root);
  const graph = withImportedWeights(root, TINY_FASHION_SPEC);
  const { manifest, weights } = await readWeightsFolder(join(root, 'tiny_fashion-weights'));
  const input = { mean: [0.286], std: [0.353] };
  writeWeightsFolder(join(root, 'trained'), manifest.model, [...weights.values()], [], { input, classes: [...FASHION_MNIST_CLASSES] });
  const saved = (await readWeightsFolder(join(root, 'trained'))).manifest;
  assert.equal([saved.input, saved.classes], [input, [...FASHION_MNIST_CLASSES]]);
  // A light garment on black, as Fashion-MNIST draws them: a 28×28 grey PNG, and a 56×40 one to be resized.
  const garment = (x: number, y: number) => (x > 8 && x < 20 && y > 3 ? [220, 220, 220, 255] : [0, 0, 0, 255]);
  writeImage(join(root, 'garment.png'), 28, 28, garment, { colorType: 0 });
  writeImage(join(root, 'wide.png'), 56, 40, (x, y) => garment(x - 14, y - 6), { colorType: 0 });

  // On both engines: onnxruntime (the fp32 ONNX graph of the same weights) and TensorFlow.js.
  const runs = ['onnx', 'tfjs'].map((runtime) => {
    const args = ['predict', 'tiny_fashion.json', '--weights', 'trained', '--runtime', runtime, 'garment.png', 'wide.png'];
    const run = netspec(args, { NETSPEC_BACKEND: 'wasm' });
    assert.is(run.status, 0, run.stderr);
    assert.match(
      run.stderr,
      runtime === 'onnx' ? /^netspec: running tiny_fashion on onnxruntime\n/ : /^netspec: running tiny_fashion on TensorFlow\.js \(wasm\)\n/,
    );
    return printedTop(run.stdout);
  });
  const imported = netspec(['predict', 'tiny_fashion.json', '--weights', 'tiny_fashion-weights', 'garment.png', 'wide.png'], { NETSPEC_BACKEND: 'wasm' });
  assert.is(imported.status, 0, imported.stderr);
  for (const image of ['garment.png', 'wide.png']) {
    const printed = runs[0]!.get(image)!;
    assert.not.equal(
      printed.map((p) => p.percent),
      printedTop(imported.stdout)
        .get(image)!
        .map((p) => p.percent),
    );
    assert.ok(
      printed.every(({ name }) => (FASHION_MNIST_CLASSES as readonly string[]).includes(name)),
      runs[0]!
        .get(image)!
        .map((p) => p.name)
        .join(', '),
    );
    // Resize 28, not round(28 · 256 / 224) = 32, with the saved mean and deviation; the 56×40 image becomes
    // ⌊28 · 56 / 40⌋ = 39 × 28, cropped from left round((39 − 28) / 2) = round(5.5) = 6.
    const path = join(root, image);
    const expected = await expectedTop(graph, join(root, 'trained'), path, { crop: 28, channels: 1, resize: 28, ...input }, FASHION_MNIST_CLASSES);
    for (const run of runs) assertSameTop(run.get(image)!, expected, image);
    // Without them: ImageNet's transform and normalisation (its luma for grey), and class indices.
    assertSameTop(
      printedTop(imported.stdout).get(image)!,
      await expectedTop(graph, join(root, 'tiny_fashion-weights'), path, { crop: 28, channels: 1 }),
      image,
    );
  }

  writeWeightsFolder(join(root, 'three'), manifest.model, [...weights.values()], [], { input, classes: ['a', 'b', 'c'] });
  writeWeightsFolder(join(root, 'rgb-stats'), manifest.model, [...weights.values()], [], { input: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } });
  for (const [folder, message] of [
    ['three', 'netspec: three/model.json names 3 classes but tiny_fashion has 10\n'],
    ['rgb-stats', 'netspec: rgb-stats/model.json normalises 3 channels but tiny_fashion takes 1\n'],
  ]) {
    const run = netspec(['predict', 'tiny_fashion.json', '--weights', folder!, 'garment.png']);
    assert.is(run.status, 1);
    assert.is(problems(run.stderr), message);
  }
  rmSync(root, { recursive: true });
});

test('a weights manifest with a malformed normalisation or class list is refused naming the field', async () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-manifest-'));
  writeWeightsFolder(join(root, 'w'), 'm', [{ name: 'dense/bias', shape: [2], data: new Float32Array(2) }], []);
  const manifest = JSON.parse(readFileSync(join(root, 'w', 'model.json'), 'utf8'));
  const normalisation = (why: string) => `input, the normalisation, is unusable: ${why}`;
  const cases: [object, string][] = [
    [{ input: { mean: [], std: [] } }, normalisation('it is not { mean, std } with a list of numbers for each')],
    [{ input: { mean: [0.5], std: [0] } }, normalisation('the standard deviation of channel 0 is 0, not positive')],
    [{ input: { mean: [0.5], std: [-0.2] } }, normalisation('the standard deviation of channel 0 is -0.2, not positive')],
    // 1 / 5e-324 is Infinity: an int8 export of such weights would write input_scale=Infinity.
    [
      { input: { mean: [0.5], std: [5e-324] } },
      normalisation('the standard deviation of channel 0 is 5e-324, below 1.1754943508222875e-38 (2^-126), so 1 / std overflows float32'),
    ],
    [{ input: { mean: [0.5, 0.5], std: [0.2] } }, normalisation('it has 2 means but 1 deviations')],
    [{ input: { mean: ['0.5'], std: [0.2] } }, normalisation('the mean of channel 0 is "0.5", not a finite number')],
    [{ input: { mean: [0.5], std: [null] } }, normalisation('the standard deviation of channel 0 is null, not a finite number')],
    [{ input: [0.5] }, normalisation('it is not { mean, std } with a list of numbers for each')],
    [{ classes: ['shoe', 3] }, 'classes is not a list of names'],
    [{ classes: 'shoe' }, 'classes is not a list of names'],
  ];
  for (const [fields, why] of cases) {
    writeFileSync(join(root, 'w', 'model.json'), JSON.stringify({ ...manifest, ...fields }));
    await readWeightsFolder(join(root, 'w')).then(
      () => assert.unreachable(JSON.stringify(fields)),
      (error: Error) => assert.is(error.message, `${join(root, 'w')}/model.json is not a netspec weights manifest: ${why}`),
    );
  }
  rmSync(root, { recursive: true });
});

const fashionInstalled = existsSync(defaultFashionMnistDir());
(fashionInstalled ? test : test.skip)('a netspec train run records its normalisation and class names, and predict names Fashion-MNIST classes', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-predict-run-'));
  const netspec = netspecIn(root);
  writeFileSync(join(root, 'tiny_fashion.json'), JSON.stringify(TINY_FASHION_SPEC));
  const env = { NETSPEC_BACKEND: 'wasm' };
  const trained = netspec(
    ['train', 'tiny_fashion.json', '--data', 'fashion-mnist', '--limit', '256', '--epochs', '1', '--batch', '64', '--workers', '1', '--out', 'run'],
    env,
  );
  assert.is(trained.status, 0, trained.stderr);
  const manifest = JSON.parse(readFileSync(join(root, 'run', 'weights', 'model.json'), 'utf8'));
  const metrics = JSON.parse(readFileSync(join(root, 'run', 'metrics.json'), 'utf8'));
  assert.equal(manifest.classes, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  assert.equal(manifest.input, metrics.normalization);
  writeImage(join(root, 'garment.png'), 28, 28, (x) => (x > 8 && x < 20 ? [220, 220, 220, 255] : [0, 0, 0, 255]), { colorType: 0 });
  const run = netspec(['predict', 'tiny_fashion.json', '--weights', join('run', 'weights'), 'garment.png'], env);
  assert.is(run.status, 0, run.stderr);
  const printed = printedTop(run.stdout).get('garment.png')!;
  assert.is(printed.length, 5);
  assert.ok(
    printed.every(({ name }) => manifest.classes.includes(name)),
    run.stdout,
  );
  rmSync(root, { recursive: true });
});

test.run();
