// Weights folders on disk, for Node: what the portable weights loader leaves to its platform.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadWeights as loadWeightsPortable, type LoadOptions, type WeightsSource } from './load.js';
import { readWeightsFolderFrom, type WeightsFolder } from './folder.js';

/** Reads a weights folder with Node's file system (no tfjs-node needed), checking it against its manifest. */
export function readWeightsFolder(folder: string): Promise<WeightsFolder> {
  return readWeightsFolderFrom(folder, async (file) => new Uint8Array(await readFile(join(folder, file))));
}

const isUrl = (source: string) => /^(https?|file|data|blob):/i.test(source);

/**
 * loadWeights for Node: a string is a folder on disk unless it is a URL (http, https, file); a tf.io.IOHandler or a
 * folder already read work as in the browser.
 */
export async function loadWeights(model: tf.LayersModel, source: WeightsSource, options: LoadOptions = {}): Promise<tf.LayersModel> {
  if (typeof source === 'string' && !isUrl(source)) {
    try {
      source = await readWeightsFolder(source);
    } catch (error) {
      if (options.disposeOnError) model.dispose();
      throw error;
    }
  }
  return loadWeightsPortable(model, source, options);
}
