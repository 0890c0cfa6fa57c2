// `netspec export onnx --quantize int8`: the fp32 export calibrated on images and rewritten as an int8 QDQ model.
import { displayPath } from '../files/display-path.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { writeAtomically } from '../files/atomic-write.js';
import { CalibrationError, checkCalibrationBudget, fashionMnistImages, folderImages } from '../quantize/images.js';
import { imageTransformFor } from '../runtime/images/pipeline.js';
import { DEFAULT_ACTIVATIONS, MIN_CALIBRATION_IMAGES, quantizeOnnx } from '../quantize/quantize.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../quantize/ranges.js';
import { cpuFlags, weightBitsFor } from '../quantize/weight-bits.js';
import { readUserWeights } from './user-weights.js';
import { megabytes } from './weights-command.js';

/** Calibration images unless told otherwise: enough for stable ranges, a few seconds of fp32 inference at 224. */
export const DEFAULT_CALIBRATION_IMAGES = 128;

/** export's quantisation options, spread into its option table. */
export const QUANTIZE_OPTIONS = {
  quantize: { type: 'choice', arg: 'TYPE', choices: ['int8'], help: 'Write a static int8 QDQ model (needs --weights and --calibrate)' },
  calibrate: { type: 'string', arg: 'SOURCE', help: 'Calibration images: fashion-mnist (its training split) or a folder of JPEG and PNG images' },
  'calibration-images': {
    type: 'number',
    arg: 'N',
    default: DEFAULT_CALIBRATION_IMAGES,
    min: 1,
    max: 60000,
    integer: true,
    help: 'How many calibration images to run (the first N of a folder by name)',
  },
  calibration: {
    type: 'choice',
    arg: 'METHOD',
    choices: CALIBRATION_METHODS,
    default: 'minmax',
    help: 'Activation ranges from the extremes or the 99.999th percentile of magnitudes',
    withdrawn: {
      entropy:
        "--calibration entropy was withdrawn: TensorRT's KL method clipped a Fashion-MNIST ResNet-20's input and stem, losing 8 points; use percentile or minmax",
    },
  },
  'weight-bits': {
    type: 'choice',
    arg: 'BITS',
    choices: ['auto', '7', '8'],
    default: 'auto',
    help: "int8 weights of 8 bits for CPUs with VNNI (AVX-512 VNNI or AVX-VNNI), else 7 (onnxruntime's reduce_range); auto reads this CPU's flags",
  },
} as const;

export interface QuantizeRequest {
  readonly calibrate: string | undefined;
  readonly images: number;
  readonly method: CalibrationMethod;
  readonly weightBits: 'auto' | '7' | '8';
}

/** Calibrates the fp32 model on the request's images, writes the int8 model, and says what stayed fp32. */
export async function quantizedExport(graph: AnalyzedGraph, fp32: Uint8Array, weights: string, out: string, request: QuantizeRequest): Promise<number> {
  if (request.calibrate === undefined)
    throw new CalibrationError('export onnx --quantize int8 needs --calibrate fashion-mnist or --calibrate FOLDER of images');
  const needed = MIN_CALIBRATION_IMAGES[request.method];
  if (request.images < needed)
    throw new CalibrationError(`${request.method} calibration needs at least ${needed} images; --calibration-images is ${request.images}`);
  checkCalibrationBudget(graph.inputShape as readonly [number, number, number], request.images);
  const { input } = (await readUserWeights(weights)).manifest;
  const transform = imageTransformFor(graph, input);
  const images =
    request.calibrate === 'fashion-mnist'
      ? fashionMnistImages(transform, request.images)
      : await folderImages(request.calibrate, request.images, transform, { minimum: needed, warn: (line) => process.stderr.write(`${line}\n`) });
  const weightBits = request.weightBits === 'auto' ? weightBitsFor(cpuFlags()) : request.weightBits === '8' ? 8 : 7;
  const quantized = await quantizeOnnx(fp32, { images, method: request.method, weightBits });
  writeAtomically(out, quantized.bytes, 'onnx');
  const kept = [...quantized.fp32].map(([op, count]) => `${op} ×${count}`).join(', ');
  const source = request.calibrate === 'fashion-mnist' ? 'Fashion-MNIST training images' : `images from ${displayPath(request.calibrate)}`;
  process.stdout.write(
    `wrote ${displayPath(out)}: ${graph.name} as int8 QDQ ONNX (${DEFAULT_ACTIVATIONS} activations, ${weightBits}-bit weights${request.weightBits === 'auto' ? ` for this CPU (${weightBits === 8 ? 'VNNI' : 'no VNNI'})` : ''}, ${request.method} ranges from ${images.count} ${source}), ${megabytes(quantized.bytes.length)}\n`,
  );
  if (kept) process.stdout.write(`stayed fp32: ${kept}\n`);
  return 0;
}
