// Generated from schema/netspec.schema.json by `npm run types` — do not edit.

/**
 * The layers before the first stage, ending in BatchNorm and ReLU, optionally followed by a 3×3 stride-2 max-pool.
 */
export type Stem = ConvStem | DeepStem;
/**
 * The residual block repeated in every stage.
 */
export type Block = BasicBlock | BottleneckBlock;

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
  neck?: FpnNeck;
  /**
   * What follows the last stage.
   */
  head: ClassifierHead | PoolHead | NoHead | FcnHead | DeepLabV3Head | RetinaNetHead;
  /**
   * Stage outputs to return as features, named as FPN names them: C2 is the first stage's output, C3 the second's, and so on. With a head, the head's output is returned last. The model then returns one tensor per name.
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: A stage output: C2 (first stage) to C9 (eighth).
   */
  outputs?: ('C2' | 'C3' | 'C4' | 'C5' | 'C6' | 'C7' | 'C8' | 'C9')[];
  batchNorm?: BatchNorm;
  groupNorm?: GroupNorm;
  preprocess?: Preprocess;
}
/**
 * Shape of one input image, channels last (NHWC without the batch dimension). Give height and width for a model of one fixed size; leave both out for a model that takes any admissible size (multiples of sizeMultiple from minSize to maxSize), with every layer's shape then a formula of the input's height H and width W.
 */
export interface Input {
  /**
   * Image height in pixels, for a fixed-size model. Leave out, with width, for an open size.
   */
  height?: number;
  /**
   * Image width in pixels, for a fixed-size model. Leave out, with height, for an open size.
   */
  width?: number;
  /**
   * Number of input channels (3 for RGB, 1 for grayscale).
   */
  channels: number;
  /**
   * Open size only: the smallest height and width the model is to take. Default: the smallest at which every layer has something to read.
   */
  minSize?: number;
  /**
   * Open size only: the largest height and width the model is to take; the size limits are checked there. Default 2048.
   */
  maxSize?: number;
  /**
   * Open size only: heights and widths must be multiples of this. Default: the network's total stride (32 for a ResNet classifier), at which every stride divides the map exactly; 1 takes any size every layer can.
   */
  sizeMultiple?: number;
}
/**
 * One k×k convolution (padding k div 2, no bias), BatchNorm, ReLU: torchvision's stem (7×7 stride 2 with a max-pool) or the CIFAR stem (3×3 stride 1, no pool).
 */
export interface ConvStem {
  /**
   * Stem kind: 'conv'.
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
   * Pooling after the stem: 'none'; 'max' for a 3×3 stride-2 max-pool with padding 1 (the ImageNet layout); 'conv' for timm's replace_stem_pool, a 3×3 stride-2 convolution (padding 1, no bias), BatchNorm and ReLU named maxpool.0 … maxpool.2 (the ResNet-RS models).
   */
  pool?: 'none' | 'max' | 'conv';
  /**
   * timm's aa_layer in the stem, which needs a pool: 'blur' runs the max-pool at stride 1 and follows it by timm's BlurPool2d (a fixed 3×3 binomial filter, reflect padding 1, stride 2), named maxpool.0 and maxpool.1 (resnetblur models); 'avg' replaces the max-pool by a 2×2 stride-2 average-pool named maxpool (resnetaa models); with the 'conv' pool the convolution runs at stride 1 and the anti-aliasing pool with the stride follows it (maxpool.1), before the BatchNorm and ReLU.
   */
  antiAlias?: 'none' | 'blur' | 'avg';
}
/**
 * The deep stem of ResNet-C: three 3×3 convolutions (the first strided), each followed by BatchNorm and ReLU, widths midWidth, midWidth, width (or, tiered, the two widths midWidth lists, then width). Named conv1.0 … conv1.6 and bn1 as in timm.
 */
export interface DeepStem {
  /**
   * Stem kind: 'deep'.
   */
  type: 'deep';
  /**
   * Output channels of the last stem convolution (64 in ResNet-D).
   */
  width: number;
  /**
   * Output channels of the first two stem convolutions: one width for both (default: half of width, 32 in ResNet-D), or two, the first convolution's and the second's, for timm's tiered stem ([24, 32] in resnet50t).
   */
  midWidth?: number | number[];
  /**
   * Stride of the first stem convolution (2 in the ImageNet layout).
   */
  stride: number;
  /**
   * Pooling after the stem: 'none'; 'max' for a 3×3 stride-2 max-pool with padding 1 (the ImageNet layout); 'conv' for timm's replace_stem_pool, a 3×3 stride-2 convolution (padding 1, no bias), BatchNorm and ReLU named maxpool.0 … maxpool.2 (the ResNet-RS models).
   */
  pool?: 'none' | 'max' | 'conv';
  /**
   * timm's aa_layer in the stem, which needs a pool: 'blur' runs the max-pool at stride 1 and follows it by timm's BlurPool2d (a fixed 3×3 binomial filter, reflect padding 1, stride 2), named maxpool.0 and maxpool.1 (resnetblur models); 'avg' replaces the max-pool by a 2×2 stride-2 average-pool named maxpool (resnetaa models); with the 'conv' pool the convolution runs at stride 1 and the anti-aliasing pool with the stride follows it (maxpool.1), before the BatchNorm and ReLU.
   */
  antiAlias?: 'none' | 'blur' | 'avg';
}
/**
 * Two 3×3 convolutions with BatchNorm, ReLU between them, and a residual add before the final ReLU (ResNet18/34). Its output has the stage width.
 */
export interface BasicBlock {
  /**
   * Block kind: 'basic'.
   */
  type: 'basic';
  /**
   * Pre-activation (ResNet v2): BatchNorm and ReLU before each convolution instead of after; the projection shortcut reads the pre-activated input and has no BatchNorm; a final BatchNorm and ReLU follow the last stage.
   */
  preActivation?: boolean;
  /**
   * Initialise each block's last BatchNorm scale (or, with preActivation, its last convolution) to zero, so every block starts as the identity (torchvision's zero_init_residual).
   */
  zeroInitResidual?: boolean;
  /**
   * Projection shortcut where the stride or width changes: 'conv' is a strided 1×1 convolution and BatchNorm (torchvision); 'avgPool' is a 2×2 average-pool with the stride, then a 1×1 convolution and BatchNorm (ResNet-D).
   */
  shortcut?: 'conv' | 'avgPool';
  /**
   * Channel attention on each block's residual branch, after its last BatchNorm (with preActivation, its last convolution) and before the add, its weights under the block's `se` as timm names them: 'se' is timm's squeeze-excitation (channel means through 1×1 convolutions with bias to output channels / 16 rounded to a multiple of 8 and back, ReLU between, sigmoid gate), as in seresnet50; 'eca' is timm's efficient channel attention (a 1-D convolution over the channel means, its odd kernel size from the channel count, sigmoid gate), as in ecaresnet50d.
   */
  attention?: 'none' | 'se' | 'eca';
  /**
   * Stochastic depth (timm's drop_path_rate): in training, each image's residual branch is dropped with this probability at the last block, rising linearly from 0 at the first; the kept branches are scaled to keep their expectation. Does nothing at inference.
   */
  dropPath?: number;
  /**
   * timm's aa_layer in the blocks: a stride-2 block's 3×3 convolution (a basic block's first, a bottleneck's middle one) runs at stride 1 and, after its BatchNorm and ReLU, an anti-aliasing pool named `aa` carries the stride: 'blur' is timm's BlurPool2d (a fixed 3×3 binomial filter with reflect padding 1), 'avg' a 2×2 average-pool. Needs post-activation blocks, undilated stages of stride 1 or 2, and (bottleneck) the stride on the 3×3 convolution.
   */
  antiAlias?: 'none' | 'blur' | 'avg';
  /**
   * The width of 'se' attention's reduction as a fraction of the block's output channels (timm's rd_ratio: 1/16, ResNet-RS 0.25), rounded to the nearest multiple of 8 and at least 8, as timm's make_divisible does. Only with attention 'se'.
   */
  seRatio?: number;
  /**
   * timm's block_reduce_first: the first convolution's output width is divided by this, rounding down (2 in senet154).
   */
  reduceFirst?: number;
  /**
   * Kernel size of the 'conv' projection shortcut where it strides (timm's down_kernel_size: 3 in senet154, padded by 1); a projection without stride stays 1×1, as timm's does.
   */
  shortcutKernelSize?: 1 | 3;
}
/**
 * A 1×1 convolution down to the bottleneck width, a 3×3 (optionally grouped) convolution, and a 1×1 convolution up to expansion × the stage width (ResNet50 and deeper, ResNeXt, Wide ResNet). The bottleneck width is ⌊stage width × widthPerGroup / 64⌋ × groups, as in torchvision.
 */
export interface BottleneckBlock {
  /**
   * Block kind: 'bottleneck'.
   */
  type: 'bottleneck';
  /**
   * Output channels as a multiple of the stage width (4 in ResNets).
   */
  expansion?: number;
  /**
   * Groups of the 3×3 convolution: the cardinality of ResNeXt (32 in resnext50_32x4d).
   */
  groups?: number;
  /**
   * Channels per group at stage width 64: 64 for ResNet, 4 or 8 for ResNeXt, 128 for Wide ResNet-50-2 (twice the bottleneck width).
   */
  widthPerGroup?: number;
  /**
   * Which convolution of a strided block carries the stride: '3x3' as torchvision does (ResNet v1.5), or '1x1' for the original ResNet's first 1×1 convolution.
   */
  strideOn?: '3x3' | '1x1';
  /**
   * Pre-activation (ResNet v2): BatchNorm and ReLU before each convolution instead of after; the projection shortcut reads the pre-activated input and has no BatchNorm; a final BatchNorm and ReLU follow the last stage.
   */
  preActivation?: boolean;
  /**
   * Initialise each block's last BatchNorm scale (or, with preActivation, its last convolution) to zero, so every block starts as the identity (torchvision's zero_init_residual).
   */
  zeroInitResidual?: boolean;
  /**
   * Projection shortcut where the stride or width changes: 'conv' is a strided 1×1 convolution and BatchNorm (torchvision); 'avgPool' is a 2×2 average-pool with the stride, then a 1×1 convolution and BatchNorm (ResNet-D).
   */
  shortcut?: 'conv' | 'avgPool';
  /**
   * Channel attention on each block's residual branch, after its last BatchNorm (with preActivation, its last convolution) and before the add, its weights under the block's `se` as timm names them: 'se' is timm's squeeze-excitation (channel means through 1×1 convolutions with bias to output channels / 16 rounded to a multiple of 8 and back, ReLU between, sigmoid gate), as in seresnet50; 'eca' is timm's efficient channel attention (a 1-D convolution over the channel means, its odd kernel size from the channel count, sigmoid gate), as in ecaresnet50d.
   */
  attention?: 'none' | 'se' | 'eca';
  /**
   * Stochastic depth (timm's drop_path_rate): in training, each image's residual branch is dropped with this probability at the last block, rising linearly from 0 at the first; the kept branches are scaled to keep their expectation. Does nothing at inference.
   */
  dropPath?: number;
  /**
   * timm's aa_layer in the blocks: a stride-2 block's 3×3 convolution (a basic block's first, a bottleneck's middle one) runs at stride 1 and, after its BatchNorm and ReLU, an anti-aliasing pool named `aa` carries the stride: 'blur' is timm's BlurPool2d (a fixed 3×3 binomial filter with reflect padding 1), 'avg' a 2×2 average-pool. Needs post-activation blocks, undilated stages of stride 1 or 2, and (bottleneck) the stride on the 3×3 convolution.
   */
  antiAlias?: 'none' | 'blur' | 'avg';
  /**
   * The width of 'se' attention's reduction as a fraction of the block's output channels (timm's rd_ratio: 1/16, ResNet-RS 0.25), rounded to the nearest multiple of 8 and at least 8, as timm's make_divisible does. Only with attention 'se'.
   */
  seRatio?: number;
  /**
   * timm's block_reduce_first: the first convolution's output width is divided by this, rounding down (2 in senet154).
   */
  reduceFirst?: number;
  /**
   * Kernel size of the 'conv' projection shortcut where it strides (timm's down_kernel_size: 3 in senet154, padded by 1); a projection without stride stays 1×1, as timm's does.
   */
  shortcutKernelSize?: 1 | 3;
}
/**
 * The stages of residual blocks, as parallel lists with one entry per stage. A stage's first block applies its stride; a projection shortcut is used where the stride or width changes.
 */
export interface Stages {
  /**
   * Width of each stage, e.g. [64, 128, 256, 512]: the output channels of a basic block, the base of a bottleneck (which outputs expansion × this).
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
  /**
   * Per stage, whether to replace the stage's stride with dilation, as DeepLab-style backbones do: [false, false, true, true] gives output stride 8 on an ImageNet layout. Needs bottleneck blocks. Default: no dilation.
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: Whether this stage's stride becomes dilation.
   */
  dilate?: boolean[];
  /**
   * Per stage, per block, the output widths of the block's convolutions but the last (a basic block's first, a bottleneck's first two), replacing those its stage width gives: the channel pruning of timm's *_pruned models. Each stage lists one entry per block; needs groups 1. Channel attention sizes itself from the stage's nominal width, as timm's pruned models keep it.
   *
   * @minItems 1
   * @maxItems 8
   */
  blockWidths?: number[][][];
  /**
   * Per stage, the output channels of its blocks and projection, replacing width × expansion: the channel pruning of timm's *_pruned models.
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: One stage's output channels.
   */
  outputWidths?: number[];
}
/**
 * torchvision's FeaturePyramidNetwork on stage outputs: a 1×1 lateral convolution per level and a 3×3 output convolution, both with bias, and a top-down path that adds each level's lateral to the level above upsampled (nearest) to its size. The backbone is then named `body` and the pyramid `fpn` (under `backbone` with a RetinaNet head), as in torchvision's BackboneWithFPN. Without a head the model returns the levels P3 … (one per `from` entry, numbered as its stage) and the extra levels.
 */
export interface FpnNeck {
  /**
   * Neck kind: 'fpn'.
   */
  type: 'fpn';
  /**
   * Channels of every pyramid level (256 in torchvision).
   */
  channels?: number;
  /**
   * The stage outputs it reads, lowest first: ['C3', 'C4', 'C5'] in RetinaNet.
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: A stage output, C2 to C9.
   */
  from: ('C2' | 'C3' | 'C4' | 'C5' | 'C6' | 'C7' | 'C8' | 'C9')[];
  /**
   * Levels added above the last: 'pool' is torchvision's LastLevelMaxPool (a stride-2 1×1 max-pool of the top level); 'p6p7' is LastLevelP6P7 as RetinaNet uses it (a stride-2 3×3 convolution of the top level, then ReLU and another); 'none' adds nothing.
   */
  extra?: 'pool' | 'p6p7' | 'none';
}
/**
 * Global average pooling, optional dropout, then a fully connected layer with bias producing one logit per class.
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
  /**
   * Dropout rate before the fully connected layer, active only in training (0: none).
   */
  dropout?: number;
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
 * torchvision's FCNHead on the last stage: a 3×3 convolution to a quarter of its channels, BatchNorm, ReLU, dropout 0.1 and a 1×1 convolution with bias to the classes; the logits are resized bilinearly (align_corners false) to the input size and returned as `out`. Named classifier.0 … classifier.4 under a backbone named `backbone`, as in fcn_resnet50.
 */
export interface FcnHead {
  /**
   * Head kind.
   */
  type: 'fcn';
  /**
   * Number of classes, the background included (21 for PASCAL VOC's 20 and background).
   */
  classes: number;
  /**
   * Add torchvision's auxiliary FCNHead on the stage before the last (C4 of a ResNet), returned as `aux` at input resolution; torchvision trains with it and drops it at inference.
   */
  aux?: boolean;
}
/**
 * torchvision's DeepLabHead on the last stage: ASPP (a 1×1 branch, three dilated 3×3 branches and an image-pooling branch, 256 channels each, concatenated and projected to 256 with dropout 0.5), a 3×3 convolution, BatchNorm, ReLU and a 1×1 convolution with bias to the classes; the logits are resized bilinearly (align_corners false) to the input size and returned as `out`. torchvision dilates the last two stages (stages.dilate [false, false, true, true]).
 */
export interface DeepLabV3Head {
  /**
   * Head kind.
   */
  type: 'deeplabv3';
  /**
   * Number of classes, the background included (21 for PASCAL VOC's 20 and background).
   */
  classes: number;
  /**
   * Add torchvision's auxiliary FCNHead on the stage before the last (C4 of a ResNet), returned as `aux` at input resolution; torchvision trains with it and drops it at inference.
   */
  aux?: boolean;
  /**
   * Dilation rates of ASPP's three 3×3 branches.
   *
   * @minItems 3
   * @maxItems 3
   *
   * Items: One branch's dilation rate.
   */
  rates?: number[];
}
/**
 * torchvision's RetinaNet head on the FPN levels (needs `neck`): a classification and a box-regression tower, each four 3×3 convolutions with bias and ReLU and a last 3×3 convolution, shared by all levels. The model returns `cls_logits` [anchors, classes] and `bbox_regression` [anchors, 4] over all levels' anchors, as torchvision's RetinaNetHead does; the generated module's `detect` decodes them into boxes.
 */
export interface RetinaNetHead {
  /**
   * Head kind.
   */
  type: 'retinanet';
  /**
   * Number of classes, as torchvision counts them (91 for COCO's category ids).
   */
  classes: number;
  anchors?: Anchors;
  /**
   * Decoding: detections scoring below this are dropped (torchvision's score_thresh).
   */
  scoreThreshold?: number;
  /**
   * Decoding: per class, a box overlapping a higher-scoring one by more than this IoU is suppressed (nms_thresh).
   */
  nmsThreshold?: number;
  /**
   * Decoding: at most this many detections per image (detections_per_img).
   */
  detectionsPerImage?: number;
  /**
   * Decoding: per level, at most this many highest-scoring candidates before suppression (topk_candidates).
   */
  topkCandidates?: number;
}
/**
 * The anchors of each FPN level, as torchvision's AnchorGenerator takes them. Default: RetinaNet's, sizes x, x·2^(1/3), x·2^(2/3) for x = 32, 64, 128, 256, 512 and ratios 0.5, 1, 2 on every level.
 */
export interface Anchors {
  /**
   * Per FPN level, the anchor sizes in input pixels (the side of a square anchor of the same area).
   *
   * @minItems 1
   * @maxItems 8
   */
  sizes: number[][];
  /**
   * Per FPN level, the aspect ratios (height / width); one list applies to every level.
   *
   * @minItems 1
   * @maxItems 8
   */
  ratios: number[][];
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
/**
 * Replaces every BatchNorm of the model by GroupNorm with these settings, as timm's resnet50_gn does (norm_layer 'groupnorm'): weight and bias per channel under the same names, no running statistics. Every normalised width must be a multiple of groups.
 */
export interface GroupNorm {
  /**
   * Groups the channels are split into, each normalised over its channels and the image (32 in timm).
   */
  groups: number;
  /**
   * Added to the variance for numerical stability (PyTorch default 1e-5).
   */
  epsilon?: number;
}
/**
 * How images are prepared for the model, as a pretrained configuration declares it (timm's default_cfg): resized so that the centre crop of cropFraction of the shorter side fills the input, cropped, scaled to [0, 1] and normalised per channel. Carried into the generated module (`imageTransform`, and `PREPROCESSING` in PyTorch) and into the weights `netspec weights import` writes.
 */
export interface Preprocess {
  /**
   * Per channel, the mean subtracted from pixels scaled to [0, 1].
   *
   * @minItems 1
   * @maxItems 64
   *
   * Items: One channel's mean.
   */
  mean: number[];
  /**
   * Per channel, the standard deviation the centred pixels are divided by.
   *
   * @minItems 1
   * @maxItems 64
   *
   * Items: One channel's standard deviation.
   */
  std: number[];
  /**
   * The centre crop's share of the resized image's shorter side (timm's crop_pct: 0.875 crops 224 from 256).
   */
  cropFraction?: number;
  /**
   * The resampling filter of the resize.
   */
  interpolation?: 'bilinear' | 'bicubic';
}
