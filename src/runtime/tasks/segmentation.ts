import type * as tf from '@tensorflow/tfjs';
import type { Placement } from '../images/pipeline.js';
import { highestClass } from './classification.js';

/** One image's class per pixel, row-major, as `blendMask` draws it. */
export interface ClassMask {
  readonly width: number;
  readonly height: number;
  readonly classes: Int32Array;
}

/** Logits as values and dimensions, channels last: what onnxruntime's outputs become, or a tensor's data. */
export interface ScoreMaps {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * The highest-scoring class of every pixel of segmentation logits [batch, height, width, classes], per image: at the
 * input's resolution, or with `placements` (from the image pipeline) at each image's own size.
 */
export function classMasks(logits: tf.Tensor4D | ScoreMaps, placements?: readonly Placement[]): ClassMask[] {
  const [batch, height, width, classes] = ('dims' in logits ? logits.dims : logits.shape) as [number, number, number, number];
  const scores = 'dims' in logits ? logits.data : (logits.dataSync() as Float32Array);
  const size = height * width * classes;
  if (placements) return placements.map((placement, i) => classMaskInImage(scores.subarray(i * size, (i + 1) * size), [height, width, classes], placement));
  return Array.from({ length: batch }, (_, i) => ({ width, height, classes: highestClass(scores.subarray(i * size, (i + 1) * size), classes) }));
}

/**
 * Each pixel of the image takes the class whose score, sampled bilinearly at the pixel's centre on the input (pixel
 * centres mapped as a resize with align_corners=False maps them, held inside the part the image fills), is highest:
 * the scores resized to the image, as torchvision's models resize their logits, without holding them at that size.
 */
function classMaskInImage(scores: Float32Array, [height, width, classes]: readonly [number, number, number], placement: Placement): ClassMask {
  const { source, scaleX, scaleY, left, top, filled } = placement;
  const right = Math.min(width, filled.width) - 1;
  const bottom = Math.min(height, filled.height) - 1;
  const out = new Int32Array(source.width * source.height);
  const axis = (count: number, scale: number, offset: number, last: number) =>
    Array.from({ length: count }, (_, i) => {
      const at = Math.min(last, Math.max(0, (i + 0.5) * scale - offset - 0.5));
      const low = Math.floor(at);
      return { low, high: Math.min(last, low + 1), weight: at - low };
    });
  const columns = axis(source.width, scaleX, left, right);
  const rows = axis(source.height, scaleY, top, bottom);
  for (let y = 0; y < source.height; y++) {
    const { low: y0, high: y1, weight: wy } = rows[y]!;
    for (let x = 0; x < source.width; x++) {
      const { low: x0, high: x1, weight: wx } = columns[x]!;
      const [a, b, c, d] = [(y0 * width + x0) * classes, (y0 * width + x1) * classes, (y1 * width + x0) * classes, (y1 * width + x1) * classes];
      let best = 0;
      let bestScore = -Infinity;
      for (let k = 0; k < classes; k++) {
        const topRow = scores[a + k]! + (scores[b + k]! - scores[a + k]!) * wx;
        const bottomRow = scores[c + k]! + (scores[d + k]! - scores[c + k]!) * wx;
        const score = topRow + (bottomRow - topRow) * wy;
        if (score > bestScore) [best, bestScore] = [k, score];
      }
      out[y * source.width + x] = best;
    }
  }
  return { width: source.width, height: source.height, classes: out };
}
