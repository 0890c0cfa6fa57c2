// `netspec eval` of a detector or a segmenter on COCO, VOC or mask-folder data: the model runs every image (on
// onnxruntime when it is installed), and the figures are pycocotools' (and VOC's) or torchvision's reference's.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { annotatedSourceName, openDetectionSource, openSegmentationSource, type AnnotatedSource } from '../data/annotated-source.js';
import { categoryMapping, restoreCategoryMapping } from '../data/categories.js';
import type { SegmentationSample } from '../data/dataset.js';
import { encodeMaskPng, vocPalette } from '../data/mask-png.js';
import { detectionConfig } from '../emit/detection-constant.js';
import { UserError } from '../errors/user-error.js';
import { displayPath } from '../files/display-path.js';
import { describeFsError, isSystemError } from '../files/fs-errors.js';
import { writeAtomically } from '../files/atomic-write.js';
import { PRODUCER } from '../files/output-guard.js';
import { scoreDetections } from '../evaluate/detection.js';
import type { ModelRunner, RuntimeChoice } from '../evaluate/runner.js';
import { scoreSegmentation } from '../evaluate/segmentation.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { CocoDetection } from '../metrics/coco-evaluator.js';
import { cocoJson, formatCocoCategories, formatCocoStats } from '../metrics/coco-format.js';
import { precisionRecallSvg, segmentationIouSvg } from '../metrics/charts.js';
import { formatSegmentation, segmentationFigures, segmentationJson } from '../metrics/segmentation.js';
import { formatVoc, vocJson } from '../metrics/voc.js';
import { imageTransformFor, withAskedSizes, type AskedSizes } from '../runtime/images/pipeline.js';
import type { ClassMask } from '../runtime/tasks/segmentation.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { taskClassNames } from './predict-dense.js';
import { imageProgress } from './run-options.js';
import { openModel } from './run-model.js';
import { readUserWeights } from './user-weights.js';

export interface DenseEvalOptions {
  readonly graph: AnalyzedGraph;
  readonly weights: string;
  readonly source: AnnotatedSource;
  readonly split: string | undefined;
  readonly runtime: RuntimeChoice;
  /** `--min-size` and `--max-size`, for an open-size model. */
  readonly sizes: AskedSizes;
  readonly batch: number;
  readonly limit: number | undefined;
  readonly maxPixels: number;
  readonly json: boolean;
  readonly svg: string | undefined;
  /** Detection: write COCO's results JSON here. */
  readonly detections: string | undefined;
  /** Segmentation: write each image's predicted mask as a palette PNG into this folder. */
  readonly masks: string | undefined;
}

/** Opens the weights and the engine, runs the task's evaluation, prints and writes what was asked. */
export async function evalDense(options: DenseEvalOptions): Promise<number> {
  const { graph } = options;
  const task = graph.task!;
  const name = annotatedSourceName(options.source);
  const open = { split: options.split, maxPixels: options.maxPixels };
  // Data and outputs are checked before seconds of loading a model.
  const dataset = task.kind === 'detection' ? openDetectionSource(options.source, open) : openSegmentationSource(options.source, open);
  for (const warning of dataset.warnings) process.stderr.write(`netspec: ${warning}\n`);
  const folder = await readUserWeights(options.weights);
  const runner = await openModel(graph, folder, options.runtime);
  try {
    return dataset.task === 'detection' ? await detection(options, dataset, runner, folder, name) : await segmentation(options, dataset, runner, folder, name);
  } finally {
    runner.dispose();
  }
}

async function detection(
  options: DenseEvalOptions,
  dataset: ReturnType<typeof openDetectionSource>,
  runner: ModelRunner,
  folder: WeightsFolder,
  name: string,
): Promise<number> {
  const { graph } = options;
  // A head trained by netspec names its outputs' categories; torchvision's are matched to the dataset's ids.
  const saved = folder.manifest.categories;
  const mapping = saved ? restoreCategoryMapping(saved, join(options.weights, 'model.json')) : categoryMapping(dataset.categories, graph.task!.classes, name);
  const results: CocoDetection[] = [];
  const scores = await scoreDetections(dataset, runner, {
    configAt: (size: readonly [number, number]) => detectionConfig(graph, graph.sizes ? size : undefined),
    transform: withAskedSizes(imageTransformFor(graph, folder.manifest.input), graph, options.sizes),
    mapping,
    batch: options.batch,
    limit: options.limit,
    voc: options.source.kind === 'voc',
    progress: imageProgress('eval'),
    onDetections: options.detections === undefined ? undefined : (found) => results.push(...found),
  });
  const title = `${graph.name} on ${name}: ${scores.images} images, ${runner.engine}`;
  if (options.detections !== undefined) writeAtomically(options.detections, `${JSON.stringify(results)}\n`, 'unmarked');
  if (options.svg !== undefined) writeAtomically(options.svg, precisionRecallSvg(scores.coco, title), 'generated-text');
  if (options.json) {
    const report = {
      producer: PRODUCER,
      model: graph.name,
      data: name,
      engine: runner.engine,
      images: scores.images,
      coco: cocoJson(scores.coco),
      ...(scores.voc ? { voc: vocJson(scores.voc) } : {}),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${title}\n${formatCocoStats(scores.coco.stats)}\n\n${formatCocoCategories(scores.coco)}\n`);
    if (scores.voc) process.stdout.write(`\nPascal VOC mAP@0.5 (difficult objects ignored):\n${formatVoc(scores.voc)}\n`);
  }
  return 0;
}

async function segmentation(
  options: DenseEvalOptions,
  dataset: ReturnType<typeof openSegmentationSource>,
  runner: ModelRunner,
  folder: WeightsFolder,
  name: string,
): Promise<number> {
  const { graph } = options;
  const classes = graph.task!.classes;
  const namesOf = taskClassNames(graph.task!, folder.manifest.classes ?? dataset.classNames);
  const masks = options.masks === undefined ? undefined : maskWriter(options.masks);
  const { matrix, images } = await scoreSegmentation(dataset, runner, {
    classes,
    transform: withAskedSizes(imageTransformFor(graph, folder.manifest.input), graph, options.sizes),
    batch: options.batch,
    limit: options.limit,
    progress: imageProgress('eval'),
    onMask: masks,
  });
  const figures = segmentationFigures(matrix);
  const names = Array.from({ length: classes }, (_, label) => namesOf(label));
  const title = `${graph.name} on ${name}: ${images} images, ${runner.engine}`;
  if (options.svg !== undefined) writeAtomically(options.svg, segmentationIouSvg(figures, names, title), 'generated-text');
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ producer: PRODUCER, model: graph.name, data: name, engine: runner.engine, images, classNames: names, ...segmentationJson(figures, matrix) }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`${title}\n${formatSegmentation(figures)}\n`);
  }
  return 0;
}

const PALETTE = vocPalette();

/**
 * Writes each predicted mask as `<image name>.png` (palette PNG of class indices, VOC's colours) into a folder made
 * for them: one that exists must be empty, and no file is ever replaced.
 */
function maskWriter(folder: string): (sample: SegmentationSample, mask: ClassMask) => void {
  return (sample, mask) => {
    const path = join(folder, `${sample.image.name}.png`);
    const bytes = encodeMaskPng({ width: mask.width, height: mask.height, classes: Uint8Array.from(mask.classes) }, PALETTE);
    try {
      mkdirSync(folder, { recursive: true });
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, bytes);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if (!isSystemError(error)) throw error;
      throw new UserError(`cannot write ${displayPath(path)}: ${describeFsError(error)}${error.code === 'EEXIST' ? '; eval never replaces a mask' : ''}`);
    }
  };
}
