// netspec/runtime in browsers and web workers: the portable runtime, weights over HTTP, the page's backends and its
// images. Node gets ./index.js; generated modules import the same specifier in both.
export * from './common.js';
export { loadWeights } from './weights.js';
export { initBackend, type BrowserBackend, type BrowserBackendOptions } from './backend-browser.js';
export { pageImagePixels, type PageImage } from './image-input.js';
