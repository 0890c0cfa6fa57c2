// What a detector's or a segmenter's batch is trained against, and its loss from the model's outputs: the one
// function the main thread and every training worker call, so that replicas compute the same thing.
import type * as tf from '@tensorflow/tfjs';
import type { AnchorTargets } from './anchor-matching.js';
import { retinanetLoss } from './detection-loss.js';
import { segmentationLoss } from './segmentation-loss.js';

/** A batch's targets: each image's anchor targets, or every image's mask at the input's size, one after another. */
export type DenseTargets =
  | { readonly kind: 'detection'; readonly images: readonly AnchorTargets[] }
  | { readonly kind: 'segmentation'; readonly count: number; readonly masks: Uint8Array };

/** The loss minimised and its parts by name (classification and box regression; out and aux), as scalars. */
export interface DenseLoss {
  readonly total: tf.Scalar;
  readonly parts: Readonly<Record<string, tf.Scalar>>;
}

export function targetCount(targets: DenseTargets): number {
  return targets.kind === 'detection' ? targets.images.length : targets.count;
}

/** The loss of outputs in the graph's order (cls_logits and bbox_regression; out and, when present, aux). */
export function denseLoss(outputs: readonly tf.Tensor[], targets: DenseTargets): DenseLoss {
  if (targets.kind === 'detection') {
    const { classification, boxRegression } = retinanetLoss(outputs[0] as tf.Tensor3D, outputs[1] as tf.Tensor3D, targets.images);
    return { total: classification.add(boxRegression), parts: { classification, boxRegression } };
  }
  const { out, aux, total } = segmentationLoss(outputs[0] as tf.Tensor4D, outputs[1] as tf.Tensor4D | undefined, targets.masks);
  return { total, parts: aux ? { out, aux } : { out } };
}

/** The targets of images `from` to `to` − 1 of the batch, for one replica's share. */
export function sliceTargets(targets: DenseTargets, from: number, to: number): DenseTargets {
  if (targets.kind === 'detection') return { kind: 'detection', images: targets.images.slice(from, to) };
  const size = targets.masks.length / targets.count;
  return { kind: 'segmentation', count: to - from, masks: targets.masks.slice(from * size, to * size) };
}
