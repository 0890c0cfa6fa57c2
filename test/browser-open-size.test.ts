// An open-size segmenter in a real, headless Chromium, as a user's page runs it: a page bundled by esbuild imports the
// module netspec generated for a small FCN whose input size is open, loads a weights folder over HTTP, and segments
// two images of different sizes through the module's `preprocess` (torchvision's natural sizes, one padded batch) and
// `segment` (masks back at each image's own size). The page's batch, masks and logits must be Node's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { initBackend } from '../src/runtime/backends/node.js';
import type { Pixels } from '../src/runtime/images/pixels.js';
import { initialWeights } from '../src/weights/init.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { browserSkipReason, bundlePage, callWithin, launchChromium, newPage, pageErrors, serve } from './support/browser.js';
import { denseBackbone } from './support/dense-specs.js';

const FILE = 'browser-open-size.test.ts:';
const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = join('test', `.browser-open-size-${process.pid}`);
const spec = { ...denseBackbone, name: 'open_fcn', input: { channels: 3, sizeMultiple: 8, minSize: 16 }, head: { type: 'fcn', classes: 3, aux: false } };

/** Two images of their own sizes, patterned so that the masks vary: (x·7 + y·3 + c·50) mod 256. */
const IMAGES = [
  [30, 44],
  [52, 26],
].map(([height, width]) => ({
  width: width!,
  height: height!,
  channels: 3 as const,
  data: Uint8Array.from({ length: width! * height! * 3 }, (_, i) => {
    const [p, c] = [Math.floor(i / 3), i % 3];
    return ((p % width!) * 7 + Math.floor(p / width!) * 3 + c * 50) % 256;
  }),
}));

interface PageResult {
  readonly input: number[];
  readonly masks: { width: number; height: number; classes: number[] }[];
  readonly logits: number[];
}

const PAGE = `import * as runtime from 'netspec/runtime';
import * as open from './open_fcn.ts';

(globalThis as unknown as { __open: unknown }).__open = {
  async run(images: { width: number; height: number; data: number[] }[]) {
    await (runtime.initBackend as (options: object) => Promise<void>)({ backend: 'wasm', wasmPaths: './', log: () => {} });
    const model = await open.createModel({ weights: './weights/' });
    const batch = open.preprocess(model, images.map((image) => ({ width: image.width, height: image.height, channels: 3, data: Uint8Array.from(image.data) })));
    const logits = open.predict(model, batch.input);
    const masks = open.segment(model, batch.input, batch.placements);
    return { input: batch.input.shape, masks: masks.map((mask) => ({ width: mask.width, height: mask.height, classes: Array.from(mask.classes) })), logits: Array.from(logits.dataSync()) };
  },
};
`;

test.after(() => rmSync(folder, { recursive: true, force: true }));

define('an open-size FCN in Chromium: one padded batch at natural sizes, masks at each image’s size, equal to Node’s', async () => {
  mkdirSync(folder, { recursive: true });
  const compiled = compileSpec('open_fcn.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!compiled.ok) throw new Error('open_fcn does not compile');
  writeFileSync(join(folder, 'open_fcn.ts'), compiled.code);
  writeFileSync(join(folder, 'open_fcn.json'), JSON.stringify(spec));
  writeFileSync(join(folder, 'open_fcn.safetensors'), writeSafetensors(initialWeights(compiled.graph, 5)));
  const imported = spawnSync(
    process.execPath,
    [resolve('dist', 'cli.js'), 'weights', 'import', join(folder, 'open_fcn.json'), join(folder, 'open_fcn.safetensors'), '--out', join(folder, 'weights')],
    {
      encoding: 'utf8',
    },
  );
  assert.is(imported.status, 0, imported.stderr);
  writeFileSync(join(folder, 'page.ts'), PAGE);
  const bundled = await bundlePage(join(folder, 'page.ts'), folder, 'an open-size model');
  assert.ok(
    bundled.inputs.some((input) => input.endsWith('dist/runtime/browser.js')),
    'the runtime browser entry is bundled',
  );

  // Node: the same module, weights and images.
  await initBackend({ backend: 'wasm', log: () => {} });
  const module = (await import(`./${folder.slice('test/'.length)}/open_fcn.ts`)) as {
    createModel(options: { weights: string }): Promise<tf.LayersModel>;
    preprocess(model: tf.LayersModel, images: readonly Pixels[]): { input: tf.Tensor4D; placements: readonly unknown[] };
    predict(model: tf.LayersModel, x: tf.Tensor4D): tf.Tensor4D;
    segment(model: tf.LayersModel, x: tf.Tensor4D, placements: readonly unknown[]): { width: number; height: number; classes: Int32Array }[];
  };
  const model = await module.createModel({ weights: join(folder, 'weights') });
  const batch = module.preprocess(model, IMAGES);
  const logits = module.predict(model, batch.input);
  const masks = module.segment(model, batch.input, batch.placements);

  const served = await serve(folder, { isolated: false });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const { page } = await newPage(browser);
    const errors = pageErrors(page);
    await page.goto(`${served.url}${bundled.html}`);
    await page.waitForFunction(() => '__open' in globalThis);
    const images = IMAGES.map((image) => ({ width: image.width, height: image.height, data: Array.from(image.data) }));
    const result = await callWithin(page, (arg) => (globalThis as unknown as { __open: { run(a: typeof arg): Promise<PageResult> } }).__open.run(arg), images);
    errors.assertNone('the open-size page');
    // Segmentation's shorter side 520: 30×44 → 520×762 and 52×26 → 1040×520, padded to multiples of 8: 1040×768.
    assert.equal(result.input, [2, 1040, 768, 3]);
    assert.equal(batch.input.shape, [2, 1040, 768, 3]);
    const expected = Array.from(await logits.data());
    const largest = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const error = result.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0) / largest;
    assert.ok(error <= 1e-4, `logits: relative max |Δ| ${error.toExponential(2)}`);
    result.masks.forEach((mask, i) => {
      assert.equal([mask.height, mask.width], [IMAGES[i]!.height, IMAGES[i]!.width], `mask ${i} at its image's size`);
      const same = mask.classes.filter((c, p) => c === masks[i]!.classes[p]).length;
      assert.ok(same >= 0.999 * mask.classes.length, `mask ${i}: ${same} of ${mask.classes.length} pixels as in Node`);
    });
    assert.ok(new Set(masks.flatMap((mask) => [...mask.classes])).size > 1, 'the masks vary');
  } finally {
    await browser?.close();
    await served.close();
    tf.dispose([batch.input, logits]);
    model.dispose();
  }
});

if (skip !== undefined) console.log(`\n  ${FILE} ${skip}\n`);
test.run();
