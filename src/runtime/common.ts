// The portable runtime: what generated modules need in browsers, web workers and Node alike. No Node builtin here.
export { add, avgPool, batchNorm, concat, conv2d, dense, dropout, dropPath, efficientChannelAttention, globalAvgPool, layerHelpers, maxPool, predictChecked, relu, resize, retinanetHead, squeezeExcite, type ConvOptions, type LayerHelper } from './ops/index.js';
export { EfficientChannelAttention, SqueezeExcite } from './ops/squeeze-excite.js';
export { DropPath } from './ops/drop-path.js';
export { GroupedConv2D, groupedConv2d, type GroupedConv2DArgs } from './ops/conv2d.js';
export { modelWeights, setModelWeights, type LoadOptions, type WeightsSource } from './weights/load.js';
export { fetchWeightsFolder } from './weights/http.js';
export { readWeightsFolderFrom, type InputNormalization, type NamedWeight, type WeightsFolder, type WeightsFolderManifest } from './weights/folder.js';
export { registerWasmGradients } from './training/wasm-gradients.js';
export { imagenetNormalization, preprocess, IMAGENET_MEAN, IMAGENET_STD, type DecodedImage, type PreprocessOptions } from './images/preprocess.js';
export { DEFAULT_MAX_PIXELS, ImageTooLargeError, readImageHeader, type ImageHeader } from './images/header.js';
export { optimizeForInference, type InferenceModel, type InferencePlan, type InferenceStep } from './inference/optimize.js';
export { pageImagePixels, type PageImage } from './images/page-image.js';
export { Resize } from './ops/resize.js';
export { RetinaNetHead } from './ops/retinanet-head.js';
export { anchorsPerLocation, decodeDetections, generateAnchors, retinanetDefaultAnchors, type AnchorOptions, type DetectionOptions, type Detections, type LevelOutput } from './tasks/detection.js';
export { decodeBatch, type DetectionConfig } from './tasks/detect.js';
export { classMasks, type ClassMask } from './tasks/segmentation.js';
export { blendMask, drawDetections, segmentationPalette, type BlendOptions, type DrawOptions, type SegmentationMask } from './tasks/overlay.js';
