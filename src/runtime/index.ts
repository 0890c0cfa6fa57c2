// What generated modules and their users import: layer helpers, backend selection, weights and image input.
export { add, avgPool, batchNorm, conv2d, dense, dropout, globalAvgPool, maxPool, predictChecked, relu, type ConvOptions } from './layers.js';
export { GroupedConv2D, groupedConv2d, type GroupedConv2DArgs } from './grouped-conv.js';
export { loadWeights } from './weights.js';
export { layerWeightNames, readWeightsFolder, type NamedWeight, type WeightsFolderManifest } from './weights-folder.js';
export { initBackend, type BackendChoice, type BackendOptions } from './backend.js';
export { registerWasmGradients } from './wasm-gradients.js';
export { decodeImage, preprocess, IMAGENET_MEAN, IMAGENET_STD, type DecodedImage, type PreprocessOptions } from './preprocess.js';
export { optimizeForInference, type InferenceModel } from './optimize.js';
export { createInferencePool, type InferencePool, type OutputTensor, type PoolOptions } from './pool.js';
