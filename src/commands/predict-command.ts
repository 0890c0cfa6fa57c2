import { readFileSync } from 'node:fs';
import { detectionConfig } from '../emit/detection-constant.js';
import type { BatchOutput, RuntimeChoice } from '../evaluate/runner.js';
import { UserError, UserErrors } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { Task } from '../ir/graph.js';
import { printable } from '../files/display-path.js';
import { readBounded } from '../files/read-bounded.js';
import { decodeImage } from '../runtime/images/decode.js';
import { DEFAULT_MAX_PIXELS, ImageFormatError, ImageTooLargeError } from '../runtime/images/header.js';
import { batchTransform, imageTransformFor, prepareImage, withAskedSizes, type AskedSizes, type Placement } from '../runtime/images/pipeline.js';
import type { DecodedImage } from '../runtime/images/pixels.js';
import { topClasses } from '../runtime/tasks/classification.js';
import { MANIFEST_FILE, type WeightsFolderManifest } from '../runtime/weights/folder.js';
import { defineCommand, UsageError } from './command-line.js';
import { checkResultFiles, detectImage, prepareOutputFolder, segmentImage, taskClassNames, type DenseOutput } from './predict-dense.js';
import { graphToRun, ONE_SIZE_OPTION } from './input-size.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { openModel } from './run-model.js';
import { askedSizes, imageProgress, RUNTIME_OPTION, SIZE_OPTIONS } from './run-options.js';
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
  // --runtime is left to the option list, as eval leaves it, to keep the usage line short.
  forms: [{ args: '<spec.json>', options: ['weights', 'max-pixels', 'out', 'min-score'], after: '<image>...' }],
  description: `Builds the spec's model, loads a weights folder written by 'netspec weights import' or 'netspec train', and
classifies each JPEG or PNG image. Prints the top ${TOP} classes with their probabilities: the folder's class names
when it has them ('netspec train' saves its dataset's), ImageNet class names for a 1000-class classifier,
class indices otherwise.

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

The model runs on onnxruntime, the fp32 ONNX graph of the same weights built in memory, when onnxruntime-node is
installed, else on TensorFlow.js (--runtime chooses; both give the same figures within float rounding). A line on
standard error says which runs, and a run that lasts more than two seconds shows the images done and the time
left there.

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
    runtime: RUNTIME_OPTION,
    ...SIZE_OPTIONS,
    ...ONE_SIZE_OPTION,
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
      runtime: values.runtime,
      sizes: { minSize: values['min-size'], maxSize: values['max-size'] },
      size: values.size,
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
  readonly runtime: RuntimeChoice;
  /** `--min-size` and `--max-size`, for an open-size detector or segmenter. */
  readonly sizes: AskedSizes;
  /** `--size HxW`: an open-size spec at one size. */
  readonly size: string | undefined;
  readonly output: DenseOutput;
}

/** What predict makes of one image's outputs: a classifier's top classes, a segmenter's mask, a detector's boxes. */
type ShowResult = (path: string, image: DecodedImage, placement: Placement, outputs: ReadonlyMap<string, BatchOutput>, size: readonly [number, number]) => void;

/**
 * Classifies, segments or detects objects in each image with a spec's model and a weights folder, on the engine
 * chosen. An image that cannot be read or is too large, or whose results cannot be written, does not stop the
 * others: the command fails with all such errors once they are done.
 */
async function predictCommand(options: PredictOptions): Promise<number> {
  const graph = graphToRun(analyzeSpecFile(options.spec, 'inference'), options.size, options.sizes, 'predict of a classifier');
  const classes = predictedClasses(graph);
  const asked = askedSizes(graph, options.sizes.minSize, options.sizes.maxSize);
  // Every result's path is checked before the weights are read or any image decoded.
  if (graph.task) checkResultFiles(graph.task, options.output.folder, options.images);
  const folder = await readUserWeights(options.weights);
  checkManifest(graph, folder.manifest, options.weights, classes);
  const show = graph.task ? taskResults(graph, graph.task, folder.manifest.classes, options.output) : classifierResults(classes, folder.manifest.classes);
  const transform = withAskedSizes(imageTransformFor(graph, folder.manifest.input), graph, asked);
  const runner = await openModel(graph, folder, options.runtime);
  try {
    const failures = await eachImage(options.images, options.maxPixels, async (path, image) => {
      // An open-size detector or segmenter takes each image at its natural size.
      const fitted = batchTransform(transform, [image]);
      const { data, placement } = prepareImage(image, fitted);
      const size = [fitted.height, fitted.width] as const;
      const outputs = await runner.run(data, 1, size);
      return () => show(path, image, placement, outputs, size);
    });
    if (failures.length > 0) throw new UserErrors(failures);
    return 0;
  } finally {
    runner.dispose();
  }
}

/** The classes the model tells apart; a model predict cannot feed or read is a UserError. */
function predictedClasses(graph: AnalyzedGraph): number {
  const channels = graph.inputShape[2]!;
  if (graph.task) {
    if (channels !== 1 && channels !== 3)
      throw new UserError(`predict feeds segmentation and detection models grey (1 channel) or RGB (3) images; ${graph.name} takes ${channels} channels`);
    return graph.task.classes;
  }
  const classes = graph.ops.at(-1)?.kind === 'dense' && graph.outputs.length === 1 && graph.outputShapes[0]?.length === 1 ? graph.outputShapes[0][0]! : 0;
  if (classes === 0)
    throw new UserError(
      `predict needs a single-output classifier, or a segmentation (fcn, deeplabv3) or detection (retinanet) head; ${graph.name} has none of these`,
    );
  if (channels > 4)
    throw new UserError(`predict feeds images as grey (1 channel), grey and alpha (2), RGB (3) or RGBA (4); ${graph.name} takes ${channels} channels`);
  return classes;
}

/** A normalisation or class list saved with the weights must fit the model: weights from `netspec train` carry both. */
function checkManifest(graph: AnalyzedGraph, manifest: WeightsFolderManifest, folder: string, classes: number): void {
  const channels = graph.inputShape[2];
  const { input } = manifest;
  if (input && input.mean.length !== channels)
    throw new UserError(`${folder}/${MANIFEST_FILE} normalises ${input.mean.length} channels but ${graph.name} takes ${channels}`);
  if (manifest.classes && manifest.classes.length !== classes)
    throw new UserError(`${folder}/${MANIFEST_FILE} names ${manifest.classes.length} classes but ${graph.name} has ${classes}`);
}

/**
 * Runs `use` on each image that can be read and shows what it returns, going on past the user errors of an image
 * (unreadable, too large, a result that cannot be written) and returning them; anything else stops the command.
 * Progress shows once the run has lasted a moment, erased while a result is printed.
 */
async function eachImage(paths: readonly string[], maxPixels: number, use: (path: string, image: DecodedImage) => Promise<() => void>): Promise<UserError[]> {
  const failures: UserError[] = [];
  const progress = imageProgress('predict');
  for (const [index, path] of paths.entries()) {
    try {
      const show = await use(path, await readImage(path, maxPixels));
      progress.clear();
      show();
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      failures.push(error);
    }
    progress.update(index + 1, paths.length);
  }
  progress.end();
  return failures;
}

/** Prints each image's top five classes: the folder's class names, ImageNet names for 1000 classes, else indices. */
function classifierResults(classes: number, saved: readonly string[] | undefined): ShowResult {
  const names = saved ?? (classes === 1000 ? imagenetClasses() : undefined);
  return (path, _image, _placement, outputs) => {
    const [logits] = outputs.values();
    process.stdout.write(`${printable(path)}\n`);
    topClasses(logits!.data, Math.min(TOP, classes)).forEach(({ index, probability }, rank) =>
      process.stdout.write(`  ${rank + 1}. ${(100 * probability).toFixed(2).padStart(6)}%  ${printable(names?.[index] ?? `class ${index}`)}\n`),
    );
  };
}

/** Writes each image's mask or detections under the output folder, made now; says when --min-score cannot show more. */
function taskResults(graph: AnalyzedGraph, task: Task, saved: readonly string[] | undefined, output: DenseOutput): ShowResult {
  prepareOutputFolder(output.folder);
  const names = taskClassNames(task, saved);
  if (task.kind !== 'detection') return (path, image, placement, outputs) => segmentImage(outputs, path, image, placement, names, output);
  const config = detectionConfig(graph, graph.sizes ? [graph.sizes.maximum, graph.sizes.maximum] : undefined);
  if (output.minScore < config.scoreThreshold) {
    process.stderr.write(
      `netspec: decoding drops detections scoring under ${config.scoreThreshold}, the spec's scoreThreshold; --min-score ${output.minScore} shows those from ${config.scoreThreshold} (lower scoreThreshold in the spec's head to see more)\n`,
    );
  }
  return (path, image, placement, outputs, size) =>
    detectImage(outputs, graph.sizes ? detectionConfig(graph, size) : config, path, image, placement, names, output);
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
