// The example web app: a compiled model with imported weights classifies the image a user opens or drops, or, for
// an open-size segmenter, segments every image opened at once at its natural size, in the page, on the backend
// initBackend picks. Query parameters: ?model=<name> (model.ts lists them), ?weights=<folder URL> (default
// VITE_NETSPEC_WEIGHTS, else weights/<model name>/ beside the page), ?backend=webgl|wasm|cpu, ?threads=<n>, and
// for an open-size segmenter ?min-size=<n> and ?max-size=<n>.
import type * as tf from '@tensorflow/tfjs';
import { fetchWeightsFolder, initBackend, modelImageTransform } from 'netspec/runtime';
// tfjs-backend-wasm loads its binaries at run time and bundlers do not copy them: importing them with ?url makes
// vite serve them in development and emit them (hashed) in a build; initBackend gets their URLs as wasmPaths.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { classifier } from './classify.ts';
import { classNames, MODELS, type CompiledModule, type ModelChoice } from './model.ts';
import { count, renderSummary, setState, showError, ui } from './page.ts';
import { segmenter, sizedTransform, type AskedSizes } from './segment.ts';

/** The backends initBackend takes (webgl, wasm, cpu in a page). */
type Backend = NonNullable<NonNullable<Parameters<typeof initBackend>[0]>['backend']>;

const BACKENDS: readonly Backend[] = ['webgl', 'wasm', 'cpu'];

const query = new URLSearchParams(location.search);
const modelName = query.get('model') || Object.keys(MODELS)[0]!;
const weightsUrl = query.get('weights') || (import.meta.env.VITE_NETSPEC_WEIGHTS as string | undefined) || `weights/${modelName}/`;

/** A query parameter that must be a positive whole number when given. */
function positiveInteger(name: string): number | undefined {
  const value = query.get(name) || undefined;
  if (value !== undefined && !/^[1-9]\d*$/.test(value)) throw new Error(`?${name}= takes a positive whole number, not "${value}"`);
  return value === undefined ? undefined : Number(value);
}

/** ?backend= and ?threads=, checked: a typo is an error on the page, not a silent default. */
function backendOptions(): { backend?: Backend; threads?: number } {
  const backend = query.get('backend') || undefined;
  if (backend !== undefined && !BACKENDS.includes(backend as Backend)) throw new Error(`?backend= takes ${BACKENDS.join(', ')}, not "${backend}"`);
  return { backend: backend as Backend | undefined, threads: positiveInteger('threads') };
}

/** ?model=, checked. */
function chosenModel(): ModelChoice {
  const choice = MODELS[modelName];
  if (!choice) throw new Error(`?model= takes ${Object.keys(MODELS).join(', ')}, not "${modelName}"`);
  return choice;
}

/** ?min-size= and ?max-size=, which only an open-size model takes (as netspec predict's --min-size and --max-size). */
function askedSizes(task: ModelChoice['task']): AskedSizes {
  const asked = { minSize: positiveInteger('min-size'), maxSize: positiveInteger('max-size') };
  if (task !== 'segmentation' && (asked.minSize !== undefined || asked.maxSize !== undefined))
    throw new Error(`?min-size= and ?max-size= are for open-size segmenters; ${modelName} is a classifier`);
  return asked;
}

/** A select of the models; choosing one reloads the page with it, and without ?weights=, which named another's. */
function renderModelSelect(): void {
  const select = ui.modelSelect;
  select.replaceChildren(...Object.keys(MODELS).map((name) => new Option(name, name, false, name === modelName)));
  select.addEventListener('change', () => {
    const next = new URLSearchParams(location.search);
    next.set('model', select.value);
    next.delete('weights');
    location.search = next.toString();
  });
}

/**
 * The backend, then the weights folder (fetched once, checked against the model) loaded into the compiled model,
 * and the names of its `classes`.
 */
async function loadModel(compiled: CompiledModule, task: ModelChoice['task'], classes: number): Promise<{ model: tf.LayersModel; names: readonly string[] }> {
  const backend = await initBackend({
    ...backendOptions(),
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd },
    log: (line) => {
      ui.backendLine.textContent = line;
      console.info(line);
    },
  });
  document.body.dataset.backend = backend;
  ui.status.textContent = `loading weights from ${weightsUrl}…`;
  const folder = await fetchWeightsFolder(weightsUrl);
  const { channels } = compiled.imageTransform;
  const { input, classes: saved } = folder.manifest;
  if (input && input.mean.length !== channels) throw new Error(`${weightsUrl} normalises ${input.mean.length} channels but ${compiled.name} takes ${channels}`);
  if (saved && saved.length !== classes) throw new Error(`${weightsUrl} names ${saved.length} classes but ${compiled.name} has ${classes}`);
  const model = await compiled.createModel({ weights: folder });
  return { model, names: classNames(task, classes, saved) };
}

/** The chosen module's summary, its weights and one warm-up run; answers how the page runs opened files. */
async function start(): Promise<(files: readonly File[]) => Promise<void>> {
  const choice = chosenModel();
  const asked = askedSizes(choice.task);
  if (choice.task === 'classification') {
    const compiled = await choice.load();
    renderSummary(compiled, compiled.inputShape.join('×'), count(compiled.macs));
    const { model, names } = await loadModel(compiled, choice.task, compiled.outputShape[0]);
    return classifier(compiled, model, names);
  }
  const compiled = await choice.load();
  ui.title.textContent = 'Segment images';
  document.title = 'netspec: segment images in the browser';
  const { minimum, maximum, multiple } = compiled.sizes;
  const input = `H×W×${compiled.imageTransform.channels} (sides multiples of ${multiple} from ${minimum} to ${maximum})`;
  const totalMacs = renderSummary(compiled, input, 'macs(H, W), shown at the size run');
  const { model, names } = await loadModel(compiled, choice.task, compiled.outputShapes(minimum, minimum).out[2]);
  const transform = sizedTransform(modelImageTransform(model, compiled.imageTransform), compiled.sizes, asked);
  return segmenter({ compiled, model, names, transform, totalMacs });
}

function runFiles(files: FileList | null | undefined): void {
  if (files && files.length > 0) run.then((runner) => runner([...files])).catch(showError);
}

renderModelSelect();
const run = start();
run.then(
  () => {
    ui.status.textContent = `${modelName} ready: open or drop ${MODELS[modelName]?.task === 'segmentation' ? 'images' : 'an image'}`;
    setState('ready');
  },
  (error: unknown) => {
    ui.status.textContent = `${modelName} could not be loaded`;
    showError(error);
  },
);

ui.fileInput.addEventListener('change', () => runFiles(ui.fileInput.files));
ui.drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.drop.classList.remove('over');
  runFiles(event.dataTransfer?.files);
});
