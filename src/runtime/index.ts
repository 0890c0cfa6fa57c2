// What generated modules and their users import: layer helpers and backend selection.
export { add, avgPool, batchNorm, conv2d, dense, dropout, globalAvgPool, maxPool, predictChecked, relu, type ConvOptions } from './layers.js';
export { GroupedConv2D, groupedConv2d, type GroupedConv2DArgs } from './grouped-conv.js';
export { layerWeightNames, loadWeights, readWeightsFolder, type NamedWeight, type WeightsFolderManifest } from './weights.js';
export { initBackend, type BackendChoice, type BackendOptions } from './backend.js';
