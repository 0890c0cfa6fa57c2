// The example web app: a compiled model with imported weights classifies an image the user opens or drops, in the
// page, on the backend initBackend picks. Query parameters: ?weights=<folder URL> (default VITE_NETSPEC_WEIGHTS,
// else weights/<model name>/ beside the page), ?backend=webgl|wasm|cpu, ?threads=<n>.
import * as tf from '@tensorflow/tfjs';
import { fetchWeightsFolder, initBackend, pageImagePixels } from 'netspec/runtime';
// tfjs-backend-wasm loads its binaries at run time and bundlers do not copy them: importing them with ?url makes
// vite serve them in development and emit them (hashed) in a build; initBackend gets their URLs as wasmPaths.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { classNames, model as compiled } from './model.ts';

const TOP = 5;

/** The backends initBackend takes (webgl, wasm, cpu in a page). */
type Backend = NonNullable<NonNullable<Parameters<typeof initBackend>[0]>['backend']>;

const BACKENDS: readonly Backend[] = ['webgl', 'wasm', 'cpu'];

const query = new URLSearchParams(location.search);
const weightsUrl = query.get('weights') || (import.meta.env.VITE_NETSPEC_WEIGHTS as string | undefined) || `weights/${compiled.name}/`;

/** ?backend= and ?threads=, checked: a typo is an error on the page, not a silent default. */
function backendOptions(): { backend?: Backend; threads?: number } {
  const backend = query.get('backend') || undefined;
  if (backend !== undefined && !BACKENDS.includes(backend as Backend)) throw new Error(`?backend= takes ${BACKENDS.join(', ')}, not "${backend}"`);
  const threads = query.get('threads') || undefined;
  if (threads !== undefined && !/^[1-9]\d*$/.test(threads)) throw new Error(`?threads= takes a positive whole number, not "${threads}"`);
  return { backend: backend as Backend | undefined, threads: threads === undefined ? undefined : Number(threads) };
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
}

const fileInput = element<HTMLInputElement>('file');
const drop = element<HTMLElement>('drop');
const preview = element<HTMLCanvasElement>('preview');
const top5 = element<HTMLOListElement>('top5');
const backendLine = element<HTMLElement>('backend');
const timeLine = element<HTMLElement>('time');
const summary = element<HTMLTableElement>('summary');
const errorBox = element<HTMLElement>('error');
const status = element<HTMLElement>('status');

function showError(error: unknown): void {
  errorBox.textContent = error instanceof Error ? error.message : String(error);
  errorBox.hidden = false;
  document.body.dataset.state = 'error';
}

function clearError(): void {
  errorBox.textContent = '';
  errorBox.hidden = true;
}

const count = (n: number) => n.toLocaleString('en');

/** The compiled summary: every layer with its output shape, parameters and multiply-accumulates, and the totals. */
function renderSummary(): void {
  const head = summary.createTHead().insertRow();
  for (const title of ['layer', 'op', 'output shape', 'parameters', 'MACs']) head.appendChild(document.createElement('th')).textContent = title;
  const body = summary.createTBody();
  for (const layer of compiled.layers) {
    const row = body.insertRow();
    for (const cell of [layer.name, layer.op, layer.outputShape.join('×'), count(layer.params), count(layer.macs)]) row.insertCell().textContent = cell;
  }
  const total = summary.createTFoot().insertRow();
  const { params, macs } = compiled;
  const label = total.insertCell();
  label.colSpan = 3;
  label.textContent = `${compiled.name}: ${compiled.layers.length} layers, input ${compiled.inputShape.join('×')}`;
  total.insertCell().textContent = `${count(params.total)} (${count(params.trainable)} trainable)`;
  total.insertCell().textContent = count(macs);
}

interface Classifier {
  readonly model: tf.LayersModel;
  readonly names: readonly string[];
}

/** The backend, then the weights folder (fetched once, checked, loaded into the compiled model), then one warm-up run. */
async function load(): Promise<Classifier> {
  const backend = await initBackend({
    ...backendOptions(),
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd },
    log: (line) => {
      backendLine.textContent = line;
      console.info(line);
    },
  });
  document.body.dataset.backend = backend;
  status.textContent = `loading weights from ${weightsUrl}…`;
  const folder = await fetchWeightsFolder(weightsUrl);
  const [height, width, channels] = compiled.inputShape;
  const { input, classes } = folder.manifest;
  if (input && input.mean.length !== channels) throw new Error(`${weightsUrl} normalises ${input.mean.length} channels but ${compiled.name} takes ${channels}`);
  if (classes && classes.length !== compiled.outputShape[0])
    throw new Error(`${weightsUrl} names ${classes.length} classes but ${compiled.name} has ${compiled.outputShape[0]}`);
  const model = await compiled.createModel({ weights: folder });
  // The first run compiles shaders (webgl) or sets up kernels; without it the first image's time would be that.
  tf.tidy(() => compiled.predict(model, tf.zeros([1, height, width, channels]))).dispose();
  status.textContent = `${compiled.name} ready: open or drop an image`;
  document.body.dataset.state = 'ready';
  return { model, names: classNames(compiled.outputShape[0], classes) };
}

/** Decodes the file as the browser shows it, classifies it and shows the top classes and the time it took. */
async function classify(file: Blob): Promise<void> {
  clearError();
  document.body.dataset.state = 'busy';
  top5.replaceChildren();
  timeLine.textContent = '';
  const { model, names } = await classifier;
  // colorSpaceConversion 'none': the file's own pixel values, as Node's decoders and PIL read them.
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' }).catch((error: unknown) => {
    throw new Error(`cannot read ${file instanceof File ? file.name : 'the image'}: ${error instanceof Error ? error.message : String(error)}`);
  });
  try {
    const scale = Math.min(1, 320 / Math.max(bitmap.width, bitmap.height));
    preview.width = Math.round(bitmap.width * scale);
    preview.height = Math.round(bitmap.height * scale);
    preview.getContext('2d')?.drawImage(bitmap, 0, 0, preview.width, preview.height);
    const pixels = pageImagePixels(bitmap);
    const start = performance.now();
    // The generated module's preprocess: the pipeline netspec predict uses, as the loaded weights ask (a run of
    // netspec train saved its normalisation and saw whole frames; other weights get ImageNet's and the 224/256 crop).
    const probabilities = tf.tidy(() => tf.softmax(compiled.predict(model, compiled.preprocess(model, [pixels]).input)).squeeze([0]) as tf.Tensor1D);
    const values = (await probabilities.data()) as Float32Array;
    const ms = performance.now() - start;
    probabilities.dispose();
    const ranked = Array.from(values.keys())
      .sort((a, b) => values[b]! - values[a]!)
      .slice(0, TOP);
    top5.replaceChildren(
      ...ranked.map((index) => {
        const item = document.createElement('li');
        item.textContent = `${(100 * values[index]!).toFixed(2)}% ${names[index]}`;
        item.dataset.class = String(index);
        item.dataset.probability = String(values[index]);
        return item;
      }),
    );
    timeLine.textContent = `${ms.toFixed(1)} ms per image (${pixels.width}×${pixels.height}: preprocess, predict, softmax) on ${tf.getBackend()}`;
    document.body.dataset.state = 'done';
  } finally {
    bitmap.close();
  }
}

function classifyFirst(files: FileList | null | undefined): void {
  const file = files?.[0];
  if (file) classify(file).catch(showError);
}

renderSummary();
const classifier = load();
classifier.catch((error: unknown) => {
  status.textContent = `${compiled.name} could not be loaded`;
  showError(error);
});

fileInput.addEventListener('change', () => classifyFirst(fileInput.files));
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  classifyFirst(event.dataTransfer?.files);
});
