// Weights folders read with Node's file system. Apart from loadWeights (files.ts), which needs tfjs, so that the
// commands that only read or write weights folders (weights, export) start without loading it.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError } from '../files/fs-reasons.js';
import { readBounded } from '../files/read-bounded.js';
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
