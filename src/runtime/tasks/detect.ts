import type * as tf from '@tensorflow/tfjs';
import type { TypedOutput } from '../onnx/types.js';
import { decodeDetections, type AnchorOptions, type DetectionOptions, type Detections } from './detection.js';

/** What a generated detection module exports as `detection`: its levels' sizes, anchors and decoding settings. */
export interface DetectionConfig extends Omit<DetectionOptions, 'clipTo'> {
  /** The network input's [height, width]. */
  readonly input: readonly [number, number];
  /** Each pyramid level's [height, width], lowest first. */
  readonly levels: readonly (readonly [number, number])[];
  readonly anchors: AnchorOptions;
}

/** A raw output as tfjs returns it, or as onnxruntime does (the same layout: the ONNX export keeps it). */
export type RawOutput = tf.Tensor | TypedOutput<readonly number[]>;

const valuesOf = (output: RawOutput) => ('dims' in output ? { shape: output.dims, data: output.data } : { shape: output.shape, data: output.dataSync() as Float32Array });

/**
 * Decodes a batch of RetinaNet outputs, [batch, anchors, classes] and [batch, anchors, 4] over all levels, into each
 * image's detections as torchvision's RetinaNet does. `clipTo` gives, per image, the region its pixels fill when it
 * was scaled and padded at the bottom and right to the input; by default boxes are clipped to the whole input.
 */
export function decodeBatch(classLogits: RawOutput, boxRegression: RawOutput, config: DetectionConfig, clipTo?: readonly { readonly height: number; readonly width: number }[]): Detections[] {
  const [scores, regression] = [valuesOf(classLogits), valuesOf(boxRegression)];
  const [batch, anchorCount, classes] = scores.shape as [number, number, number];
  const perLocation = config.anchors.sizes[0]!.length * config.anchors.ratios[0]!.length;
  const expected = config.levels.reduce((sum, [h, w]) => sum + h * w * perLocation, 0);
  if (anchorCount !== expected || regression.shape[1] !== expected || regression.shape[2] !== 4) {
    throw new Error(`the outputs hold ${anchorCount} anchors, but the levels ${config.levels.map((l) => l.join('×')).join(', ')} have ${expected}`);
  }
  const [logits, boxes] = [scores.data, regression.data];
  const [height, width] = config.input;
  return Array.from({ length: batch }, (_, image) => {
    let anchor = image * anchorCount;
    const levels = config.levels.map(([h, w]) => {
      const count = h * w * perLocation;
      const level = { height: h, width: w, classLogits: logits.subarray(anchor * classes, (anchor + count) * classes), boxRegression: boxes.subarray(anchor * 4, (anchor + count) * 4) };
      anchor += count;
      return level;
    });
    const clip = clipTo?.[image];
    return decodeDetections(levels, height, width, config.anchors, { ...config, ...(clip ? { clipTo: clip } : {}) });
  });
}
