// The files and folders of annotated datasets, each fault one DataFileError naming the path: files are read through
// the bounded reader, folders are looked at without opening them (a pipe or device is refused, not waited on), and
// images are decoded with the runtime's decoder and its header checks.
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import { displayPath } from '../files/display-path.js';
import { describeFsError } from '../files/fs-errors.js';
import { readBounded } from '../files/read-bounded.js';
import { decodeImage } from '../runtime/images/decode.js';
import { DEFAULT_MAX_PIXELS, ImageTooLargeError } from '../runtime/images/header.js';
import type { RgbImage } from './dataset.js';
import { DataFileError } from './data-file-error.js';
import { convertChannels } from '../runtime/images/pixels.js';

/** The largest image file read: far above any photograph's JPEG or PNG (a 50-megapixel PNG is about 150 MB). */
export const IMAGE_FILE_LIMIT = 512 * 2 ** 20;

/** A DataFileError about `path`, shown as messages show paths. */
export function dataFault(path: string, problem: string): DataFileError {
  return new DataFileError(displayPath(path), problem);
}

/** The file's bytes, at most `limit`; anything else is a DataFileError naming the file and the limit. */
export function readDataFile(path: string, limit: number, what: string): Uint8Array {
  const read = readBounded(path, limit);
  if (read instanceof Uint8Array) return read;
  throw dataFault(path, read.kind === 'tooLarge' ? `the file is ${read.size}, past the limit of ${limit} bytes for ${what}` : `cannot be read: ${read.reason}`);
}

/** The stats of what `path` names (following links), or undefined when nothing is there; other faults throw. */
export function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw dataFault(path, describeFsError(error));
  }
}

/** True when `path` is a folder (following links); a loop of links or an unreadable path is a DataFileError. */
export function isFolder(path: string): boolean {
  return statIfAny(path)?.isDirectory() ?? false;
}

/** Throws unless `path` is a folder, saying what it is instead and what it should hold. */
export function requireFolder(path: string, holding: string): void {
  const stats = statIfAny(path);
  if (stats === undefined) throw dataFault(path, `no such folder; it should hold ${holding}`);
  if (stats.isDirectory()) return;
  throw dataFault(path, `${stats.isFile() ? 'a file' : 'a device, pipe or socket'}, not a folder; it should hold ${holding}`);
}

export interface FolderEntry {
  readonly name: string;
  readonly path: string;
}

/**
 * The entries of a folder that are not folders (links followed, as torchvision follows them), sorted by name with
 * hidden ones left out. A link to nothing or a loop of links is refused naming it; a pipe or device is listed and
 * refused when it is read.
 */
export function listFiles(dir: string): FolderEntry[] {
  return listEntries(dir).filter((entry) => !entry.folder);
}

/** The names of a folder's subfolders (links followed), sorted, hidden ones left out. */
export function listFolders(dir: string): string[] {
  return listEntries(dir)
    .filter((entry) => entry.folder)
    .map((entry) => entry.name);
}

function listEntries(dir: string): (FolderEntry & { readonly folder: boolean })[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw dataFault(dir, `cannot be listed: ${describeFsError(error)}`);
  }
  const listed: (FolderEntry & { readonly folder: boolean })[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    let folder = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const target = statIfAny(path);
      if (target === undefined) throw dataFault(path, 'is a symbolic link to nothing');
      folder = target.isDirectory();
    }
    listed.push({ name: entry.name, path, folder });
  }
  return listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A file name's stem and lower-cased extension: `a.b.JPG` → `a.b` and `.jpg`. */
export function splitExtension(name: string): { stem: string; extension: string } {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? { stem: name, extension: '' } : { stem: name.slice(0, dot), extension: name.slice(dot).toLowerCase() };
}

/** Reads and decodes an image file into RGB; every fault is one DataFileError naming the file. */
export async function decodeRgbFile(path: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<RgbImage> {
  const bytes = readDataFile(path, IMAGE_FILE_LIMIT, 'images');
  let decoded;
  try {
    decoded = await decodeImage(bytes, { maxPixels });
  } catch (error) {
    throw dataFault(path, error instanceof ImageTooLargeError ? error.message : `cannot be decoded: ${(error as Error).message}`);
  }
  const { width, height, data } = convertChannels(decoded, 3);
  return { width, height, channels: 3, data };
}
