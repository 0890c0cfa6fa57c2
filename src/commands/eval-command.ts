import { readdirSync } from 'node:fs';
import { displayPath } from '../files/display-path.js';
import { UserError } from '../errors/user-error.js';
import { assertWritable } from '../files/output-guard.js';
import { DEFAULT_MAX_PIXELS } from '../runtime/images/header.js';
import { defineCommand, UsageError } from './command-line.js';
import { evalResults } from './eval-results.js';
import { DATA_SOURCE_ARG, DATA_SOURCES, parseDataSource, type DataSource } from './data-source.js';
import { graphToRun, ONE_SIZE_OPTION } from './input-size.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { askedSizes, RUNTIME_OPTION, SIZE_OPTIONS } from './run-options.js';

/** Images a batch: four of a detector's or segmenter's large inputs, more of a classifier's small ones. */
const DENSE_BATCH = 4;
const CLASSIFIER_BATCH = 32;

export const command = defineCommand({
  name: 'eval',
  summary: "Score a spec's model with a weights folder on labelled data — accuracy, COCO's AP/AR, VOC's mAP, mIoU — or score a results file",
  forms: [
    { args: '<spec.json>', options: ['weights', 'data'], after: '[options]' },
    { args: '', options: ['data', 'results'], after: '[options]' },
  ],
  description: `Runs the model in inference mode on every image of a labelled set and prints how good it is.

Classifiers: the accuracy, each class's accuracy (the share of its images classified as it) and the confusion
matrix (rows the true classes, columns the predicted ones). The set is the test split of fashion-mnist or of a
CIFAR folder, or an image folder's val/ (or test/) folder, else the whole folder. The set's classes are matched to
the weights' class names by name; without names, by count and order.

Detectors (--data coco:ANNOTATIONS.json[:IMAGES_DIR] or voc:DIR): COCO's twelve AP and AR figures, computed
exactly as pycocotools' COCOeval (iouType 'bbox') computes them, then AP and AP50 per category; on VOC data also
VOC's mAP@0.5 (all-point interpolation, difficult objects ignored). Boxes are scored in each image's own pixels
and categories by the dataset's own ids (a head of torchvision's 91 COCO classes maps by identity, others take
the dataset's categories in order of id). --detections FILE writes the detections as a COCO results file.

Segmenters (--data voc:DIR or masks:DIR): global pixel accuracy, per-class accuracy and IoU, and mean IoU, from a
confusion matrix counted at each label's own resolution as torchvision's reference counts it (255 ignored).
--masks DIR writes each predicted mask as a palette PNG.

Without a spec: --results scores what another run or tool predicted, a COCO results file against coco: ground
truth, or a folder of masks (<image name>.png) against voc: or masks: labels.

Images are prepared as the weights folder says (the normalisation 'netspec train' saved), else with ImageNet's
normalisation, a 224/256 centre crop for classifiers and a letterbox for detectors and segmenters.

The model runs on onnxruntime, the fp32 ONNX graph of the same weights built in memory, when onnxruntime-node is
installed, else on TensorFlow.js (--runtime chooses; both give the same figures within float rounding). A line on
standard error says which runs; --json gives it as "engine". A run that lasts more than two seconds shows
the images done and the time left on standard error. --json prints the figures as JSON and --svg draws them (the
confusion matrix, precision-recall curves, or per-class IoU).`,
  options: {
    weights: { type: 'string', arg: 'DIR', help: 'The weights folder' },
    data: { type: 'string', arg: DATA_SOURCE_ARG, required: true, help: `The labelled data: ${DATA_SOURCES}` },
    results: { type: 'string', arg: 'FILE|DIR', help: 'Score this COCO results file or folder of masks instead of running a model' },
    split: { type: 'string', arg: 'NAME', help: 'voc: and masks: data: the split to score (VOC: ImageSets/…/NAME.txt)' },
    runtime: RUNTIME_OPTION,
    ...SIZE_OPTIONS,
    ...ONE_SIZE_OPTION,
    batch: {
      type: 'number',
      arg: 'N',
      min: 1,
      max: 256,
      integer: true,
      defaultText: `${DENSE_BATCH} for detectors and segmenters, ${CLASSIFIER_BATCH} for classifiers`,
      help: 'Images run at once',
    },
    limit: { type: 'number', arg: 'N', min: 1, integer: true, help: 'Score only the first N images' },
    json: { type: 'boolean', help: 'Print the figures as JSON' },
    svg: { type: 'string', arg: 'FILE', help: 'Also draw the figures as an SVG picture' },
    detections: {
      type: 'string',
      arg: 'FILE',
      help: "Detectors: write the detections as COCO's results JSON (dataset image and category ids, boxes in image pixels)",
    },
    masks: { type: 'string', arg: 'DIR', help: 'Segmenters: write each predicted mask into DIR as <image name>.png' },
    strict: { type: 'boolean', help: 'Image folders: refuse an image that cannot be decoded instead of skipping it' },
    'max-pixels': {
      type: 'number',
      arg: 'N',
      default: DEFAULT_MAX_PIXELS,
      min: 1,
      integer: true,
      help: 'Skip (image folders; under --strict refuse) or refuse images of more than N pixels',
    },
  },
  run: async ({ values, positionals }) => {
    const data = parseDataSource(values.data, 'eval');
    if (values.results !== undefined) return resultsCommand(values, positionals, data);
    if (positionals.length !== 1) throw new UsageError(`eval takes exactly one spec file, got ${positionals.length} (or --results to score a results file)`);
    if (values.weights === undefined) throw new UsageError('eval needs --weights DIR');
    const outputs: { path: string; kind: 'generated-text' | 'unmarked' }[] = [
      values.svg && { path: values.svg, kind: 'generated-text' as const },
      values.detections && { path: values.detections, kind: 'unmarked' as const },
    ].filter((o) => typeof o === 'object');
    assertWritable(outputs);
    if (values.masks !== undefined) assertEmptyFolder(values.masks);
    const asked = { minSize: values['min-size'], maxSize: values['max-size'] };
    const graph = graphToRun(analyzeSpecFile(positionals[0]!, 'inference'), values.size, asked, 'eval of a classifier');
    const sizes = askedSizes(graph, asked.minSize, asked.maxSize);
    // The modules that run a model load only to run one: tfjs takes most of a second to load, and a usage error or a
    // results file needs none of it.
    if (graph.task !== undefined) {
      if (data.kind !== 'annotated') throw new UsageError(`${graph.name} is a ${graph.task.kind} model; eval scores it on coco:, voc: or masks: data`);
      if (values.detections !== undefined && graph.task.kind !== 'detection') throw new UsageError('--detections applies to detection models');
      if (values.masks !== undefined && graph.task.kind !== 'segmentation') throw new UsageError('--masks applies to segmentation models');
      const { weights, split, runtime, limit, json, svg, detections, masks } = values;
      const { evalDense } = await import('./eval-dense.js');
      const batch = values.batch ?? DENSE_BATCH;
      return evalDense({
        graph,
        weights,
        source: data.source,
        split,
        runtime,
        sizes,
        batch,
        limit,
        maxPixels: values['max-pixels'],
        json,
        svg,
        detections,
        masks,
      });
    }
    if (values.detections !== undefined || values.masks !== undefined)
      throw new UsageError(`--detections and --masks apply to detection and segmentation models; ${graph.name} is a classifier`);
    const { evalCommand } = await import('./eval-classifier.js');
    const { weights, runtime, limit, json, svg, strict } = values;
    return evalCommand({ graph, weights, data, runtime, batch: values.batch ?? CLASSIFIER_BATCH, limit, json, svg, strict, maxPixels: values['max-pixels'] });
  },
});

/** `eval --data … --results …`: no spec, no weights, no model options. */
function resultsCommand(
  values: {
    readonly weights?: string;
    readonly split?: string;
    readonly results?: string;
    readonly json: boolean;
    readonly svg?: string;
    readonly detections?: string;
    readonly masks?: string;
  },
  positionals: readonly string[],
  data: DataSource,
): Promise<number> {
  if (positionals.length > 0 || values.weights !== undefined)
    throw new UsageError('eval --results scores a results file without a spec or weights; leave them out');
  if (values.detections !== undefined || values.masks !== undefined)
    throw new UsageError('--detections and --masks are written when a model runs, not with --results');
  if (data.kind !== 'annotated') throw new UsageError('eval --results scores against coco:, voc: or masks: data');
  if (values.svg !== undefined) assertWritable([{ path: values.svg, kind: 'generated-text' }]);
  return evalResults({ source: data.source, split: values.split, results: values.results!, json: values.json, svg: values.svg });
}

/** A folder that --masks may fill: absent (it is made) or empty, so that no file of the user's is ever among the masks. */
function assertEmptyFolder(folder: string): void {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UserError(`--masks ${displayPath(folder)} is a file; it takes a folder for the masks`);
    throw error;
  }
  if (entries.length > 0)
    throw new UserError(
      `--masks ${displayPath(folder)} holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} already; give an empty or new folder`,
    );
}
