// Static int8 quantisation: the quantisation arithmetic against hand-worked figures, the QDQ model against the
// fp32 one on onnxruntime, deterministic output, and the CLI's options and refusals.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { activationParams, quantizeWeights } from '../src/quantize/qdq.js';
import { quantizeOnnx } from '../src/quantize/quantize.js';
import { cpuFlags, weightBitsFor } from '../src/quantize/weight-bits.js';
import { percentileBins, rangeOf } from '../src/quantize/ranges.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { families, familySpec, weightsFor } from './support/families.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';

function analyzed(overrides: object): AnalyzedGraph {
  const result = compileSpec('specs/x.json', new TextEncoder().encode(JSON.stringify(familySpec(overrides))));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result.graph;
}

/** Smooth patterns, a different phase per image and per seed. */
const patterns = (count: number, per: number, seed: number) =>
  Float32Array.from({ length: count * per }, (_, i) => Math.sin(i * 0.05 + Math.floor(i / per) * 1.3 + seed) + 0.3 * Math.cos(i * 0.7));

test('activation parameters as onnxruntime computes them', () => {
  // [−1, 3] in uint8: scale 4 / 255, zero point round(0 + 1 / (4 / 255)) = round(63.75) = 64.
  const u8 = activationParams({ min: -1, max: 3 }, 'uint8');
  assert.ok(Math.abs(u8.scale - 4 / 255) < 1e-9);
  assert.is(u8.zeroPoint, 64);
  // In int8 the zero point moves down by 128: round(−128 + 63.75) = −64.
  assert.is(activationParams({ min: -1, max: 3 }, 'int8').zeroPoint, -64);
  // A ReLU's [0, 2.55]: scale 0.01 with 0 at the bottom of the range, so negative values clamp to exactly 0.
  assert.equal(activationParams({ min: 0, max: 2.55 }, 'uint8'), { scale: Math.fround(0.01), zeroPoint: 0 });
  assert.is(activationParams({ min: 0.5, max: 2.55 }, 'int8').zeroPoint, -128, 'the range is widened to hold 0');
});

test('weights are symmetric per output channel', () => {
  // Channel 0 [0.6, −1]: scale 1 / 127, levels round(76.2) = 76 and −127. Channel 1 [0.25, 0.1]: scale 0.25 / 127,
  // levels 127 and round(0.1 / 0.25 × 127) = round(50.8) = 51. With 63 levels: round(37.8) = 38, −63; 63, round(25.2) = 25.
  const full = quantizeWeights(Float32Array.of(0.6, -1, 0.25, 0.1), 2, 127);
  assert.equal([...full.values], [76, -127, 127, 51]);
  assert.equal([...full.scales], [Math.fround(1 / 127), Math.fround(0.25 / 127)]);
  assert.equal([...quantizeWeights(Float32Array.of(0.6, -1, 0.25, 0.1), 2, 63).values], [38, -63, 63, 25]);
});

test('percentile thresholds', () => {
  // 90, 9 and 1 counts: 99% of 100 is reached in the second bin.
  assert.is(percentileBins(Float64Array.of(90, 9, 1), 99), 2);
  assert.is(percentileBins(Float64Array.of(90, 9, 1), 99.5), 3);
  // 100,000 magnitudes in the first 100 of 2048 bins over [0, 4] and one in the last: 99.999% of 100,001 is reached
  // at bin 100, a threshold of 100 × 4 / 2048 = 0.1953125 on both sides of [−0.5, 4], and inside [−0.1, 4] it
  // leaves the smaller extreme as it is.
  const histogram = new Float64Array(2048);
  histogram.fill(1000, 0, 100);
  histogram[2047] = 1;
  assert.equal(rangeOf({ min: -0.5, max: 4, histogram }, 'percentile'), { min: -0.1953125, max: 0.1953125 });
  assert.equal(rangeOf({ min: -0.1, max: 4, histogram }, 'percentile'), { min: -0.1, max: 0.1953125 });
  assert.equal(rangeOf({ min: -0.5, max: 4 }, 'minmax'), { min: -0.5, max: 4 });
});

for (const family of ['basic', 'squeeze-excitation']) {
  test(`${family}: the int8 model agrees with fp32 on onnxruntime, on images it was not calibrated with`, async () => {
    const graph = analyzed(families[family]!);
    const [h, w, c] = graph.inputShape as [number, number, number];
    const fp32 = emitOnnx(graph, weightsFor(graph));
    const calibration = { data: patterns(16, c * h * w, 0), count: 16, shape: [c, h, w] as const };
    const { bytes, fp32: kept } = await quantizeOnnx(fp32, { images: calibration, method: 'minmax' });
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const types = model.graph!.node!.map((n) => n.opType!);
    assert.equal(
      model.graph!.input!.map((i) => i.name),
      ['input'],
    );
    assert.equal(
      model.graph!.output!.map((o) => o.name),
      ['output'],
    );
    assert.not.ok(types.includes('Relu'), 'every ReLU after a Conv or Add is absorbed');
    assert.is(types.filter((t) => t === 'QuantizeLinear').length > 0, true);
    assert.equal([...kept.keys()].sort(), family === 'squeeze-excitation' ? ['Mul', 'Sigmoid'] : []);
    const options = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
    const [reference, quantized] = await Promise.all([fp32, bytes].map((b) => ort.InferenceSession.create(b, options)));
    const input = new ort.Tensor('float32', patterns(8, c * h * w, 5), [8, c, h, w]);
    const [expected, actual] = await Promise.all([reference!, quantized!].map(async (s) => (await s.run({ input })).output!.data as Float32Array));
    const scale = expected!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const error = expected!.reduce((m, v, i) => Math.max(m, Math.abs(v - actual![i]!)), 0) / scale;
    // Seven logits from about 20 layers of 8-bit values: a few percent of the output scale, far below a random model's 100%.
    assert.ok(error < 0.06, `relative max |Δ| ${error.toFixed(4)}`);
  });
}

const denseModels = {
  deeplabv3: { ...denseBackbone, name: 'tiny_deeplab', head: { type: 'deeplabv3', classes: 3, aux: true, rates: [1, 2, 3] } },
  // RetinaNet's towers are one set of weights read by a Conv node per level: each weight is quantised once, and each
  // node's bias for its own input scale.
  retinanet: tinyRetinanet(4),
};

for (const [kind, spec] of Object.entries(denseModels)) {
  test(`${kind}: the int8 model is a valid graph whose every output agrees with fp32 on onnxruntime`, async () => {
    const graph = analyzed(spec);
    const [h, w, c] = graph.inputShape as [number, number, number];
    const fp32 = emitOnnx(graph, weightsFor(graph));
    const { bytes } = await quantizeOnnx(fp32, { images: { data: patterns(16, c * h * w, 0), count: 16, shape: [c, h, w] }, method: 'minmax' });
    const names = onnxProto.onnx.ModelProto.decode(bytes).graph!.initializer!.map((t) => t.name!);
    assert.is(new Set(names).size, names.length, 'initialisers are named once');
    const options = { intraOpNumThreads: 1 };
    const [reference, quantized] = await Promise.all([fp32, bytes].map((b) => ort.InferenceSession.create(b, options)));
    const input = new ort.Tensor('float32', patterns(4, c * h * w, 5), [4, c, h, w]);
    const [expected, actual] = await Promise.all([reference!, quantized!].map((session) => session.run({ input })));
    for (const { name } of graph.outputs) {
      const [e, a] = [expected![name]!.data as Float32Array, actual![name]!.data as Float32Array];
      const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const error = e.reduce((m, v, i) => Math.max(m, Math.abs(v - a[i]!)), 0) / scale;
      // A few percent of the output scale after some 20 layers of 8-bit values, the worst pixel or anchor of four
      // images: measured 0.4% (RetinaNet), 2.5% (DeepLabV3 out) and 7.4% (its aux), far below a random model's 100%.
      assert.ok(error < 0.1, `${name}: relative max |Δ| ${error.toFixed(4)}`);
      if (process.env.NETSPEC_REPORT_ERRORS) console.log(`${kind} ${name}: ${error.toFixed(4)}`);
    }
  });
}

test("weights keep 8 bits on CPUs with VNNI and 7 without, as onnxruntime's reduce_range keeps them; both agree with fp32", async () => {
  assert.equal([['avx2', 'avx512_vnni'], ['avx_vnni'], ['avx2', 'avx512f'], []].map(weightBitsFor), [8, 8, 7, 7]);
  const graph = analyzed(families.basic!);
  const [h, w, c] = graph.inputShape as [number, number, number];
  const fp32 = emitOnnx(graph, weightsFor(graph));
  const images = { data: patterns(16, c * h * w, 0), count: 16, shape: [c, h, w] as const };
  const input = new ort.Tensor('float32', patterns(8, c * h * w, 5), [8, c, h, w]);
  const expected = (await (await ort.InferenceSession.create(fp32)).run({ input })).output!.data as Float32Array;
  for (const [bits, largest] of [
    [7, 63],
    [8, 127],
  ] as const) {
    const { bytes } = await quantizeOnnx(fp32, { images, method: 'minmax', weightBits: bits });
    const weights = onnxProto.onnx.ModelProto.decode(bytes).graph!.initializer!.filter(
      (t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8 && t.dims!.length > 1,
    );
    // Symmetric per channel: each channel's largest weight is the top level, ±63 or ±127.
    const levels = weights.flatMap((t) => [...new Int8Array(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength)].map(Math.abs));
    assert.is(Math.max(...levels), largest, `${bits}-bit weights`);
    const actual = (await (await ort.InferenceSession.create(bytes)).run({ input })).output!.data as Float32Array;
    const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const error = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - actual[i]!)), 0) / scale;
    assert.ok(error < 0.06, `${bits}-bit weights: relative max |Δ| ${error.toFixed(4)}`);
  }
});

test('the same weights and images give the same bytes', async () => {
  const graph = analyzed(families.basic!);
  const fp32 = emitOnnx(graph, weightsFor(graph));
  const images = { data: patterns(16, 3 * 24 * 24, 1), count: 16, shape: [3, 24, 24] as const };
  const [a, b] = await Promise.all([0, 1].map(() => quantizeOnnx(fp32, { images, method: 'percentile' })));
  assert.equal(a!.bytes, b!.bytes);
  await quantizeOnnx(fp32, { images: { ...images, data: images.data.subarray(0, 4 * 3 * 24 * 24), count: 4 }, method: 'percentile' }).then(
    () => assert.unreachable('should refuse'),
    (error: Error) => assert.is(error.message, 'percentile calibration needs at least 16 images, got 4'),
  );
});

test('activations that overflow float32 on the calibration images are refused, naming the value, instead of giving infinite scales', async () => {
  const graph = analyzed(families.basic!);
  const weights = weightsFor(graph);
  // Every convolution's weights scaled by 10^20: after the second of them values near 10^40 pass float32's largest,
  // 3.4·10^38, and become ±Infinity (then NaN where infinities meet), though every weight is finite.
  for (const tensor of weights.values()) if (tensor.shape.length === 4) tensor.data.forEach((v, i, data) => (data[i] = v * 1e20));
  const fp32 = emitOnnx(graph, weights);
  const images = { data: patterns(4, 3 * 24 * 24, 2), count: 4, shape: [3, 24, 24] as const };
  const failure = await quantizeOnnx(fp32, { images, method: 'minmax' }).then(
    () => 'quantised',
    (error: Error) => error.message,
  );
  // The stem's output stays finite (about 1.5·10^20 at most); the first block's first convolution overflows. Whether
  // its sums meet +Infinity and −Infinity (NaN) depends on onnxruntime's order of summation, which varies with its
  // kernels and threads, so the range may be either.
  assert.match(
    failure,
    /^the model's value layer1\.0\.relu1 is not finite on the calibration images \(it reaches (0 to Infinity|NaN to NaN|0 to NaN|NaN to Infinity)\): its weights overflow float32, so no int8 range fits it$/,
  );
});

test('calibration images past the memory budget are refused from the input size before any is read (regression: Invalid typed array length)', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-quantize-budget-'));
  const large = { ...familySpec(families.basic!), name: 'large', input: { height: 512, width: 512, channels: 3 } };
  writeFileSync(join(root, 'large.json'), JSON.stringify(large));
  const compiled = compileSpec('large.json', new TextEncoder().encode(JSON.stringify(large)));
  if (!compiled.ok) throw new Error('does not compile');
  writeFileSync(join(root, 'large.safetensors'), writeSafetensors(weightsFor(compiled.graph)));
  const cli = (...args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
  assert.is(cli('weights', 'import', 'large.json', 'large.safetensors', '--out', 'w').status, 0);
  mkdirSync(join(root, 'images'));
  const run = cli(
    'export',
    'onnx',
    'large.json',
    '--weights',
    'w',
    '--quantize',
    'int8',
    '--calibrate',
    'images',
    '--calibration-images',
    '6000',
    '--out',
    'large.onnx',
  );
  assert.is(run.status, 1, run.stderr);
  // 4 bytes × 6000 × 512 × 512 × 3 = 18,874,368,000 bytes = 17.58 GiB; ⌊2^30 / (4 × 786,432)⌋ = 341 images fit.
  assert.is(
    run.stderr,
    'netspec: --calibration-images 6000 at 512×512×3 take 17.58 GiB as float32, more than the 1 GiB calibration holds at once; at most 341 fit, and a few hundred images give stable ranges\n',
  );
  rmSync(root, { recursive: true });
});

test('export onnx --quantize int8 from a folder of images of other sizes and modes, and its refusals', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-quantize-'));
  const spec = join(root, 'x.json');
  writeFileSync(spec, JSON.stringify(familySpec(families.basic!)));
  const graph = analyzed(families.basic!);
  writeFileSync(join(root, 'x.safetensors'), writeSafetensors(weightsFor(graph)));
  const cli = (...args: string[]) => spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
  assert.is(cli('weights', 'import', 'x.json', 'x.safetensors', '--out', 'w').status, 0);
  const images = join(root, 'images');
  mkdirSync(images);
  // RGBA at 40×30 and grey at 24×50 with an alpha channel: resized, cropped and converted as predict does.
  for (let i = 0; i < 3; i++) {
    const png = new PNG({ width: 40 - 8 * i, height: 30 + 10 * i });
    png.data.forEach((_, k) => (png.data[k] = (k * (7 + i)) % 251));
    writeFileSync(join(images, `${i}.png`), PNG.sync.write(png, i === 2 ? { colorType: 4 } : {}));
  }
  writeFileSync(join(images, '.hidden'), 'skipped');
  const made = cli(
    'export',
    'onnx',
    'x.json',
    '--weights',
    'w',
    '--quantize',
    'int8',
    '--calibrate',
    'images',
    '--calibration-images',
    '3',
    '--out',
    'x.int8.onnx',
  );
  assert.is(made.status, 0, made.stderr);
  // The weights' bits follow this CPU: 8 with VNNI, 7 without.
  const bits = weightBitsFor(cpuFlags());
  assert.match(
    made.stdout,
    new RegExp(
      `^wrote x\\.int8\\.onnx: x as int8 QDQ ONNX \\(uint8 activations, ${bits}-bit weights for this CPU \\(${bits === 8 ? 'VNNI' : 'no VNNI'}\\), minmax ranges from 3 images from images\\)`,
    ),
  );
  const refusal = (args: string[], status: number, message: string) => {
    const run = cli('export', 'onnx', 'x.json', ...args, '--out', 'y.onnx');
    assert.is(run.status, status, run.stderr);
    assert.is(run.stderr.split('\n')[0], message);
  };
  refusal(
    ['--quantize', 'int8', '--calibrate', 'images'],
    2,
    'netspec: export onnx --quantize needs --weights DIR: calibrating freshly initialised weights means nothing',
  );
  // Fewer images than the 128 asked for: all 3 are used, with a warning, as minmax needs 1.
  const fewer = cli('export', 'onnx', 'x.json', '--weights', 'w', '--quantize', 'int8', '--calibrate', 'images', '--out', 'fewer.onnx');
  assert.is(fewer.status, 0, fewer.stderr);
  assert.match(fewer.stderr, /^netspec: the calibration folder images holds 3 images, fewer than the 128 asked for; calibrating with all 3$/m);
  assert.match(fewer.stdout, /minmax ranges from 3 images from images\)/);
  refusal(
    ['--weights', 'w', '--quantize', 'int8', '--calibrate', 'images', '--calibration', 'percentile'],
    1,
    'netspec: the calibration folder images holds 3 images; at least 16 are needed',
  );
  refusal(
    ['--weights', 'w', '--quantize', 'int8', '--calibrate', 'images', '--calibration', 'percentile', '--calibration-images', '3'],
    1,
    'netspec: percentile calibration needs at least 16 images; --calibration-images is 3',
  );
  // The withdrawn method is a usage error that says what to use instead, before any image is read.
  refusal(
    ['--weights', 'w', '--quantize', 'int8', '--calibrate', 'images', '--calibration', 'entropy'],
    2,
    "netspec: --calibration entropy was withdrawn: TensorRT's KL method clipped a Fashion-MNIST ResNet-20's input and stem, losing 8 points; use percentile or minmax",
  );
  refusal(['--weights', 'w', '--quantize', 'int8', '--calibrate', 'missing'], 1, 'netspec: cannot read the calibration folder missing: no such file or folder');
  refusal(
    ['--weights', 'w', '--quantize', 'int8', '--calibrate', 'fashion-mnist'],
    1,
    'netspec: fashion-mnist calibration needs a 28×28 grey input; the model takes 24×24×3 — calibrate with a folder of images',
  );
  mkdirSync(join(root, 'empty'));
  refusal(['--weights', 'w', '--quantize', 'int8', '--calibrate', 'empty'], 1, 'netspec: the calibration folder empty holds no images; at least 1 is needed');
  writeFileSync(join(images, '00-notes.txt'), 'not an image');
  refusal(
    ['--weights', 'w', '--quantize', 'int8', '--calibrate', 'images', '--calibration-images', '3'],
    1,
    `netspec: cannot read the calibration image ${join('images', '00-notes.txt')}: the image is neither JPEG nor PNG`,
  );
  assert.equal(readFileSync(join(root, 'x.int8.onnx')).length > 0, true);
  // The image folder a classifier trains on, one subfolder per class: its training images, spread over the classes.
  const classes = join(root, 'classes');
  for (const [c, name] of ['cat', 'dog'].entries()) {
    mkdirSync(join(classes, name), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const png = new PNG({ width: 32, height: 24 });
      png.data.forEach((_, k) => (png.data[k] = (k * (3 + i + 5 * c)) % 251));
      writeFileSync(join(classes, name, `${i}.png`), PNG.sync.write(png));
    }
  }
  const trained = cli(
    'export',
    'onnx',
    'x.json',
    '--weights',
    'w',
    '--quantize',
    'int8',
    '--calibrate',
    'classes',
    '--calibration-images',
    '4',
    '--out',
    'classes.onnx',
  );
  assert.is(trained.status, 0, trained.stderr);
  // The training images that remain beside train's default 10% validation share, 4 taken evenly spaced through them.
  assert.match(trained.stdout, /minmax ranges from 4 images from classes\)/);
  rmSync(root, { recursive: true });
});

test.run();
