// The reference recipes of detectors and segmenters, apart from the code that trains them: the command's help states
// them without loading TensorFlow.js.
import type { Augmentation } from '../batches.js';

/**
 * torchvision's reference recipes for the settings not given: SGD with momentum 0.9 and weight decay 10⁻⁴ and a
 * learning rate per image of the batch (detection 0.01 for 16 images, segmentation 0.02 for 32), the detection
 * steps with warm-up or the segmentation poly decay, a flip or the segmentation recipe, and for detectors gradients
 * clipped to norm 10, without which RetinaNet trained from scratch does not start learning.
 */
export const DENSE_DEFAULTS = {
  detection: { epochs: 12, batch: 4, rate: { value: 0.01, images: 16 }, schedule: 'steps', augment: 'flip', clipGradNorm: 10 },
  segmentation: { epochs: 12, batch: 4, rate: { value: 0.02, images: 32 }, schedule: 'poly', augment: 'reference', clipGradNorm: null },
} as const;
export const DENSE_OPTIMIZER = { momentum: 0.9, nesterov: false, weightDecay: 1e-4 } as const;
export const DENSE_AUGMENTATIONS: Record<(typeof DENSE_DEFAULTS)[keyof typeof DENSE_DEFAULTS]['augment'], Augmentation> = {
  flip: { cropPadding: 0, horizontalFlip: true },
  reference: { cropPadding: 0, horizontalFlip: true, segmentationRecipe: true },
};

/** A task's recipe in words, for the command's help: the figures are the ones the code uses. */
export function recipeText(task: keyof typeof DENSE_DEFAULTS): string {
  const recipe = DENSE_DEFAULTS[task];
  const { rate } = recipe;
  return (
    `${recipe.epochs} epochs of batch ${recipe.batch}, learning rate ${rate.value} per ${rate.images} images (${(rate.value * recipe.batch) / rate.images} at batch ${recipe.batch}), ` +
    `schedule ${recipe.schedule}, --augment ${recipe.augment}${recipe.clipGradNorm === null ? '' : `, gradients clipped to norm ${recipe.clipGradNorm}`}`
  );
}
