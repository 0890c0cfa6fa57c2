// Images already in a page go through the same evaluation transform as image files in Node: a PNG and a JPEG shown
// as an <img>, an ImageBitmap, a canvas, an OffscreenCanvas and ImageData, read with pageImagePixels and preprocessed
// in Chromium, against decodeImage and preprocess in Node. A PNG's pixels are the file's, so the tensors are equal;
// a JPEG is decoded by the browser's libjpeg-turbo in the page and by jpeg-js in Node, whose IDCTs round differently,
// so the bound there is in pixel levels, measured and stated below.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initBackend } from '../src/runtime/backends/node.js';
import { decodeImage } from '../src/runtime/images/decode.js';
import { IMAGENET_STD } from '../src/runtime/images/pipeline.js';
import { preprocess } from '../src/runtime/images/preprocess.js';
import type { ImageResult } from './browser/image-page.js';
import { browserSkipReason, evaluateWithin, launchChromium, newPage, pageErrors, serve } from './support/browser.js';

const OPTIONS = { crop: 24, resize: 28 };
/**
 * The two JPEG decoders' pixels, after the resize and normalisation, differ by at most 1.73 levels of 255 here (a
 * level being 1 / (255 × 0.224) ≈ 0.0175 after dividing by ImageNet's smallest deviation); the bound is 3 levels.
 */
const JPEG_LEVELS = 3;

const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-browser-image-'));

/** A 40×30 picture with gradients in every channel and a sharp edge, so crops and resizes are visible. */
function picture(): { width: number; height: number; rgba: Uint8Array } {
  const [width, height] = [40, 30];
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      rgba.set([(x * 255) / (width - 1), (y * 255) / (height - 1), x > 20 ? 230 : 20, 255], i);
    }
  }
  return { width, height, rgba };
}

test.before(async () => {
  if (skip !== undefined) return console.log(`\n  browser-image.test.ts ${skip}\n`);
  const { width, height, rgba } = picture();
  const png = new PNG({ width, height });
  png.data.set(rgba);
  writeFileSync(join(folder, 'picture.png'), PNG.sync.write(png));
  writeFileSync(join(folder, 'picture.jpg'), jpeg.encode({ width, height, data: Buffer.from(rgba) }, 95).data);
  writeFileSync(
    join(folder, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./page.js"></script>',
  );
  await build({
    entryPoints: ['test/browser/image-page.ts'],
    outfile: join(folder, 'page.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
  });
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

define('a page image of every kind preprocesses as the same file does in Node', async () => {
  const served = await serve(folder);
  const browser = await launchChromium();
  let result: ImageResult;
  try {
    const { page } = await newPage(browser);
    const errors = pageErrors(page);
    await page.goto(`${served.url}index.html`);
    result = await evaluateWithin(page, () => (globalThis as { __result?: Promise<ImageResult> }).__result!);
    errors.assertNone();
  } finally {
    await browser.close();
    await served.close();
  }
  await initBackend({ backend: 'cpu', log: () => {} });
  const level = 1 / (255 * Math.min(...IMAGENET_STD));
  const report: string[] = [];
  for (const file of ['picture.png', 'picture.jpg']) {
    const expected = Array.from(await preprocess(await decodeImage(readFileSync(join(folder, file))), OPTIONS).data());
    const kinds = Object.keys(result).filter((key) => key.startsWith(`${file} `));
    assert.is(kinds.length, 5, `${file}: img, bitmap, canvas, offscreen, imageData`);
    for (const kind of kinds) {
      const actual = result[kind]!;
      assert.is(actual.length, expected.length, kind);
      const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
      report.push(`${kind} ${(worst / level).toFixed(2)} levels`);
      if (file.endsWith('.png')) assert.ok(worst <= 1e-6, `${kind}: max |Δ| ${worst} after normalisation`);
      else assert.ok(worst <= JPEG_LEVELS * level, `${kind}: max |Δ| ${(worst / level).toFixed(2)} levels`);
    }
  }
  console.log(`\n  page images against Node's decoders, max |Δ| in pixel levels: ${report.join(', ')}`);
});

test.run();
