// Calibration images as the model takes them: Fashion-MNIST's training split, or a folder of JPEG and PNG files
// resized and normalised as `netspec predict` feeds images. Every fault of the images is a user error of one line.
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { listImageFolder } from '../data/image-folder.js';
import { UserError } from '../errors/user-error.js';
import { describeFsError, isSystemError } from '../files/fs-errors.js';
import { readBounded } from '../files/read-bounded.js';
import { decodeImage } from '../runtime/images/decode.js';
import type { Pixels } from '../runtime/images/pixels.js';
import { DEFAULT_MAX_PIXELS, ImageFormatError, ImageTooLargeError } from '../runtime/images/header.js';
import { normalisePixels, prepareImage, type ImageTransform } from '../runtime/images/pipeline.js';
import type { CalibrationImages } from './calibrate.js';

/** Bad calibration input, in one line for the user. */
export class CalibrationError extends UserError {}

/** An image file past 512 MiB is not one to read (as predict bounds it). */
const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;

/** The model's input as the compiler describes it: [height, width, channels]. */
type InputShape = readonly [height: number, width: number, channels: number];

/**
 * The most bytes of input the calibration images may take together, as float32: they are held at once, twice over
 * for the percentile method's second pass. 1 GiB holds 1,782 images at 224×224×3 and 341 at 512×512×3; past it a
 * typed array cannot be allocated on some machines (Node's limit is 4 GiB) and the calibration would swap.
 */
export const CALIBRATION_BYTES = 2 ** 30;

/** Throws, before any image is read, when `count` images of the input's size would not fit CALIBRATION_BYTES. */
export function checkCalibrationBudget([height, width, channels]: InputShape, count: number): void {
  const bytes = 4 * count * height * width * channels;
  if (bytes <= CALIBRATION_BYTES) return;
  const fit = Math.floor(CALIBRATION_BYTES / (4 * height * width * channels));
  throw new CalibrationError(
    `--calibration-images ${count} at ${height}×${width}×${channels} take ${(bytes / 2 ** 30).toFixed(2)} GiB as float32, more than the ${CALIBRATION_BYTES / 2 ** 30} GiB ` +
      `calibration holds at once; at most ${fit} fit, and a few hundred images give stable ranges`,
  );
}

/**
 * `count` images of Fashion-MNIST's training split (never its test split, which measures accuracy), evenly spaced
 * through it so that every class is seen, normalised by the transform (they are already the model's 28×28 grey).
 */
export function fashionMnistImages(transform: ImageTransform, count: number): CalibrationImages {
  const { height, width, channels } = transform;
  if (height !== 28 || width !== 28 || channels !== 1)
    throw new CalibrationError(
      `fashion-mnist calibration needs a 28×28 grey input; the model takes ${height}×${width}×${channels} — calibrate with a folder of images`,
    );
  checkCalibrationBudget([height, width, channels], count);
  const { train } = loadFashionMnist();
  if (count > train.count) throw new CalibrationError(`Fashion-MNIST's training split has ${train.count} images, fewer than the ${count} asked for`);
  const pixels = height * width;
  const data = new Float32Array(count * pixels);
  const step = Math.floor(train.count / count);
  for (let i = 0; i < count; i++) {
    const image = { width, height, channels, data: train.images.subarray(i * step * pixels, (i * step + 1) * pixels) };
    data.set(normalisePixels(image, transform), i * pixels);
  }
  return { data, count, shape: [channels, height, width] };
}

export interface FolderCalibration {
  /** Fewer images than this is refused: the calibration method's minimum. */
  readonly minimum: number;
  /** Told when the folder holds fewer images than asked for but at least the minimum, all of which are then used. */
  readonly warn: (line: string) => void;
}

/**
 * `count` images of a folder, each resized and normalised by `transform`: the first by file name of a folder of
 * images (files starting with a dot are skipped), or, from an image folder of class subfolders (the layout `train`
 * reads), its training images spread evenly over the classes. A folder with fewer images than asked is used whole,
 * with a warning, down to `minimum`; a file that is not a JPEG or PNG image, or cannot be read, is refused, naming it.
 */
export async function folderImages(folder: string, count: number, transform: ImageTransform, options?: FolderCalibration): Promise<CalibrationImages> {
  const { minimum = count, warn = () => {} } = options ?? {};
  const files = calibrationFiles(folder, count);
  if (files.length < minimum) {
    const held = files.length === 0 ? 'holds no images' : `holds ${files.length} image${files.length === 1 ? '' : 's'}`;
    throw new CalibrationError(`the calibration folder ${folder} ${held}; at least ${minimum} ${minimum === 1 ? 'is' : 'are'} needed`);
  }
  if (files.length < count)
    warn(`netspec: the calibration folder ${folder} holds ${files.length} images, fewer than the ${count} asked for; calibrating with all ${files.length}`);
  const used = Math.min(count, files.length);
  checkCalibrationBudget([transform.height, transform.width, transform.channels], used);
  const { height, width, channels } = transform;
  const perImage = channels * height * width;
  const data = new Float32Array(used * perImage);
  for (let i = 0; i < used; i++) data.set(channelsFirst(prepareImage(await decodeCalibrationImage(files[i]!), transform).data, transform), i * perImage);
  return { data, count: used, shape: [channels, height, width] };
}

/** Up to `count` image paths of the folder: its files by name, or its training images evenly spaced over the classes. */
function calibrationFiles(folder: string, count: number): string[] {
  const entries = folderEntries(folder);
  if (!entries.some((entry) => entry.isDirectory())) return entries.map((entry) => join(folder, entry.name)).slice(0, count);
  const { train } = listImageFolder(folder, { valSplit: CALIBRATION_VAL_SPLIT, seed: 0 });
  const take = Math.min(count, train.length);
  return Array.from({ length: take }, (_, i) => train[Math.floor((i * train.length) / take)]!.path);
}

/** An image folder's validation share, as `netspec train` holds it out by default: calibration keeps off it. */
const CALIBRATION_VAL_SPLIT = 0.1;

/** The folder's non-hidden entries in order of name. */
function folderEntries(folder: string): Dirent[] {
  let entries;
  try {
    if (!statSync(folder).isDirectory()) throw new CalibrationError(`the calibration source ${folder} is not a folder (nor fashion-mnist)`);
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    if (!isSystemError(error)) throw error;
    throw new CalibrationError(`cannot read the calibration folder ${folder}: ${describeFsError(error)}`);
  }
  return entries.filter((entry) => !entry.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An image's values from channels last (the pipeline's order) to channels first (ONNX's). */
function channelsFirst(hwc: Float32Array, { height, width, channels }: ImageTransform): Float32Array {
  const chw = new Float32Array(hwc.length);
  for (let p = 0; p < height * width; p++) for (let c = 0; c < channels; c++) chw[c * height * width + p] = hwc[p * channels + c]!;
  return chw;
}

/** The decoded image; a file that cannot be read or decoded, or is too large, is a CalibrationError naming it. */
async function decodeCalibrationImage(path: string): Promise<Pixels> {
  const refuse = (reason: string) => new CalibrationError(`cannot read the calibration image ${path}: ${reason}`);
  const bytes = readBounded(path, MAX_IMAGE_FILE_BYTES);
  if (!(bytes instanceof Uint8Array))
    throw refuse(bytes.kind === 'tooLarge' ? `the file is ${bytes.size}; image files are limited to ${MAX_IMAGE_FILE_BYTES} bytes` : bytes.reason);
  try {
    return await decodeImage(bytes, { maxPixels: DEFAULT_MAX_PIXELS });
  } catch (error) {
    if (error instanceof ImageTooLargeError) throw refuse(`it is ${error.width}×${error.height} pixels, more than ${error.maxPixels}`);
    if (error instanceof ImageFormatError) throw refuse(error.message);
    throw error;
  }
}
