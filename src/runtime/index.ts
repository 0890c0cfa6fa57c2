// netspec/runtime in Node: the portable runtime, plus weights folders on disk, image files, libtensorflow backends
// and a worker pool. Browsers get ./browser.js through the package's "browser" export condition.
export * from './common.js';
export { loadWeights, readWeightsFolder } from './weights/files.js';
export { initBackend, type BackendChoice, type BackendOptions } from './backends/node.js';
export { decodeImage, type DecodeOptions } from './images/decode.js';
export { createInferencePool, type InferencePool, type OutputTensor, type PoolOptions } from './inference/pool.js';
export { encodePng } from './images/png.js';
