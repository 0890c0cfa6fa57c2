// Generated from schema/netspec.schema.json by `npm run types` — do not edit.

/**
 * A declarative description of a residual network that netspec compiles into a typed TensorFlow.js model module.
 */
export interface NetSpec {
  /**
   * Path or address of this schema, so that an editor offers completion and hover help. Ignored by the compiler.
   */
  $schema?: string;
  /**
   * Model name, used as the TensorFlow.js model name. Starts with a letter or digit; then letters, digits, '.', '_' or '-'.
   */
  name: string;
  /**
   * Free text describing the model; copied into the generated module's documentation.
   */
  description?: string;
  input: Input;
  stem: Stem;
  block: Block;
  stages: Stages;
  /**
   * What follows the last stage.
   */
  head: ClassifierHead | PoolHead | NoHead;
  batchNorm?: BatchNorm;
}
/**
 * Shape of one input image, channels last (NHWC without the batch dimension).
 */
export interface Input {
  /**
   * Image height in pixels.
   */
  height: number;
  /**
   * Image width in pixels.
   */
  width: number;
  /**
   * Number of input channels (3 for RGB, 1 for grayscale).
   */
  channels: number;
}
/**
 * The layers before the first stage: a convolution with BatchNorm and ReLU, optionally followed by a 3×3 stride-2 max-pool.
 */
export interface Stem {
  /**
   * Stem kind. 'conv': one k×k convolution (padding k div 2, no bias), BatchNorm, ReLU.
   */
  type: 'conv';
  /**
   * Output channels of the stem convolution (64 in ResNets).
   */
  width: number;
  /**
   * Kernel size of the stem convolution: 3 for the CIFAR layout, 7 for the ImageNet layout.
   */
  kernelSize: 1 | 3 | 5 | 7;
  /**
   * Stride of the stem convolution: 1 for the CIFAR layout, 2 for the ImageNet layout.
   */
  stride: number;
  /**
   * Pooling after the stem: 'none', or 'max' for a 3×3 stride-2 max-pool with padding 1 (the ImageNet layout).
   */
  pool?: 'none' | 'max';
}
/**
 * The residual block repeated in every stage.
 */
export interface Block {
  /**
   * Block kind. 'basic': two 3×3 convolutions with BatchNorm, ReLU between them, and a residual add before the final ReLU (ResNet18/34).
   */
  type: 'basic';
}
/**
 * The stages of residual blocks, as parallel lists with one entry per stage. A stage's first block applies its stride; a 1×1 convolution + BatchNorm projection shortcut is used where the stride or width changes.
 */
export interface Stages {
  /**
   * Output channels of each stage, e.g. [64, 128, 256, 512].
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: Output channels of one stage.
   */
  widths: number[];
  /**
   * Number of blocks in each stage, e.g. [3, 4, 6, 3] for ResNet34.
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: Number of blocks in one stage.
   */
  depths: number[];
  /**
   * Stride of the first block of each stage, e.g. [1, 2, 2, 2].
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: Stride of one stage's first block.
   */
  strides: number[];
}
/**
 * Global average pooling, then a fully connected layer with bias producing one logit per class.
 */
export interface ClassifierHead {
  /**
   * Head kind.
   */
  type: 'classifier';
  /**
   * Number of classes (logits).
   */
  classes: number;
}
/**
 * Global average pooling only: the model returns one feature vector per image.
 */
export interface PoolHead {
  /**
   * Head kind.
   */
  type: 'pool';
}
/**
 * No head: the model returns the last stage's feature map (a backbone).
 */
export interface NoHead {
  /**
   * Head kind.
   */
  type: 'none';
}
/**
 * BatchNorm settings, in PyTorch's convention; they are translated for TensorFlow.js (its momentum is 1 − this momentum).
 */
export interface BatchNorm {
  /**
   * Added to the variance for numerical stability (PyTorch default 1e-5).
   */
  epsilon?: number;
  /**
   * Weight of the new batch statistic in the running average (PyTorch default 0.1).
   */
  momentum?: number;
}
