// Accuracy of netspec's int8 export on real data: a Fashion-MNIST ResNet-20 trained by `netspec train`, quantised
// with each calibration method and a few calibration sizes (images from the training split), against the fp32
// export on the 10,000 test images in onnxruntime-node. Usage: tsx bench/quantize-accuracy.ts RUN/weights
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { torchWeightsOf } from '../src/commands/weights-command.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { fashionMnistImages } from '../src/quantize/images.js';
import { imageTransformFor } from '../src/runtime/images/pipeline.js';
import { DEFAULT_ACTIVATIONS, quantizeOnnx } from '../src/quantize/quantize.js';
import type { ActivationType } from '../src/quantize/qdq.js';
import { CALIBRATION_METHODS } from '../src/quantize/ranges.js';

const SPEC = 'specs/fashion/resnet20.json';
const folder = process.argv[2];
if (!folder) throw new Error('usage: tsx bench/quantize-accuracy.ts RUN/weights');
const sizes = (process.env.SIZES ?? '32,128,1000').split(',').map(Number);
const activations = (process.env.ACTIVATIONS ?? DEFAULT_ACTIVATIONS) as ActivationType;

const compiled = compileSpec(SPEC, readFileSync(SPEC));
if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
const weights = await torchWeightsOf(compiled.graph, folder);
const { input: normalization } = (await readWeightsFolder(folder)).manifest;
const fp32 = emitOnnx(compiled.graph, weights);
const { test } = loadFashionMnist();
const {
  mean: [mean],
  std: [std],
} = normalization!;
const testImages = Float32Array.from(test.images, (p) => (p / 255 - mean!) / std!);
const options = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };

/** Top-1 class of each test image. */
async function predictions(model: Uint8Array): Promise<Uint8Array> {
  const session = await ort.InferenceSession.create(model, options);
  const classes = new Uint8Array(test.count);
  const batch = 500;
  for (let start = 0; start < test.count; start += batch) {
    const input = new ort.Tensor('float32', testImages.subarray(start * 784, (start + batch) * 784), [batch, 1, 28, 28]);
    const logits = (await session.run({ input })).output!.data as Float32Array;
    for (let n = 0; n < batch; n++) classes[start + n] = logits.subarray(n * 10, n * 10 + 10).reduce((best, v, k, row) => (v > row[best]! ? k : best), 0);
  }
  await session.release();
  return classes;
}

const accuracy = (classes: Uint8Array) => (100 * classes.filter((c, i) => c === test.labels[i]).length) / test.count;
const reference = await predictions(fp32);
console.log(`fp32: ${accuracy(reference).toFixed(2)}% on ${test.count} test images; int8 with ${activations} activations:\n`);
console.log('| calibration | images | int8 accuracy | Δ points | top-1 agreement with fp32 | calibration time |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const method of CALIBRATION_METHODS) {
  for (const count of sizes) {
    const started = performance.now();
    const images = fashionMnistImages(imageTransformFor(compiled.graph, normalization), count);
    const { bytes } = await quantizeOnnx(fp32, { images, method, activations });
    const seconds = (performance.now() - started) / 1000;
    const classes = await predictions(bytes);
    const agreement = (100 * classes.filter((c, i) => c === reference[i]).length) / test.count;
    console.log(
      `| ${method} | ${count} | ${accuracy(classes).toFixed(2)}% | ${(accuracy(classes) - accuracy(reference)).toFixed(2)} | ${agreement.toFixed(2)}% | ${seconds.toFixed(1)} s |`,
    );
  }
}
