// Static int8 quantisation of an fp32 ONNX model from the compiler: calibrate its activations on images, then
// rewrite it in QDQ form with int8 per-channel weights.
import onnxProto from 'onnx-proto';
import { calibrate, type CalibrationImages } from './calibrate.js';
import { CalibrationError } from './images.js';
import { planQuantization } from './plan.js';
import { quantizeModel, type ActivationType } from './qdq.js';
import type { WeightBits } from './weight-bits.js';
import { rangeOf, type CalibrationMethod, type Range } from './ranges.js';

const { onnx } = onnxProto;

export interface QuantizeOptions {
  readonly images: CalibrationImages;
  readonly method: CalibrationMethod;
  /** The activations' type (default: DEFAULT_ACTIVATIONS). */
  readonly activations?: ActivationType;
  /** With uint8 activations: weights of 7 bits (onnxruntime's reduce_range, the default) or 8 (for CPUs with VNNI). */
  readonly weightBits?: WeightBits;
}

/**
 * uint8 activations with int8 weights kept to 7 bits (U8S8, onnxruntime's reduce_range), chosen by measuring
 * against S8S8 on this project's 2-core AMD EPYC (AVX2, no AVX-512 VNNI) with onnxruntime-node 1.30
 * (bench/results.md): onnxruntime's AVX2 kernels are built for U8S8, and S8S8 ran slower than fp32; with full
 * 8-bit weights U8S8's saturating 16-bit pair sums cost 1.4 points of top-1 agreement, with 7 bits 0.2.
 */
export const DEFAULT_ACTIVATIONS: ActivationType = 'uint8';

/**
 * The fewest calibration images each method accepts. The extremes of a handful of images are a range, though a
 * narrow one; a histogram's tail, which the percentile method cuts, is only the data's own over
 * enough images that no one image's outliers make it.
 */
export const MIN_CALIBRATION_IMAGES: Readonly<Record<CalibrationMethod, number>> = { minmax: 1, percentile: 16 };

export interface QuantizedOnnx {
  readonly bytes: Uint8Array;
  /** Op types left fp32 (neither quantised nor absorbed), with how many nodes of each. */
  readonly fp32: ReadonlyMap<string, number>;
}

/**
 * Quantises an fp32 ONNX model (as emitOnnx writes it) to int8 QDQ form. The same model and images give the same
 * bytes. Throws a plain Error when there are too few images for the method.
 */
export async function quantizeOnnx(fp32: Uint8Array, options: QuantizeOptions): Promise<QuantizedOnnx> {
  const { images, method, activations = DEFAULT_ACTIVATIONS, weightBits = 7 } = options;
  const needed = MIN_CALIBRATION_IMAGES[method];
  if (images.count < needed) throw new Error(`${method} calibration needs at least ${needed} images, got ${images.count}`);
  const model = onnx.ModelProto.decode(fp32);
  const plan = planQuantization(model.graph!);
  const statistics = await calibrate(model, plan.calibrated, images, method !== 'minmax');
  // An activation that overflowed float32 on the images would give a scale of Infinity or NaN, and an int8 model
  // that computes nothing: refused, naming the value.
  const overflowed = [...statistics].find(([, s]) => !Number.isFinite(s.min) || !Number.isFinite(s.max));
  if (overflowed)
    throw new CalibrationError(
      `the model's value ${overflowed[0]} is not finite on the calibration images (it reaches ${overflowed[1].min} to ${overflowed[1].max}): its weights overflow float32, so no int8 range fits it`,
    );
  const ranges = new Map<string, Range>([...statistics].map(([name, s]) => [name, rangeOf(s, method)]));
  const quantized = quantizeModel(model, plan, ranges, activations, weightBits);
  return { bytes: onnx.ModelProto.encode(quantized).finish(), fp32: plan.fp32 };
}
