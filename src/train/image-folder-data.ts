// An image folder decoded into image sets at a model's input size: each file is read with its size bounded,
// decoded (its pixel count checked from the header first), converted to the model's channels, resized and
// centre-cropped, and only the input-size pixels are kept, so memory holds the cache and one decoded image.
import type { ImageSet } from '../data/image-set.js';
import { listEvalFolder, listImageFolder, shortName, type ImageFile } from '../data/image-folder.js';
import { DataFileError } from '../data/data-file-error.js';
import { readBounded } from '../files/read-bounded.js';
import { decodeImage } from '../runtime/images/decode.js';
import { DEFAULT_MAX_PIXELS, ImageFormatError, ImageTooLargeError } from '../runtime/images/header.js';
import { fitImage, type ImageGeometry } from '../runtime/images/pipeline.js';
import type { Interpolation } from '../runtime/images/resample.js';

export interface ImageFolderOptions {
  /** The model's input: height, width, channels. */
  readonly input: readonly [number, number, number];
  /** Fraction of each class held back for validation when the folder has no val/ or test/ folder. */
  readonly valSplit?: number;
  readonly seed?: number;
  /** Refuse (rather than skip) the first image that cannot be decoded. */
  readonly strict?: boolean;
  readonly maxPixels?: number;
  /** Refuse a dataset whose input-size cache would take more than this many bytes. */
  readonly cacheBytes?: number;
  /** The classifier to be trained, whose class count is checked against the folder's before any image is decoded. */
  readonly model?: { readonly name: string; readonly classes: number };
  /** The share of the resized shorter side the centre crop keeps: 1 (the default) keeps whole frames, as training sees them. */
  readonly cropFraction?: number;
  readonly interpolation?: Interpolation;
  /** Summary lines: what was skipped or ignored. */
  readonly log?: (line: string) => void;
}

export const DEFAULT_VAL_SPLIT = 0.1;
export const DEFAULT_CACHE_BYTES = 4 * 2 ** 30;
const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;
const LISTED = 10;

export interface ImageFolderData {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly classNames: readonly string[];
}

/** Decodes an image folder's train and validation splits; throws DataFileError for every fault of the dataset. */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageFolderData> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const listing = listImageFolder(dir, { valSplit: options.valSplit ?? DEFAULT_VAL_SPLIT, seed: options.seed ?? 0 });
  const { model } = options;
  if (model && model.classes !== listing.classNames.length) {
    throw new DataFileError(
      dir,
      `holds ${listing.classNames.length} classes (${listing.classNames.join(', ')}) but ${model.name} outputs ${model.classes}; its head should be a classifier of ${listing.classNames.length} classes`,
    );
  }
  const [height, width, channels] = options.input;
  const bytes = (listing.train.length + listing.val.length) * height * width * channels;
  const budget = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  if (bytes > budget) {
    throw new DataFileError(
      dir,
      `${listing.train.length + listing.val.length} images at ${height}×${width}×${channels} take ${mib(bytes)}, more than the cache budget of ${mib(budget)}`,
    );
  }
  const classes = listing.classNames.length;
  const failures: string[] = [];
  const train = await decodeAll(listing.train, options, classes, failures, dir);
  const test = await decodeAll(listing.val, options, classes, failures, dir);
  reportSkipped(log, dir, listing.ignored, failures);
  const lost = listing.classNames.filter((_, label) => !train.labels.includes(label));
  if (lost.length > 0) throw new DataFileError(dir, `no training image of ${lost.join(', ')} could be decoded`);
  if (test.count === 0) throw new DataFileError(dir, `no validation images (${listing.valSource})`);
  log(`netspec: ${dir}: ${train.count} training and ${test.count} validation images in ${classes} classes (validation: ${listing.valSource})`);
  return { train, test, classNames: listing.classNames };
}

/** Decodes the images an image folder holds for evaluation (see listEvalFolder), skipping or refusing bad ones as training does. */
export async function loadEvalFolder(dir: string, options: ImageFolderOptions): Promise<{ set: ImageSet; classNames: readonly string[]; source: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const listing = listEvalFolder(dir);
  const [height, width, channels] = options.input;
  const bytes = listing.files.length * height * width * channels;
  if (bytes > (options.cacheBytes ?? DEFAULT_CACHE_BYTES))
    throw new DataFileError(
      dir,
      `${listing.files.length} images at ${height}×${width}×${channels} take ${mib(bytes)}, more than the cache budget of ${mib(options.cacheBytes ?? DEFAULT_CACHE_BYTES)}`,
    );
  const failures: string[] = [];
  const set = await decodeAll(listing.files, options, listing.classNames.length, failures, dir);
  reportSkipped(log, dir, listing.ignored, failures);
  if (set.count === 0) throw new DataFileError(listing.source, 'holds no image that can be decoded');
  return { set, classNames: listing.classNames, source: listing.source };
}

/** The lines saying which files were ignored and which images skipped. */
function reportSkipped(log: (line: string) => void, dir: string, ignored: readonly string[], failures: readonly string[]): void {
  if (ignored.length > 0)
    log(
      `netspec: ignored ${ignored.length} file${plural(ignored.length)} that ${ignored.length === 1 ? 'is' : 'are'} not .jpg, .jpeg or .png: ${listed(dir, ignored)}`,
    );
  if (failures.length > 0)
    log(
      `netspec: skipped ${failures.length} image${plural(failures.length)} that cannot be used: ${failures.slice(0, LISTED).join('; ')}${failures.length > LISTED ? `; and ${failures.length - LISTED} more` : ''}`,
    );
}

/** The files decoded into one set, those that fail left out (and described in `failures`), or thrown under strict. */
async function decodeAll(files: readonly ImageFile[], options: ImageFolderOptions, classes: number, failures: string[], dir: string): Promise<ImageSet> {
  const [height, width, channels] = options.input;
  const geometry: ImageGeometry = {
    height,
    width,
    channels: channels as ImageGeometry['channels'],
    fit: 'crop',
    cropFraction: options.cropFraction ?? 1,
    interpolation: options.interpolation,
  };
  const size = height * width * channels;
  const images = new Uint8Array(files.length * size);
  const labels = new Uint8Array(files.length);
  let count = 0;
  for (const file of files) {
    try {
      images.set(await decodeToInput(file.path, geometry, options.maxPixels ?? DEFAULT_MAX_PIXELS), count * size);
      labels[count++] = file.label;
    } catch (error) {
      if (!(error instanceof DataFileError)) throw error;
      const problem = error.message.slice(error.file.length + 2);
      if (options.strict) throw new DataFileError(file.path, `${problem} (--strict refuses any image that cannot be used)`);
      failures.push(`${shortName(dir, file.path)}: ${problem}`);
    }
  }
  return { images: images.subarray(0, count * size), labels: labels.subarray(0, count), count, height, width, channels, classes };
}

/** One image file as input-size pixels: read, decoded, and fitted by the image pipeline (converted, resized, centre-cropped). */
export async function decodeToInput(path: string, geometry: ImageGeometry, maxPixels: number): Promise<Uint8Array> {
  const bytes = readBounded(path, MAX_IMAGE_FILE_BYTES);
  if (!(bytes instanceof Uint8Array))
    throw new DataFileError(
      path,
      bytes.kind === 'tooLarge' ? `the file is ${bytes.size}, past the ${MAX_IMAGE_FILE_BYTES}-byte limit for images` : bytes.reason,
    );
  let decoded;
  try {
    decoded = await decodeImage(bytes, { maxPixels });
  } catch (error) {
    if (error instanceof ImageTooLargeError) throw new DataFileError(path, `${error.message} (--max-pixels raises it)`);
    if (error instanceof ImageFormatError) throw new DataFileError(path, `cannot be decoded: ${error.message}`);
    throw error;
  }
  return fitImage(decoded, geometry).pixels.data;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const plural = (n: number) => (n === 1 ? '' : 's');
const listed = (dir: string, paths: readonly string[]) =>
  paths
    .slice(0, LISTED)
    .map((p) => shortName(dir, p))
    .join(', ') + (paths.length > LISTED ? `, and ${paths.length - LISTED} more` : '');
