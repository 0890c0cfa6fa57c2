// netspec/runtime in browsers and web workers: the portable runtime, weights over HTTP, the page's backends and its
// images. Node gets ./index.js; generated modules import the same specifier in both.
export * from './common.js';
export { loadWeights } from './weights/load.js';
export { initBackend } from './backends/browser.js';
export type { BackendChoice, BackendOptions } from './backends/options.js';
