// Calibration images as the model takes them: Fashion-MNIST's training split, or a folder of JPEG and PNG files
// resized and normalised as `netspec predict` feeds images. Every fault of the images is a user error of one line.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { UserError } from '../errors/user-error.js';
import { describeFsError, isSystemError } from '../files/fs-errors.js';
import { readBounded } from '../files/read-bounded.js';
import { decodeImage } from '../runtime/images/decode.js';
import type { DecodedImage } from '../runtime/images/decoded-image.js';
import { DEFAULT_MAX_PIXELS, ImageFormatError, ImageTooLargeError } from '../runtime/images/header.js';
import { imagenetNormalization, preprocess, type PreprocessOptions } from '../runtime/images/preprocess.js';
import type { InputNormalization } from '../runtime/weights/folder.js';
import type { CalibrationImages } from './calibrate.js';

/** Bad calibration input, in one line for the user. */
export class CalibrationError extends UserError {}

/** An image file past 512 MiB is not one to read (as predict bounds it). */
const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;

/** The model's input as the compiler describes it: [height, width, channels]. */
type InputShape = readonly [height: number, width: number, channels: number];

/**
 * The most bytes of input the calibration images may take together, as float32: they are held at once, twice over
 * for the histogram methods' second pass. 1 GiB holds 1,782 images at 224×224×3 and 341 at 512×512×3; past it a
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
 * predict's evaluation transform: weights trained by `netspec train` record their normalisation and saw whole
 * frames (the shorter side resized straight to the input); other weights get ImageNet's normalisation and crop.
 */
export function evaluationTransform([height, width, channels]: InputShape, normalization: InputNormalization | undefined): PreprocessOptions {
  const crop = [height, width] as const;
  return normalization ? { crop, channels, resize: Math.max(height, width), mean: normalization.mean, std: normalization.std } : { crop, channels };
}

/**
 * `count` images of Fashion-MNIST's training split (never its test split, which measures accuracy), evenly spaced
 * through it so that every class is seen, scaled to [0, 1] and normalised.
 */
export function fashionMnistImages(input: InputShape, count: number, normalization: InputNormalization | undefined): CalibrationImages {
  const [height, width, channels] = input;
  if (height !== 28 || width !== 28 || channels !== 1) throw new CalibrationError(`fashion-mnist calibration needs a 28×28 grey input; the model takes ${height}×${width}×${channels} — calibrate with a folder of images`);
  checkCalibrationBudget(input, count);
  const { train } = loadFashionMnist();
  if (count > train.count) throw new CalibrationError(`Fashion-MNIST's training split has ${train.count} images, fewer than the ${count} asked for`);
  const { mean: [mean], std: [std] } = normalization ?? imagenetNormalization(1);
  const pixels = height * width;
  const data = new Float32Array(count * pixels);
  const step = Math.floor(train.count / count);
  for (let i = 0; i < count; i++) {
    const source = train.images.subarray(i * step * pixels, (i * step + 1) * pixels);
    for (let p = 0; p < pixels; p++) data[i * pixels + p] = (source[p]! / 255 - mean!) / std!;
  }
  return { data, count, shape: [channels, height, width] };
}

/**
 * The first `count` images of a folder by file name (files starting with a dot are skipped), each resized and
 * normalised by `transform`. A folder with fewer images, a file that is not a JPEG or PNG image, or one that
 * cannot be read is refused, naming it.
 */
export async function folderImages(folder: string, count: number, transform: PreprocessOptions): Promise<CalibrationImages> {
  const channels = transform.channels ?? 3;
  if (![1, 2, 3, 4].includes(channels)) throw new CalibrationError(`calibration images are fed as grey (1 channel), grey and alpha (2), RGB (3) or RGBA (4); the model takes ${channels} channels`);
  const crop = typeof transform.crop === 'number' ? [transform.crop, transform.crop] : transform.crop;
  checkCalibrationBudget([crop[0]!, crop[1]!, channels], count);
  const files = imageFiles(folder);
  if (files.length < count) {
    const held = files.length === 0 ? 'holds no images' : `holds ${files.length} image${files.length === 1 ? '' : 's'}`;
    throw new CalibrationError(`the calibration folder ${folder} ${held}; ${count} are needed (--calibration-images sets how many)`);
  }
  const perImage = channels * crop[0]! * crop[1]!;
  const data = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) data.set(await readImage(join(folder, files[i]!), transform), i * perImage);
  return { data, count, shape: [channels, crop[0]!, crop[1]!] };
}

/** The folder's file names in order, every non-hidden entry a file. */
function imageFiles(folder: string): string[] {
  let entries;
  try {
    if (!statSync(folder).isDirectory()) throw new CalibrationError(`the calibration source ${folder} is not a folder (nor fashion-mnist)`);
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    if (!isSystemError(error)) throw error;
    throw new CalibrationError(`cannot read the calibration folder ${folder}: ${describeFsError(error)}`);
  }
  const visible = entries.filter((entry) => !entry.name.startsWith('.'));
  const folders = visible.filter((entry) => entry.isDirectory());
  if (folders.length > 0) throw new CalibrationError(`the calibration folder ${folder} holds the folder ${folders[0]!.name}; put the images in it directly`);
  return visible.map((entry) => entry.name).sort();
}

/** One image in NCHW order (channels first), normalised. */
async function readImage(path: string, transform: PreprocessOptions): Promise<Float32Array> {
  const image = preprocess(await decodeCalibrationImage(path), transform);
  const chw = tf.tidy(() => image.transpose([2, 0, 1]));
  const data = chw.dataSync() as Float32Array;
  tf.dispose([image, chw]);
  return data;
}

/** The decoded image; a file that cannot be read or decoded, or is too large, is a CalibrationError naming it. */
async function decodeCalibrationImage(path: string): Promise<DecodedImage> {
  const refuse = (reason: string) => new CalibrationError(`cannot read the calibration image ${path}: ${reason}`);
  const bytes = readBounded(path, MAX_IMAGE_FILE_BYTES);
  if (!(bytes instanceof Uint8Array)) throw refuse(bytes.kind === 'tooLarge' ? `the file is ${bytes.size}; image files are limited to ${MAX_IMAGE_FILE_BYTES} bytes` : bytes.reason);
  try {
    return await decodeImage(bytes, { maxPixels: DEFAULT_MAX_PIXELS });
  } catch (error) {
    if (error instanceof ImageTooLargeError) throw refuse(`it is ${error.width}×${error.height} pixels, more than ${error.maxPixels}`);
    if (error instanceof ImageFormatError) throw refuse(error.message);
    throw error;
  }
}
