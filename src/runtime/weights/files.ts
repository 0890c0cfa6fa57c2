// Weights folders on disk, for Node: what the portable weights loader leaves to its platform.
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { loadWeights as loadWeightsPortable, type LoadOptions, type ModelOrBuilder, type WeightsSource } from './load.js';
import { readWeightsFolder } from './read-folder.js';

export { readWeightsFolder };

const isUrl = (source: string) => /^(https?|data|blob):/i.test(source);

/**
 * loadWeights for Node: a string is a folder on disk (a path, or a file: URL) unless it is an http, https, data or
 * blob URL; a tf.io.IOHandler or a folder already read work as in the browser.
 */
export async function loadWeights(target: ModelOrBuilder, source: WeightsSource, options: LoadOptions = {}): Promise<tf.LayersModel> {
  if (typeof source === 'string' && !isUrl(source)) {
    try {
      options.signal?.throwIfAborted();
      source = await readWeightsFolder(/^file:/i.test(source) ? fileURLToPath(source) : source);
    } catch (error) {
      if (options.disposeOnError && typeof target !== 'function') target.dispose();
      throw error;
    }
  }
  return loadWeightsPortable(target, source, options);
}
