// A classifier's page: the top five classes of the image opened or dropped, and the time they took.
import * as tf from '@tensorflow/tfjs';
import { pageImagePixels } from 'netspec/runtime';
import type { ClassifierModule } from './model.ts';
import { clearError, openImage, setState, ui } from './page.ts';

const TOP = 5;

/** One warm-up run, then a function that classifies the first of the files it is given. */
export function classifier(compiled: ClassifierModule, model: tf.LayersModel, names: readonly string[]): (files: readonly File[]) => Promise<void> {
  // The first run compiles shaders (webgl) or sets up kernels; without it the first image's time would be that.
  tf.tidy(() => compiled.predict(model, tf.zeros([1, ...compiled.inputShape]))).dispose();
  ui.classification.hidden = false;
  return async (files) => {
    if (files[0]) await classify(compiled, model, names, files[0]);
  };
}

/** Decodes the file as the browser shows it, classifies it and shows the top classes and the time it took. */
async function classify(compiled: ClassifierModule, model: tf.LayersModel, names: readonly string[], file: Blob): Promise<void> {
  clearError();
  setState('busy');
  ui.top5.replaceChildren();
  ui.timeLine.textContent = '';
  const bitmap = await openImage(file);
  try {
    const { preview } = ui;
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
    ui.top5.replaceChildren(
      ...ranked.map((index) => {
        const item = document.createElement('li');
        item.textContent = `${(100 * values[index]!).toFixed(2)}% ${names[index]}`;
        item.dataset.class = String(index);
        item.dataset.probability = String(values[index]);
        return item;
      }),
    );
    ui.timeLine.textContent = `${ms.toFixed(1)} ms per image (${pixels.width}×${pixels.height}: preprocess, predict, softmax) on ${tf.getBackend()}`;
    setState('done');
  } finally {
    bitmap.close();
  }
}
