// The portable runtime: what generated modules need in browsers, web workers and Node alike. No Node builtin here.
export * from './ops/index.js';
export { withoutRandomInit } from './ops/op.js';
export { predictChecked, predictOpenSize } from './inference/predict-checked.js';
export { checkOpenSize, type OpenSizes } from './open-sizes.js';
export { optimizeForInference, type InferenceModel } from './inference/optimize.js';
export type { InferencePlan, InferenceStep } from './inference/plan.js';
export { modelWeights, setModelWeights, type CreateModelOptions, type LoadOptions, type ModelOrBuilder, type WeightsSource } from './weights/load.js';
export { DEFAULT_TIMEOUT_MS, fetchWeightsFolder, type FetchOptions } from './weights/http.js';
export { readWeightsFolderFrom, type InputNormalization, type NamedWeight, type WeightsFolder, type WeightsFolderManifest } from './weights/folder.js';
export { registerWasmGradients } from './training/wasm-gradients.js';
export { convertChannels, type DecodedImage, type Pixels } from './images/pixels.js';
export { resample, type Interpolation } from './images/resample.js';
export {
  boxesToImage,
  checkTransform,
  fitImage,
  imagenetNormalization,
  imageTransformFor,
  normalisePixels,
  prepareImage,
  withSavedInput,
  IMAGENET_CROP_FRACTION,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageModel,
  type ImageTransform,
  type Placement,
  type PreparedImage,
} from './images/pipeline.js';
export { modelImageTransform, prepareBatch, preprocess, type ImageBatch, type PreprocessOptions } from './images/preprocess.js';
export { DEFAULT_MAX_PIXELS, ImageTooLargeError, readImageHeader, type ImageHeader } from './images/header.js';
export { pageImagePixels, type PageImage } from './images/page-image.js';
export {
  anchorsPerLocation,
  decodeBatch,
  decodeDetections,
  generateAnchors,
  retinanetDefaultAnchors,
  type AnchorOptions,
  type DetectionConfig,
  type DetectionOptions,
  type Detections,
  type LevelOutput,
} from './tasks/detection.js';
export { classMasks, type ClassMask } from './tasks/segmentation.js';
export { blendMask, drawDetections, segmentationPalette, type BlendOptions, type DrawOptions, type SegmentationMask } from './tasks/overlay.js';
