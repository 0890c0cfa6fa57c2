// The example web app (examples/web) as a user gets it: built with vite's own build, resnet18's weights imported
// beside it with `netspec weights import`, served cross-origin isolated and opened in headless Chromium. An image is
// set on its file input; the page must show five classes, the backend initBackend named, a time and the compiled
// summary table, and its top five must be the same model's in Node (decodeImage, preprocess, buildModel and the same
// weights folder on the wasm backend). A weights URL that does not exist must show the runtime's error in the page.
// With ?model=fcn_resnet50_any, the open-size FCN segments two images of different sizes, opened together, in one
// batch at their natural sizes (a small ?min-size= keeps it cheap): each must be shown at its own size with its mask
// blended over it as Node blends the generated module's masks for the same weights and images.
//
// The weights are initialWeights (seeded), not trained ones, so the classes mean nothing; but the logits vary with
// the image, which is what a comparison needs. The image is a PNG without alpha, which a canvas reads back exactly.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build, preview } from 'vite';
import * as resnet18 from '../generated/imagenet/resnet18.js';
import * as fcn from '../generated/segmentation/fcn_resnet50_any.js';
// What a generated module's model carries (the weights it loaded) is netspec/runtime's, so the Node side uses it too.
import { blendMask, modelImageTransform, prepareBatch, type ImageTransform } from 'netspec/runtime';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { decodeImage } from '../src/runtime/images/decode.js';
import { preprocess } from '../src/runtime/images/preprocess.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { initialWeights } from '../src/weights/init.js';
import { importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { browserSkipReason, launchChromium, newPage, pageErrors, serve, type PageErrors, type PageOptions, type Served } from './support/browser.js';

const FILE = 'web-app.test.ts';
const APP = resolve('examples/web');
const SPEC = 'specs/imagenet/resnet18.json';
/**
 * Top-5 probabilities, page against Node: the same XNNPACK kernels, summed in another order on two threads. The
 * random weights spread the softmax thin (the top class near 1 %), so each must also agree to 1e-3 of itself.
 */
const TOLERANCE = 1e-3;
const RELATIVE_TOLERANCE = 1e-3;
const THREADS = 2;
const [WIDTH, HEIGHT] = [300, 200];
const FCN_SPEC = 'specs/segmentation/fcn_resnet50_any.json';
/** The shorter side the FCN's images are scaled to: small, so that FCN-ResNet50 runs in well under a second. */
const MIN_SIZE = 32;
/** Two images of their own sizes (width × height), one wide and one tall, so that the batch pads each. */
const SEGMENTED = [
  { file: 'wide.png', width: 72, height: 40 },
  { file: 'tall.png', width: 36, height: 60 },
] as const;
/** Pixels of a page's mask that may differ from Node's: ties between two classes' logits, summed in another order. */
const MASK_MISMATCH = 1e-3;

const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-web-app-'));
/** The built app, and the weights folder the app fetches by default (weights/<model name>/ beside the page). */
const site = join(folder, 'site');
const weights = join(site, 'weights', resnet18.name);
const fcnWeights = join(site, 'weights', fcn.name);
const image = join(folder, 'gradient.png');

interface Ranked {
  readonly index: number;
  readonly probability: number;
}

const timings: Record<string, number> = {};
let reference: { top: Ranked[]; ms: number } | undefined;

/** Runs a command to completion, failing with its standard error. */
function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => (status === 0 ? done() : fail(new Error(`${[command, ...args].join(' ')} exited with ${status}:\n${output}`))));
  });
}

/** Times `work` from its start: given as a function, since a promise has already run its synchronous part. */
async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  timings[name] = performance.now() - start;
  return result;
}

/** An RGB gradient without alpha: red across, green down, blue along the diagonal. */
function gradientPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      png.data[i] = Math.round((255 * x) / (width - 1));
      png.data[i + 1] = Math.round((255 * y) / (height - 1));
      png.data[i + 2] = (x + 2 * y) % 256;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}

/** The app built by vite into `site`; publicDir is off, so weights a developer imported into public/ stay out. */
async function buildApp(): Promise<void> {
  await build({ root: APP, configFile: join(APP, 'vite.config.ts'), publicDir: false, logLevel: 'silent', build: { outDir: site, emptyOutDir: true } });
}

/** initialWeights as safetensors, imported by the CLI into the built app's weights folder. */
async function importWeights(): Promise<void> {
  const compiled = compileSpec(SPEC, readFileSync(SPEC));
  if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
  const file = join(folder, `${resnet18.name}.safetensors`);
  writeFileSync(file, writeSafetensors(initialWeights(compiled.graph)));
  await run(process.execPath, [resolve('dist', 'cli.js'), 'weights', 'import', SPEC, file, '--out', weights]);
  rmSync(file, { force: true });
}

/**
 * The spec's initialWeights (seeded) written as a weights folder at `out` by the import the CLI makes, in this
 * process: for a model of 135 MB, a file and a second process reading it would add seconds.
 */
function writeInitialWeights(spec: string, out: string): void {
  const compiled = compileSpec(spec, readFileSync(spec));
  if (!compiled.ok) throw new Error(`${spec} does not compile`);
  const checkpoint = readSafetensors(spec, writeSafetensors(initialWeights(compiled.graph)));
  const imported = importCheckpoint(compiled.graph, spec, checkpoint);
  writeWeightsFolder(out, compiled.graph.name, imported.weights, imported.skippedLayers);
}

/**
 * `work` on Node's wasm backend. uvu runs every test file in one process, so the backend active before and the PROD
 * flag are restored.
 */
async function onNodeWasm<T>(work: () => Promise<T>): Promise<T> {
  const previous = tf.engine().backendName;
  const prod = tf.env().getBool('PROD');
  await initBackend({ backend: 'wasm', log: () => {} });
  try {
    return await work();
  } finally {
    tf.env().set('PROD', prod);
    if (previous) await tf.setBackend(previous);
  }
}

/** The top five of the repo's own model on the image in this process, on wasm. */
function nodeTopFive(): Promise<{ top: Ranked[]; ms: number }> {
  const compiled = compileSpec(SPEC, readFileSync(SPEC));
  if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
  return onNodeWasm(async () => {
    const model = await loadWeights(() => buildModel(compiled.graph), weights);
    const decoded = await decodeImage(readFileSync(image));
    const classify = () => tf.tidy(() => tf.softmax(model.predict(preprocess(decoded, { crop: 224 }).expandDims(0)) as tf.Tensor2D).squeeze([0]));
    tf.dispose(classify()); // a warm-up run, as the page makes one, so that the times compare
    const start = performance.now();
    const probabilities = classify();
    const values = await probabilities.data();
    const ms = performance.now() - start;
    tf.dispose(probabilities);
    model.dispose();
    const top = Array.from(values.keys())
      .sort((a, b) => values[b]! - values[a]!)
      .slice(0, 5)
      .map((index) => ({ index, probability: values[index]! }));
    return { top, ms };
  });
}

/** What the page must show of one segmented image. */
interface Segmented {
  /** The mask's size: the image's own. */
  readonly width: number;
  readonly height: number;
  /** The size it ran at in the batch, width × height. */
  readonly natural: string;
  /** The image with its mask blended over it, RGB. */
  readonly blended: Uint8Array;
  /** Each class's share of the mask's pixels. */
  readonly shares: ReadonlyMap<number, number>;
}

function classShares(classes: Int32Array): Map<number, number> {
  const shares = new Map<number, number>();
  for (const label of classes) shares.set(label, (shares.get(label) ?? 0) + 1 / classes.length);
  return shares;
}

/**
 * The FCN's masks for SEGMENTED in this process, on wasm: the generated module with the page's weights, its
 * transform at MIN_SIZE, one batch; each mask blended over its image. Answers the batch's size, width × height.
 */
function nodeSegments(): Promise<{ batch: string; macs: number; images: Segmented[] }> {
  return onNodeWasm(async () => {
    const model = await fcn.createModel({ weights: fcnWeights });
    try {
      const images = await Promise.all(SEGMENTED.map(({ file }) => decodeImage(readFileSync(join(folder, file)))));
      const transform: ImageTransform = modelImageTransform(model, fcn.imageTransform);
      const batch = prepareBatch(images, { ...transform, sizes: { ...transform.sizes!, minSize: MIN_SIZE } });
      const [, height, width] = batch.input.shape;
      const masks = fcn.segment(model, batch.input, batch.placements);
      batch.input.dispose();
      return {
        batch: `${width}×${height}`,
        macs: fcn.macs(height, width),
        images: masks.map((mask, i) => ({
          width: mask.width,
          height: mask.height,
          natural: `${batch.placements[i]!.filled.width}×${batch.placements[i]!.filled.height}`,
          blended: blendMask(images[i]!, mask).data,
          shares: classShares(mask.classes),
        })),
      };
    } finally {
      model.dispose();
    }
  });
}

/** The RGB pixels of each canvas under #masks, read back from the page. */
async function maskCanvases(page: Page): Promise<Uint8Array[]> {
  const rgba = (await page.evaluate(
    `[...document.querySelectorAll('#masks canvas')].map((canvas) => Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data))`,
  )) as number[][];
  return rgba.map((values) => Uint8Array.from({ length: (values.length / 4) * 3 }, (_, i) => values[4 * Math.floor(i / 3) + (i % 3)]!));
}

/** The colour key of the figure: each class it lists and its share. */
async function keyShares(figure: ReturnType<Page['locator']>): Promise<Map<number, number>> {
  const items = figure.locator('.key li');
  const shares = new Map<number, number>();
  for (let i = 0; i < (await items.count()); i++)
    shares.set(Number(await items.nth(i).getAttribute('data-class')), Number(await items.nth(i).getAttribute('data-share')));
  return shares;
}

/**
 * Waits until the app's body says it reached one of `states` (main.ts sets data-state: ready, busy, done, error) and
 * answers which; a timeout says what the page reported meanwhile.
 */
async function settle(page: Page, errors: PageErrors, states: readonly string[]): Promise<string> {
  try {
    await page.locator(states.map((state) => `body[data-state="${state}"]`).join(', ')).waitFor({ state: 'attached' });
  } catch (error) {
    throw new Error(`${(error as Error).message.split('\n')[0]}; the page reported:\n  ${errors.messages.join('\n  ') || 'nothing'}`);
  }
  return (await page.locator('body').getAttribute('data-state')) ?? '';
}

/** The built app served, and one browser for every page test: started by test.before where Chromium is there. */
let shared: { served: Served; browser: Browser } | undefined;

/** A page in a new context of the shared browser, with its errors collected and the app's URL; closed after `use`. */
async function withPage(options: PageOptions, use: (page: Page, errors: PageErrors, url: string) => Promise<void>): Promise<void> {
  const { served, browser } = shared!;
  const { context, page } = await newPage(browser, options);
  try {
    await use(page, pageErrors(page), served.url);
  } finally {
    await context.close();
  }
}

/** The app's own type-check (DOM library, vite's types, the browser condition): started first, awaited by its test. */
let typecheck: Promise<void> = Promise.resolve();

test.before(async () => {
  typecheck = timed('tsc', () => run(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', join(APP, 'tsconfig.json'), '--noEmit']));
  typecheck.catch(() => {}); // reported by its test
  mkdirSync(site, { recursive: true });
  writeFileSync(image, gradientPng(WIDTH, HEIGHT));
  await timed('build', () => buildApp());
  if (skip !== undefined) {
    console.log(`\n  ${FILE} ${skip}\n`);
    return;
  }
  await timed('import', () => importWeights());
  reference = await nodeTopFive();
  shared = { served: await serve(site), browser: await launchChromium() };
});

test.after(async () => {
  await shared?.browser.close();
  await shared?.served.close();
  rmSync(folder, { recursive: true, force: true });
});

test('examples/web type-checks against its own tsconfig', async () => {
  await typecheck;
});

test("vite's preview serves the build cross-origin isolated, as the config says", async () => {
  const server = await preview({
    root: APP,
    configFile: join(APP, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir: site },
    preview: { host: '127.0.0.1', port: 0, open: false },
  });
  try {
    const url = server.resolvedUrls?.local[0];
    assert.ok(url, 'preview has a local URL');
    const response = await fetch(url);
    assert.is(response.status, 200);
    assert.match(await response.text(), /<ol id="top5">/);
    assert.equal([response.headers.get('cross-origin-opener-policy'), response.headers.get('cross-origin-embedder-policy')], ['same-origin', 'require-corp']);
  } finally {
    await server.close();
  }
});

define('the built app classifies an opened image as Node does, and shows the backend, the time and the summary', async () => {
  const expected = reference!;
  await withPage({ hardwareConcurrency: 2 * THREADS }, async (page, errors, url) => {
    const start = performance.now();
    await page.goto(`${url}?backend=wasm`);
    const failure = async () => `the page shows an error: ${await page.locator('#error').textContent()}`;
    assert.is(await settle(page, errors, ['ready', 'error']), 'ready', await failure());
    const loadMs = performance.now() - start;

    await page.setInputFiles('#file', image);
    assert.is(await settle(page, errors, ['done', 'error']), 'done', await failure());

    const items = page.locator('#top5 li');
    const texts = await items.allTextContents();
    assert.is(texts.length, 5, texts.join(' | '));
    for (const text of texts) assert.match(text, /^\d+\.\d\d% .+/);
    const shown: Ranked[] = [];
    for (let rank = 0; rank < 5; rank++) {
      const item = items.nth(rank);
      shown.push({ index: Number(await item.getAttribute('data-class')), probability: Number(await item.getAttribute('data-probability')) });
    }
    assert.is(shown[0]!.index, expected.top[0]!.index, 'top-1 class, page vs Node');
    assert.equal(
      shown.map((s) => s.index),
      expected.top.map((e) => e.index),
      'top-5 classes, page vs Node',
    );
    const deltas = shown.map((s, rank) => Math.abs(s.probability - expected.top[rank]!.probability));
    const worst = Math.max(...deltas);
    assert.ok(worst <= TOLERANCE, `top-5 probabilities differ by up to ${worst.toExponential(2)}`);
    const worstRelative = Math.max(...deltas.map((delta, rank) => delta / expected.top[rank]!.probability));
    assert.ok(worstRelative <= RELATIVE_TOLERANCE, `top-5 probabilities differ by up to ${worstRelative.toExponential(2)} of themselves`);
    // The text rounds the same probability to 0.01 %.
    texts.forEach((text, rank) => assert.ok(Math.abs(Number.parseFloat(text) - 100 * shown[rank]!.probability) <= 0.005 + 1e-9, text));

    const backend = (await page.locator('#backend').textContent()) ?? '';
    assert.match(backend, new RegExp(`backend wasm \\(${THREADS} threads\\)`), backend);
    const time = (await page.locator('#time').textContent()) ?? '';
    const ms = /(\d+(?:\.\d+)?) ms/.exec(time);
    assert.ok(ms && Number(ms[1]) > 0, `#time: ${time}`);

    const rows = page.locator('#summary tbody tr');
    assert.is(await rows.count(), resnet18.layers.length);
    assert.equal(
      await page.locator('#summary tbody tr td:first-child').allTextContents(),
      resnet18.layers.map((layer) => layer.name),
    );
    assert.match((await page.locator('#summary tfoot').textContent()) ?? '', resnet18.params.total.toLocaleString('en'));

    // The same file dropped on #drop: the page starts over (busy, results cleared) and shows the same classes.
    // The DataTransfer is made in the page from the file's bytes; the script is a string, the DOM is not typed here.
    const dataTransfer = await page.evaluateHandle(
      `(() => { const t = new DataTransfer(); t.items.add(new File([Uint8Array.from(atob('${readFileSync(image).toString('base64')}'), (c) => c.charCodeAt(0))], 'gradient.png', { type: 'image/png' })); return t; })()`,
    );
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
    assert.is(await settle(page, errors, ['done', 'error']), 'done', await failure());
    const dropped: number[] = [];
    for (let rank = 0; rank < 5; rank++) dropped.push(Number(await items.nth(rank).getAttribute('data-class')));
    assert.equal(
      dropped,
      expected.top.map((e) => e.index),
      'top-5 classes of the dropped file',
    );
    errors.assertNone('the app');

    const pageMs = performance.now() - start;
    console.log(
      `\n  ${FILE}: vite build ${(timings.build! / 1000).toFixed(1)} s, weights import ${(timings.import! / 1000).toFixed(1)} s, ` +
        `tsc -p examples/web ${((timings.tsc ?? 0) / 1000).toFixed(1)} s; page ready in ${(loadMs / 1000).toFixed(1)} s, all done in ${(pageMs / 1000).toFixed(1)} s; ` +
        `${WIDTH}×${HEIGHT} PNG on wasm: ${ms![1]} ms in the page (${THREADS} threads), ${expected.ms.toFixed(0)} ms in Node (1 thread); ` +
        `top-1 class ${expected.top[0]!.index} at ${(100 * expected.top[0]!.probability).toFixed(2)} % in both, top-5 probabilities within ${worst.toExponential(1)}\n`,
    );
  });
});

define('the built app segments two images of different sizes with the open-size FCN at their natural sizes, as Node does', async () => {
  const start = performance.now();
  for (const { file, width, height } of SEGMENTED) writeFileSync(join(folder, file), gradientPng(width, height));
  await timed('fcn import', async () => writeInitialWeights(FCN_SPEC, fcnWeights));
  const expected = await timed('fcn node', () => nodeSegments());
  assert.ok(new Set(expected.images.flatMap((image) => [...image.shares.keys()])).size > 1, 'the masks vary');
  await withPage({ hardwareConcurrency: 2 * THREADS }, async (page, errors, url) => {
    const opened = performance.now();
    await page.goto(`${url}?model=${fcn.name}&backend=wasm&min-size=${MIN_SIZE}`);
    const failure = async () => `the page shows an error: ${await page.locator('#error').textContent()}`;
    assert.is(await settle(page, errors, ['ready', 'error']), 'ready', await failure());
    const loadMs = performance.now() - opened;
    // The summary gives each layer's output shape as the module's formula of H and W.
    assert.equal(
      await page.locator('#summary tbody tr td:nth-child(3)').allTextContents(),
      fcn.layers.map((layer) => layer.outputShape),
    );

    await page.setInputFiles(
      '#file',
      SEGMENTED.map(({ file }) => join(folder, file)),
    );
    assert.is(await settle(page, errors, ['done', 'error']), 'done', await failure());
    const figures = page.locator('#masks figure');
    assert.is(await figures.count(), SEGMENTED.length);
    const canvases = await maskCanvases(page);
    for (const [i, want] of expected.images.entries()) {
      const figure = figures.nth(i);
      const [width, height, natural, batch] = await Promise.all(['width', 'height', 'natural', 'batch'].map((name) => figure.getAttribute(`data-${name}`)));
      assert.equal([Number(width), Number(height)], [SEGMENTED[i]!.width, SEGMENTED[i]!.height], `image ${i}'s mask at its own size`);
      assert.equal([natural, batch], [want.natural, expected.batch], `image ${i}'s natural and batch sizes`);
      const pixels = want.width * want.height;
      const shown = canvases[i]!;
      assert.is(shown.length, want.blended.length, `image ${i}'s canvas at its own size`);
      let differing = 0;
      for (let p = 0; p < pixels; p++) if ([0, 1, 2].some((c) => shown[3 * p + c] !== want.blended[3 * p + c])) differing++;
      assert.ok(differing <= MASK_MISMATCH * pixels, `image ${i}: ${differing} of ${pixels} pixels blended otherwise than in Node`);
      const key = await keyShares(figure);
      assert.equal([...key.keys()].sort(), [...want.shares.keys()].sort(), `image ${i}'s colour key lists its classes`);
      for (const [label, share] of key) assert.ok(Math.abs(share - want.shares.get(label)!) <= MASK_MISMATCH, `image ${i}: class ${label}'s share`);
    }

    const time = (await page.locator('#time').textContent()) ?? '';
    const ms = new RegExp(`(\\d+\\.\\d) ms per image \\(2 in one ${expected.batch} batch`).exec(time);
    assert.ok(ms && Number(ms[1]) > 0, `#time: ${time}`);
    assert.is(Number(await page.locator('#summary tfoot td').last().getAttribute('data-macs')), expected.macs, 'MACs at the batch size');
    errors.assertNone('the app');
    console.log(
      `\n  ${FILE}: ${fcn.name}: weights import ${(timings['fcn import']! / 1000).toFixed(1)} s, Node's masks ${(timings['fcn node']! / 1000).toFixed(1)} s; ` +
        `page ready in ${(loadMs / 1000).toFixed(1)} s; ${SEGMENTED.map(({ width, height }) => `${width}×${height}`).join(' and ')} PNGs at ?min-size=${MIN_SIZE} ` +
        `in one ${expected.batch} batch: ${ms![1]} ms per image in the page; ${(expected.macs / 1e9).toFixed(2)} GMACs per image; whole test ${((performance.now() - start) / 1000).toFixed(1)} s\n`,
    );
  });
});

define('a model or a size the page cannot take is a one-line error in the page', async () => {
  await withPage({}, async (page, errors, url) => {
    for (const [search, message] of [
      ['?model=nope', '?model= takes resnet18, fcn_resnet50_any, not "nope"'],
      [`?min-size=${MIN_SIZE}`, '?min-size= and ?max-size= are for open-size segmenters; resnet18 is a classifier'],
      [`?model=${fcn.name}&max-size=0`, '?max-size= takes a positive whole number, not "0"'],
    ] as const) {
      await page.goto(`${url}${search}`);
      assert.is(await settle(page, errors, ['ready', 'error']), 'error', search);
      assert.is(await page.locator('#error').textContent(), message);
    }
    errors.assertNone('the app');
  });
});

define("a weights URL that is not there shows the runtime's error in the page", async () => {
  await withPage({}, async (page, errors, url) => {
    await page.goto(`${url}?weights=nope/&backend=wasm`);
    assert.is(await settle(page, errors, ['ready', 'error']), 'error');
    const message = (await page.locator('#error').textContent()) ?? '';
    assert.ok(await page.locator('#error').isVisible(), '#error is shown');
    assert.match(message, 'cannot fetch');
    assert.match(message, `${url}nope/model.json`);
    assert.match(message, 'HTTP 404');
    // The browser reports the 404 itself; nothing else may go wrong.
    const others = errors.messages.filter((line) => !/Failed to load resource: the server responded with a status of 404/.test(line));
    assert.equal(others, [], others.join('\n'));
  });
});

test.run();
