/**
 * The CIFAR-10 and CIFAR-100 "binary version" files: records of label bytes followed by a 32×32 colour image
 * stored channel by channel (1024 red bytes, 1024 green, 1024 blue, each row by row). CIFAR-10's record has one
 * label byte; CIFAR-100's has two, the coarse (superclass) label then the fine one.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readBounded } from '../files/read-bounded.js';
import type { ImageSet } from './image-set.js';
import { DataFileError } from './data-file-error.js';

export type CifarVariant = 'cifar10' | 'cifar100' | 'cifar100-coarse';

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const IMAGE_BYTES = 3 * PIXELS;
/** The record count of every file of the published datasets. */
const PUBLISHED_RECORDS = { cifar10: { train: 10_000, test: 10_000 }, cifar100: { train: 50_000, test: 10_000 } } as const;

/** The layout of one variant: files, label bytes per record, which of them is the label, class count and names file. */
const LAYOUTS = {
  cifar10: {
    train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
    test: ['test_batch.bin'],
    labelBytes: 1,
    labelAt: 0,
    classes: 10,
    names: 'batches.meta.txt',
  },
  cifar100: { train: ['train.bin'], test: ['test.bin'], labelBytes: 2, labelAt: 1, classes: 100, names: 'fine_label_names.txt' },
  'cifar100-coarse': { train: ['train.bin'], test: ['test.bin'], labelBytes: 2, labelAt: 0, classes: 20, names: 'coarse_label_names.txt' },
} as const;

/** CIFAR-10's names in label order, as its batches.meta.txt lists them, for a folder without that file. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/**
 * Reads both splits of a CIFAR binary folder with their class names (from the folder's names file, else CIFAR-10's
 * known names or class0, class1, …). Every file must hold exactly the published number of records: a file of any
 * other size is truncated, padded or another variant's, and is refused naming the sizes.
 */
export function loadCifar(variant: CifarVariant, dir: string): { train: ImageSet; test: ImageSet; classNames: readonly string[] } {
  if (!existsSync(dir))
    throw new DataFileError(dir, `the ${variant} folder does not exist; it should hold the CIFAR binary version's files (${LAYOUTS[variant].train[0]}, …)`);
  const layout = LAYOUTS[variant];
  const published = PUBLISHED_RECORDS[variant === 'cifar10' ? 'cifar10' : 'cifar100'];
  // The small names file first: a fault in it is found before seconds of reading records.
  const classNames = classNamesIn(join(dir, layout.names), layout.classes, variant);
  return {
    train: readCifarFiles(
      variant,
      layout.train.map((name) => join(dir, name)),
      published.train,
    ),
    test: readCifarFiles(
      variant,
      layout.test.map((name) => join(dir, name)),
      published.test,
    ),
    classNames,
  };
}

/** Reads CIFAR record files into one set, each file holding `recordsPerFile` records (checked before reading it). */
export function readCifarFiles(variant: CifarVariant, paths: readonly string[], recordsPerFile: number): ImageSet {
  const { labelBytes } = LAYOUTS[variant];
  const recordBytes = labelBytes + IMAGE_BYTES;
  for (const path of paths) checkSize(path, recordsPerFile * recordBytes, recordBytes);
  const count = paths.length * recordsPerFile;
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  paths.forEach((path, f) => decodeRecords(variant, path, readDataFile(path, recordsPerFile * recordBytes), f * recordsPerFile, images, labels));
  return { images, labels, count, height: SIDE, width: SIDE, channels: 3, classes: LAYOUTS[variant].classes };
}

function checkSize(path: string, expected: number, recordBytes: number): void {
  if (!existsSync(path)) throw new DataFileError(path, 'the file does not exist');
  const stats = statSync(path);
  if (!stats.isFile())
    throw new DataFileError(path, stats.isDirectory() ? 'it is a folder, not a file' : 'it is not a regular file (a device, pipe or socket)');
  const size = stats.size;
  if (size === expected) return;
  const over = size % recordBytes;
  const records = `${Math.floor(size / recordBytes)} records of ${recordBytes} bytes${over === 0 ? '' : ` and ${over} byte${over === 1 ? '' : 's'} over`}`;
  throw new DataFileError(path, `the file is ${size} bytes (${records}); it should be ${expected} bytes, ${expected / recordBytes} records`);
}

/** Copies a file's records into the set at `first`, planes (CHW) turned into channels-last pixels (HWC). */
function decodeRecords(variant: CifarVariant, path: string, bytes: Uint8Array, first: number, images: Uint8Array, labels: Uint8Array): void {
  const { labelBytes, labelAt, classes } = LAYOUTS[variant];
  const recordBytes = labelBytes + IMAGE_BYTES;
  const records = bytes.length / recordBytes;
  for (let r = 0; r < records; r++) {
    const record = r * recordBytes;
    const label = bytes[record + labelAt]!;
    if (label >= classes) throw new DataFileError(path, `record ${r} has the label ${label}; ${variant} labels are 0 to ${classes - 1}`);
    labels[first + r] = label;
    const planes = record + labelBytes;
    const target = (first + r) * IMAGE_BYTES;
    for (let p = 0; p < PIXELS; p++) {
      images[target + 3 * p] = bytes[planes + p]!;
      images[target + 3 * p + 1] = bytes[planes + PIXELS + p]!;
      images[target + 3 * p + 2] = bytes[planes + 2 * PIXELS + p]!;
    }
  }
}

/** The file's bytes, no more than `limit`; a device, pipe or folder, or a file grown past the limit, is refused naming it. */
function readDataFile(path: string, limit: number): Uint8Array {
  const read = readBounded(path, limit);
  if (read instanceof Uint8Array) return read;
  throw new DataFileError(
    path,
    read.kind === 'tooLarge' ? `the file is ${read.size}, more than the ${limit} bytes it should hold` : `cannot be read: ${read.reason}`,
  );
}

/** A names file past this is not one: CIFAR-100's is under 1 KiB. */
const MAX_NAMES_BYTES = 2 ** 20;

/** The names file's non-empty lines when it has one per class; otherwise CIFAR-10's names, or numbered classes. */
function classNamesIn(path: string, classes: number, variant: CifarVariant): readonly string[] {
  if (existsSync(path)) {
    const names = new TextDecoder()
      .decode(readDataFile(path, MAX_NAMES_BYTES))
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '');
    if (names.length !== classes) throw new DataFileError(path, `names ${names.length} classes; ${variant} has ${classes}`);
    return names;
  }
  return variant === 'cifar10' ? CIFAR10_CLASSES : Array.from({ length: classes }, (_, i) => `class${i}`);
}
