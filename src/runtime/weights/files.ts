// Weights folders on disk, for Node: what the portable weights loader leaves to its platform.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
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
    throw unreadable(path, error);
  }
  if (!stats.isFile()) throw notAFile(path, stats.isDirectory());
  return stats.size;
}

/**
 * The file's bytes, at most what the budget has left; a manifest (`what` names it) past its limit is refused from
 * its size. Opened without blocking, so that a pipe is refused rather than waited on.
 */
function readFolderFile(path: string, budget: ByteBudget, what?: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notAFile(path, stats.isDirectory());
    if (what !== undefined && stats.size > budget.remaining) throw new WeightsError(`cannot read ${path}: the file is ${stats.size} bytes, more than the ${budget.remaining}-byte limit for ${what}`);
    // The size may change after it was looked at, or be reported as 0: the read stops one byte past the budget.
    const bytes = new Uint8Array(Math.max(0, Math.min(stats.size, budget.remaining)) + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < bytes.length; length += read) read = readSync(fd, bytes, length, bytes.length - length, null);
    if (!budget.spend(length)) throw new WeightsError(`cannot read ${path}: it holds more bytes than the manifest describes`);
    return bytes.subarray(0, length);
  } catch (error) {
    if (error instanceof WeightsError) throw error;
    throw unreadable(path, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function notAFile(path: string, folder: boolean): WeightsError {
  return new WeightsError(`cannot read ${path}: ${folder ? 'it is a folder' : 'it is not a regular file (a device, pipe or socket)'}`);
}

/** Node's words for the fault, as one line naming the path. */
function unreadable(path: string, error: unknown): WeightsError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : code === 'ELOOP' ? 'too many levels of symbolic links' : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : (error as Error).message;
  return new WeightsError(`cannot read ${path}: ${reason}`);
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
