// The portable runtime: what generated modules need in browsers, web workers and Node alike. No Node builtin here.
export { add, avgPool, batchNorm, concat, conv2d, dense, dropout, dropPath, efficientChannelAttention, globalAvgPool, layerHelpers, maxPool, predictChecked, relu, resize, retinanetHead, squeezeExcite, type ConvOptions, type LayerHelper } from './layers.js';
export { EfficientChannelAttention, SqueezeExcite } from './channel-gates.js';
export { DropPath } from './drop-path.js';
export { GroupedConv2D, groupedConv2d, type GroupedConv2DArgs } from './grouped-conv.js';
export { modelWeights, setModelWeights, type LoadOptions, type WeightsSource } from './weights.js';
export { fetchWeightsFolder } from './weights-http.js';
export { readWeightsFolderFrom, type InputNormalization, type NamedWeight, type WeightsFolder, type WeightsFolderManifest } from './weights-folder.js';
export { registerWasmGradients } from './wasm-gradients.js';
export { imagenetNormalization, preprocess, IMAGENET_MEAN, IMAGENET_STD, type DecodedImage, type PreprocessOptions } from './preprocess.js';
export { DEFAULT_MAX_PIXELS, ImageTooLargeError, readImageHeader, type ImageHeader } from './image-header.js';
export { optimizeForInference, type InferenceModel, type InferencePlan, type InferenceStep } from './optimize.js';
export { pageImagePixels, type PageImage } from './image-input.js';
export { Resize } from './resize-layer.js';
export { RetinaNetHead } from './retinanet-tower.js';
export { anchorsPerLocation, decodeDetections, generateAnchors, retinanetDefaultAnchors, type AnchorOptions, type DetectionOptions, type Detections, type LevelOutput } from './detection.js';
export { decodeBatch, type DetectionConfig } from './detect.js';
export { classMasks, type ClassMask } from './segmentation.js';
export { blendMask, drawDetections, segmentationPalette, type BlendOptions, type DrawOptions, type SegmentationMask } from './overlay.js';
