// RetinaNet's training loss, exactly torchvision 0.14's RetinaNetHead.compute_loss, in TensorFlow.js ops so that it
// differentiates: the sigmoid focal loss (α 0.25, γ 2) over every anchor not between the thresholds, and the L1
// loss of the foreground anchors' box regression, each image's sums over its foreground count (at least 1), then
// averaged over the images.
import * as tf from '@tensorflow/tfjs';
import { BETWEEN_THRESHOLDS, type AnchorTargets } from './anchor-matching.js';

const FOCAL_ALPHA = 0.25;

export interface DetectionLoss {
  readonly classification: tf.Scalar;
  readonly boxRegression: tf.Scalar;
}

/**
 * The two losses of a batch from the head's outputs, [batch, anchors, classes] logits and [batch, anchors, 4]
 * regressions, and each image's anchor targets. An image without boxes adds the focal loss of all its anchors as
 * background, and nothing to the box loss, though it still counts in the average, as in torchvision.
 */
export function retinanetLoss(classLogits: tf.Tensor3D, boxRegression: tf.Tensor3D, targets: readonly AnchorTargets[]): DetectionLoss {
  const [batch, anchors, classes] = classLogits.shape;
  if (targets.length !== batch || targets.some((t) => t.classes.length !== anchors)) {
    throw new Error(`the targets are for ${targets.length} images of ${targets[0]?.classes.length} anchors, the outputs ${batch} of ${anchors}`);
  }
  const labels = new Int32Array(batch * anchors);
  const classWeights = new Float32Array(batch * anchors);
  const boxWeights = new Float32Array(batch * anchors);
  const regression = new Float32Array(batch * anchors * 4);
  targets.forEach((target, image) => {
    const scale = 1 / (Math.max(1, target.foreground) * batch);
    target.classes.forEach((label, anchor) => {
      const at = image * anchors + anchor;
      labels[at] = label;
      classWeights[at] = label === BETWEEN_THRESHOLDS ? 0 : scale;
      boxWeights[at] = label >= 0 ? scale : 0;
    });
    regression.set(target.regression, image * anchors * 4);
  });
  return tf.tidy(() => {
    // oneHot leaves the row of a negative label (background, ignored) all zeros.
    const truth = tf.oneHot(tf.tensor2d(labels, [batch, anchors], 'int32'), classes) as tf.Tensor3D;
    const focal = sigmoidFocalLoss(classLogits, truth);
    const classification = focal.mul(tf.tensor3d(classWeights, [batch, anchors, 1])).sum() as tf.Scalar;
    const l1 = boxRegression.sub(tf.tensor3d(regression, [batch, anchors, 4])).abs();
    const boxLoss = l1.mul(tf.tensor3d(boxWeights, [batch, anchors, 1])).sum() as tf.Scalar;
    return { classification, boxRegression: boxLoss };
  });
}

/** torchvision.ops.sigmoid_focal_loss without reduction: the binary cross-entropy, times (1 − p_t)^γ and α_t. */
function sigmoidFocalLoss(logits: tf.Tensor, truth: tf.Tensor): tf.Tensor {
  // max(x, 0) − x·t + log(1 + e^−|x|): binary_cross_entropy_with_logits, stable for logits of either sign.
  const crossEntropy = logits.relu().sub(logits.mul(truth)).add(logits.abs().neg().exp().log1p());
  const p = logits.sigmoid();
  const pt = p.mul(truth).add(tf.scalar(1).sub(p).mul(tf.scalar(1).sub(truth)));
  const alpha = truth.mul(FOCAL_ALPHA).add(
    tf
      .scalar(1)
      .sub(truth)
      .mul(1 - FOCAL_ALPHA),
  );
  return crossEntropy.mul(tf.scalar(1).sub(pt).square()).mul(alpha);
}
