/**
 * Fashion-MNIST: 60,000 training and 10,000 test grayscale images of 28×28 pixels in ten clothing classes,
 * stored as four IDX files. Debian's `dataset-fashion-mnist` package installs them gzipped in FASHION_MNIST_DIR.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataFileError } from './data-file-error.js';
import { readIdxFile } from './idx.js';
import type { ImageSet } from './image-set.js';

/** Where Debian's `dataset-fashion-mnist` installs the files; the NETSPEC_FASHION_MNIST environment variable overrides it. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The class names in label order: label 0 is T-shirt/top, label 9 is Ankle boot. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

const IMAGE_SIZE = 28;
const fileNames = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
const howToGet =
  'install it with `apt-get install dataset-fashion-mnist`, or set NETSPEC_FASHION_MNIST to a folder holding ' +
  `${Object.values(fileNames).join(', ')} (each gzipped as .gz or not)`;

/** The folder to read: NETSPEC_FASHION_MNIST when set, read at each call so that it can change at run time. */
export function defaultFashionMnistDir(): string {
  return process.env.NETSPEC_FASHION_MNIST || FASHION_MNIST_DIR;
}

/** Loads and checks both splits, with the class names; throws DataFileError naming the file at fault (and how to get missing ones). */
export function loadFashionMnist(dir = defaultFashionMnistDir()): { train: ImageSet; test: ImageSet; classNames: readonly string[] } {
  if (!existsSync(dir)) throw new DataFileError(dir, `the Fashion-MNIST folder does not exist; ${howToGet}`);
  // Every file is located before any is read, so a missing one is reported before seconds of decompression.
  const paths = Object.fromEntries(Object.entries(fileNames).map(([key, name]) => [key, locate(dir, name)])) as Record<keyof typeof fileNames, string>;
  return {
    train: loadSplit(paths.trainImages, paths.trainLabels),
    test: loadSplit(paths.testImages, paths.testLabels),
    classNames: FASHION_MNIST_CLASSES,
  };
}

/** The uncompressed file when present (nothing to inflate), else the gzipped one. */
function locate(dir: string, name: string): string {
  const plain = join(dir, name);
  if (existsSync(plain)) return plain;
  if (existsSync(`${plain}.gz`)) return `${plain}.gz`;
  throw new DataFileError(plain, `missing, neither gzipped (.gz) nor uncompressed; ${howToGet}`);
}

function loadSplit(imagesPath: string, labelsPath: string): ImageSet {
  const images = readIdxFile(imagesPath);
  const [count = 0, height, width] = images.shape;
  if (images.shape.length !== 3 || height !== IMAGE_SIZE || width !== IMAGE_SIZE) {
    throw new DataFileError(imagesPath, `holds an array of shape [${images.shape.join(', ')}]; Fashion-MNIST images are [N, ${IMAGE_SIZE}, ${IMAGE_SIZE}]`);
  }
  const labels = readIdxFile(labelsPath);
  if (labels.shape.length !== 1) throw new DataFileError(labelsPath, `holds an array of shape [${labels.shape.join(', ')}]; Fashion-MNIST labels are [N]`);
  if (labels.data.length !== count) throw new DataFileError(labelsPath, `holds ${labels.data.length} labels but ${imagesPath} holds ${count} images`);
  const classes = FASHION_MNIST_CLASSES.length;
  const badIndex = labels.data.findIndex((label) => label >= classes);
  if (badIndex >= 0)
    throw new DataFileError(labelsPath, `the label at index ${badIndex} is ${labels.data[badIndex]}; Fashion-MNIST labels are 0 to ${classes - 1}`);
  return { images: images.data, labels: labels.data, count, height: IMAGE_SIZE, width: IMAGE_SIZE, channels: 1, classes };
}
