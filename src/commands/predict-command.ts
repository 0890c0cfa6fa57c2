import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../build/model.js';
import { detectionConfig } from '../emit/detection-constant.js';
import { UserError, UserErrors } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { printable } from '../files/display-path.js';
import { readBounded } from '../files/read-bounded.js';
import { initBackend } from '../runtime/backends/node.js';
import { decodeImage } from '../runtime/images/decode.js';
import { DEFAULT_MAX_PIXELS, ImageFormatError, ImageTooLargeError } from '../runtime/images/header.js';
import { imageTransformFor, type ImageTransform } from '../runtime/images/pipeline.js';
import { prepareBatch } from '../runtime/images/preprocess.js';
import { MANIFEST_FILE } from '../runtime/weights/folder.js';
import type { Task } from '../ir/graph.js';
import type { DecodedImage } from '../runtime/images/pixels.js';
import { defineCommand, UsageError } from './command-line.js';
import { checkResultFiles, detectImage, fitForModel, prepareOutputFolder, segmentImage, taskClassNames, type DenseOutput } from './predict-dense.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { loadUserWeights } from './load-user-weights.js';
import { readUserWeights } from './user-weights.js';

const TOP = 5;
/** A 50-megapixel RGBA PNG stored without compression is 200 MB; a file past 512 MiB is not an image to read. */
const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;

/** ImageNet's 1000 class names in index order, as torchvision lists them (data/imagenet-classes.json). */
function imagenetClasses(): string[] {
  return JSON.parse(readFileSync(new URL('../../data/imagenet-classes.json', import.meta.url), 'utf8')) as string[];
}

export const command = defineCommand({
  name: 'predict',
  summary: `Classify, segment or detect objects in JPEG or PNG images with a spec's model and imported weights`,
  forms: [{ args: '<spec.json>', after: '<image>...' }],
  description: `Builds the spec's model, loads a weights folder written by 'netspec weights import' or 'netspec train', and
classifies each JPEG or PNG image. Prints the top ${TOP} classes with their probabilities: the folder's class names
when it has them ('netspec train' saves its dataset's), ImageNet class names for a 1000-class classifier,
class indices otherwise. The backend is chosen as for generated code.

Images become the model's channels first: 1 grey (ITU-R BT.601 luma, as PIL's convert('L')), 2 grey and alpha,
3 RGB, 4 RGBA; grey, palette and transparent images are converted. Then torchvision's evaluation transform:
  - a folder that records its normalisation, as 'netspec train' writes it: the run saw whole frames, so the
    shorter side is resized straight to the input size, centre-cropped to the input's height × width, and
    normalised as the run measured
  - other folders: the shorter side is resized to 256/224 of the input's longer side (256 for 224),
    centre-cropped, and normalised with ImageNet's mean and standard deviation (their luma for grey)
Pixels are fed as they are, never inverted: a Fashion-MNIST model has seen light garments on a black background,
so a dark garment photographed on white looks nothing like what it learnt.

Segmentation models (an fcn or deeplabv3 head) and detection models (retinanet) see each image scaled to fit the
input with its aspect kept, padded with zeros (the mean colour) at the bottom and right, and normalised as above.
  - segmentation: prints each class's share of the image and writes OUT/<image>.segmentation.png, the image with
    each pixel's class (from the model's 'out') blended over it in PASCAL VOC's colours, the background left clear
  - detection: decodes as torchvision's RetinaNet does (score above the spec's threshold, per-class suppression)
    and keeps detections scoring --min-score or more: prints them and writes OUT/<image>.detections.json (boxes as
    x1, y1, x2, y2 in the image's pixels) and OUT/<image>.detections.png with the boxes and labels drawn
Class names are the weights folder's, else PASCAL VOC's for 21 classes and COCO's for 91. Existing files are
never replaced.

An image that cannot be read or is too large is reported on one line, the others are still processed, and the
exit status is 1.`,
  options: {
    weights: { type: 'string', arg: 'DIR', required: true, help: 'The weights folder' },
    'max-pixels': {
      type: 'number',
      arg: 'N',
      default: DEFAULT_MAX_PIXELS,
      defaultText: `${DEFAULT_MAX_PIXELS}, ${DEFAULT_MAX_PIXELS / 1e6} megapixels`,
      min: 1,
      integer: true,
      help: 'Refuse images of more than N pixels (width × height), read from the header before decoding',
    },
    out: {
      type: 'string',
      arg: 'DIR',
      default: 'predictions',
      help: 'Where segmentation and detection models write their images and JSON (created if missing)',
    },
    'min-score': { type: 'number', arg: 'S', default: 0.5, min: 0, max: 1, help: 'Detection models: keep detections scoring at least S' },
  },
  run: async ({ values, positionals }) => {
    const [spec, ...images] = positionals;
    if (!spec || images.length === 0) throw new UsageError('predict takes a spec and at least one image');
    if (values.weights === undefined) throw new UsageError('predict needs --weights DIR');
    return predictCommand({
      spec,
      weights: values.weights,
      images,
      maxPixels: values['max-pixels'],
      output: { folder: values.out, minScore: values['min-score'] },
    });
  },
});

interface PredictOptions {
  readonly spec: string;
  readonly weights: string;
  readonly images: readonly string[];
  /** Refuse images of more than this many pixels before decoding them. */
  readonly maxPixels: number;
  readonly output: DenseOutput;
}

interface Classifier {
  readonly model: tf.LayersModel;
  readonly classes: number;
  readonly names: readonly string[] | undefined;
  readonly transform: ImageTransform;
}

/**
 * Classifies images with a spec's model and a weights folder, printing each image's top five classes: the folder's
 * class names when it has them, ImageNet names for a 1000-class classifier, class indices otherwise. An image that
 * cannot be read or is too large does not stop the others: the command fails with all such errors once they are done.
 */
async function predictCommand(options: PredictOptions): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (graph.task) return predictTask(graph, graph.task, options);
  const classes = graph.ops.at(-1)?.kind === 'dense' && graph.outputs.length === 1 && graph.outputShapes[0]?.length === 1 ? graph.outputShapes[0][0]! : 0;
  const channels = graph.inputShape[2]!;
  if (classes === 0)
    throw new UserError(
      `predict needs a single-output classifier, or a segmentation (fcn, deeplabv3) or detection (retinanet) head; ${graph.name} has none of these`,
    );
  if (channels > 4)
    throw new UserError(`predict feeds images as grey (1 channel), grey and alpha (2), RGB (3) or RGBA (4); ${graph.name} takes ${channels} channels`);
  await initBackend();
  const classifier = await loadClassifier(graph, options.weights, classes);
  const failures = await eachImage(options.images, options.maxPixels, async (path, image) =>
    printTopClasses(classifier, path, prepareBatch([image], classifier.transform).input),
  );
  classifier.model.dispose();
  return finish(failures);
}

/**
 * Runs `use` on each image that can be read, going on past the user errors of an image (unreadable, too large, a
 * result that cannot be written) and returning them; anything else stops the command.
 */
async function eachImage(paths: readonly string[], maxPixels: number, use: (path: string, image: DecodedImage) => Promise<void> | void): Promise<UserError[]> {
  const failures: UserError[] = [];
  for (const path of paths) {
    try {
      await use(path, await readImage(path, maxPixels));
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      failures.push(error);
    }
  }
  return failures;
}

/** Success, or a UserErrors reporting every image that failed. */
function finish(failures: readonly UserError[]): number {
  if (failures.length > 0) throw new UserErrors(failures);
  return 0;
}

/**
 * The model with the folder's weights, and how to feed and name it: weights from `netspec train` carry the run's
 * normalisation and class names; other weights get ImageNet's normalisation and torchvision's crop margin.
 */
async function loadClassifier(graph: AnalyzedGraph, folder: string, classes: number): Promise<Classifier> {
  const read = await readUserWeights(folder);
  const { manifest } = read;
  const channels = graph.inputShape[2];
  const { input } = manifest;
  if (input && input.mean.length !== channels)
    throw new UserError(`${folder}/${MANIFEST_FILE} normalises ${input.mean.length} channels but ${graph.name} takes ${channels}`);
  if (manifest.classes && manifest.classes.length !== classes)
    throw new UserError(`${folder}/${MANIFEST_FILE} names ${manifest.classes.length} classes but ${graph.name} has ${classes}`);
  const model = await loadUserWeights(() => buildModel(graph), read);
  const names = manifest.classes ?? (classes === 1000 ? imagenetClasses() : undefined);
  return { model, classes, names, transform: imageTransformFor(graph, input) };
}

/** The decoded image; a file that cannot be read or decoded, or is too large, is a UserError naming it. */
async function readImage(path: string, maxPixels: number): Promise<DecodedImage> {
  const bytes = readBounded(path, MAX_IMAGE_FILE_BYTES);
  if (!(bytes instanceof Uint8Array)) {
    throw new UserError(
      `cannot read the image ${path}: ${bytes.kind === 'tooLarge' ? `the file is ${bytes.size}; image files are limited to ${MAX_IMAGE_FILE_BYTES} bytes` : bytes.reason}`,
    );
  }
  try {
    return await decodeImage(bytes, { maxPixels });
  } catch (error) {
    if (error instanceof ImageTooLargeError)
      throw new UserError(
        `${path} is ${error.width}×${error.height} = ${error.width * error.height} pixels, more than the limit of ${error.maxPixels}; --max-pixels raises it`,
      );
    if (error instanceof ImageFormatError) throw new UserError(`cannot read the image ${path}: ${error.message}`);
    throw error;
  }
}

async function printTopClasses({ model, classes, names }: Classifier, path: string, input: tf.Tensor4D): Promise<void> {
  const probabilities = tf.tidy(() => tf.softmax(model.predict(input) as tf.Tensor2D).squeeze([0]) as tf.Tensor1D);
  const { values, indices } = tf.topk(probabilities, Math.min(TOP, classes));
  const [p, i] = [await values.data(), await indices.data()];
  process.stdout.write(`${printable(path)}\n`);
  i.forEach((index, rank) =>
    process.stdout.write(`  ${rank + 1}. ${(100 * p[rank]!).toFixed(2).padStart(6)}%  ${printable(names?.[index] ?? `class ${index}`)}\n`),
  );
  tf.dispose([input, probabilities, values, indices]);
}

/**
 * Segments or detects objects in each image with a segmentation or detection model, writing the results under the
 * output folder. An image that cannot be read, or whose results cannot be written, does not stop the others: the
 * command fails with all such errors once they are done.
 */
async function predictTask(graph: AnalyzedGraph, task: Task, options: PredictOptions): Promise<number> {
  const channels = graph.inputShape[2]!;
  if (channels !== 1 && channels !== 3)
    throw new UserError(`predict feeds segmentation and detection models grey (1 channel) or RGB (3) images; ${graph.name} takes ${channels} channels`);
  // Every result's path is checked before the weights are read or any image decoded.
  checkResultFiles(task, options.output.folder, options.images);
  await initBackend();
  const read = await readUserWeights(options.weights);
  const { manifest } = read;
  if (manifest.classes && manifest.classes.length !== task.classes)
    throw new UserError(`${options.weights}/${MANIFEST_FILE} names ${manifest.classes.length} classes but ${graph.name} has ${task.classes}`);
  prepareOutputFolder(options.output.folder);
  const model = await loadUserWeights(() => buildModel(graph), read);
  const names = taskClassNames(task, manifest.classes);
  const config = task.kind === 'detection' ? detectionConfig(graph) : undefined;
  if (config && options.output.minScore < config.scoreThreshold) {
    process.stderr.write(
      `netspec: decoding drops detections scoring under ${config.scoreThreshold}, the spec's scoreThreshold; --min-score ${options.output.minScore} shows those from ${config.scoreThreshold} (lower scoreThreshold in the spec's head to see more)\n`,
    );
  }
  const failures = await eachImage(options.images, options.maxPixels, (path, image) => {
    const fitted = fitForModel(image, graph, manifest.input);
    try {
      if (config) detectImage(model, config, path, image, fitted, names, options.output);
      else segmentImage(model, graph, path, image, fitted, names, options.output);
    } finally {
      fitted.input.dispose();
    }
  });
  model.dispose();
  return finish(failures);
}
