// Weights folders on disk, for Node: what the portable weights loader leaves to its platform.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { describeFsError } from '../files/fs-reasons.js';
import { readBounded } from '../files/read-bounded.js';
import { loadWeights as loadWeightsPortable, type LoadOptions, type WeightsSource } from './load.js';
import { MANIFEST_FILE, readWeightsFolderFrom, WeightsError, type ByteBudget, type WeightsFolder } from './folder.js';

/**
 * Reads a weights folder with Node's file system (no tfjs-node needed), checking it against its manifest: every
 * shard's size is looked at before any is read, each file is read no further than the manifest allows, and a
 * device, pipe or folder where a file should be is refused without waiting on it.
 */
export function readWeightsFolder(folder: string): Promise<WeightsFolder> {
  return readWeightsFolderFrom(folder, {
    read: async (file, budget) => readFolderFile(join(folder, file), budget, file === MANIFEST_FILE ? 'a weights manifest' : undefined),
    sizes: async (files) => files.map((file) => fileSize(join(folder, file))),
  });
}

/** The size of a regular file, following links; anything else is a WeightsError naming the path. */
function fileSize(path: string): number {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new WeightsError(`cannot read ${path}: ${describeFsError(error)}`);
  }
  if (!stats.isFile())
    throw new WeightsError(`cannot read ${path}: ${stats.isDirectory() ? 'it is a folder' : 'it is not a regular file (a device, pipe or socket)'}`);
  return stats.size;
}

/**
 * The file's bytes through the bounded reader, at most what the budget has left; a manifest (`what` names it) past
 * its limit is refused from its size, a shard grown past what the manifest describes when it is read.
 */
function readFolderFile(path: string, budget: ByteBudget, what?: string): Uint8Array {
  const limit = budget.remaining;
  const read = readBounded(path, limit);
  if (!(read instanceof Uint8Array)) {
    if (read.kind === 'unreadable') throw new WeightsError(`cannot read ${path}: ${read.reason}`);
    throw new WeightsError(
      `cannot read ${path}: ${what === undefined ? 'it holds more bytes than the manifest describes' : `the file is ${read.size}, more than the ${limit}-byte limit for ${what}`}`,
    );
  }
  budget.spend(read.length);
  return read;
}

const isUrl = (source: string) => /^(https?|data|blob):/i.test(source);

/**
 * loadWeights for Node: a string is a folder on disk (a path, or a file: URL) unless it is an http, https, data or
 * blob URL; a tf.io.IOHandler or a folder already read work as in the browser.
 */
export async function loadWeights(model: tf.LayersModel, source: WeightsSource, options: LoadOptions = {}): Promise<tf.LayersModel> {
  if (typeof source === 'string' && !isUrl(source)) {
    try {
      options.signal?.throwIfAborted();
      source = await readWeightsFolder(/^file:/i.test(source) ? fileURLToPath(source) : source);
    } catch (error) {
      if (options.disposeOnError) model.dispose();
      throw error;
    }
  }
  return loadWeightsPortable(model, source, options);
}
