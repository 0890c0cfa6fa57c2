// The segmentation loss of torchvision's reference training (references/segmentation/train.py's criterion):
// cross-entropy over the pixels whose class is not 255, on the `out` logits, plus half the same on `aux` when the
// network has an auxiliary head.
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from '../../data/dataset.js';

/** The weight torchvision's reference gives the auxiliary head's loss. */
const AUX_WEIGHT = 0.5;

export interface SegmentationLoss {
  readonly out: tf.Scalar;
  readonly aux?: tf.Scalar;
  /** out + 0.5 · aux, what is minimised. */
  readonly total: tf.Scalar;
}

/**
 * The loss of a batch from logits [batch, height, width, classes] (and the auxiliary head's, alike) and the masks,
 * [batch, height, width] class values with IGNORE_INDEX where nothing is scored. A batch in which every pixel is
 * ignored gives 0 with no gradient, where PyTorch's mean over no pixels gives NaN and ruins the weights.
 */
export function segmentationLoss(out: tf.Tensor4D, aux: tf.Tensor4D | undefined, masks: Uint8Array): SegmentationLoss {
  const [batch, height, width, classes] = out.shape;
  if (masks.length !== batch * height * width) throw new Error(`the masks hold ${masks.length} values for ${batch} outputs of ${height}×${width}`);
  const labels = new Int32Array(masks.length);
  let scored = 0;
  masks.forEach((value, i) => {
    if (value === IGNORE_INDEX) labels[i] = -1;
    else if (value < classes) [labels[i], scored] = [value, scored + 1];
    else throw new RangeError(`a mask holds class ${value}, but the head has ${classes} classes (0 to ${classes - 1}, and 255 for pixels not scored)`);
  });
  return tf.tidy(() => {
    // oneHot leaves an ignored pixel's row (label −1) all zeros, so it adds nothing to the sum.
    const truth = tf.oneHot(tf.tensor3d(labels, [batch, height, width], 'int32'), classes);
    const crossEntropy = (logits: tf.Tensor4D) => logits.logSoftmax().mul(truth).sum().neg().div(Math.max(1, scored)) as tf.Scalar;
    const outLoss = crossEntropy(out);
    if (!aux) return { out: outLoss, total: outLoss };
    const auxLoss = crossEntropy(aux);
    return { out: outLoss, aux: auxLoss, total: outLoss.add(auxLoss.mul(AUX_WEIGHT)) as tf.Scalar };
  });
}
