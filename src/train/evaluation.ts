// A classifier's predictions on a labelled set, in inference mode. The figures computed from them (confusion
// matrix, accuracy overall and per class, the matrix as SVG) live with the other metrics in src/metrics/ and are
// re-exported here for the callers that still import them from training.
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.js';
import { assembleBatch, type Normalization } from './batches.js';

export { confusionSvg, evaluationReport, formatReport, type ClassFigures, type EvaluationReport } from '../metrics/classification.js';

const BATCH = 100;

/** The highest-scoring class of every image of the set, in order, with BatchNorm's running statistics. */
export function predictLabels(model: tf.LayersModel, set: ImageSet, normalization: Normalization): Int32Array {
  const predicted = new Int32Array(set.count);
  for (let start = 0; start < set.count; start += BATCH) {
    const indices = Int32Array.from({ length: Math.min(BATCH, set.count - start) }, (_, i) => start + i);
    const { images } = assembleBatch(set, indices, normalization);
    const labels = tf.tidy(() =>
      (model.predict(tf.tensor4d(images, [indices.length, set.height, set.width, set.channels])) as tf.Tensor2D).argMax(1).dataSync(),
    );
    predicted.set(labels, start);
  }
  return predicted;
}
