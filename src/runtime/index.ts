// What generated modules and their users import: layer helpers and backend selection.
export { add, batchNorm, conv2d, dense, globalAvgPool, maxPool, predictChecked, relu } from './layers.js';
export { initBackend, type BackendChoice, type BackendOptions } from './backend.js';
