// `npm run web` serves this app with vite's dev server; `vite build examples/web` makes a static folder of it.
// netspec/runtime resolves through the package's own name ("exports" self-reference) with vite's default browser
// conditions, to dist/runtime/browser.js: so `npm run build` must have run, and no alias is needed.
import { defineConfig } from 'vite';

/** Cross-origin isolation, so that SharedArrayBuffer exists and the wasm backend runs on several threads. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // Relative asset URLs: a build works from whatever folder it is served.
  base: './',
  // No fallback to index.html for paths that do not exist, so a wrong weights URL is the 404 it is.
  appType: 'mpa',
  server: { headers: isolation },
  preview: { headers: isolation },
  build: {
    target: 'es2022',
    // TensorFlow.js is most of the bundle, about 1 MB minified.
    chunkSizeWarningLimit: 2048,
    rolldownOptions: {
      output: {
        // Mangle and strip whitespace, but do not compress: tfjs-backend-wasm starts its threads' workers from the
        // source text of its Emscripten factory (Function.prototype.toString), where the factory's enclosing scope
        // does not exist. The factory guards its one outside variable with `typeof _scriptDir !== "undefined"`, and
        // the compressor, knowing that variable declared, reduces the guard to a bare reference, which throws a
        // ReferenceError in every worker: the threaded backend never starts.
        minify: { compress: false, mangle: true, codegen: true },
      },
    },
  },
});
