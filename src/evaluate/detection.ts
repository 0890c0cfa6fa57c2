// A detector scored on a dataset as pycocotools scores it (and, on VOC data, as the VOC devkit does): every image
// through the model in batches, its detections decoded in its own pixels and named by the dataset's category ids,
// and fed to the evaluators with its ground truth, one image at a time.
import type { CategoryMapping } from '../data/categories.js';
import type { DetectionDataset, DetectionObjects, DetectionSample } from '../data/dataset.js';
import { CocoBoxEvaluator, type CocoAnnotation, type CocoDetection } from '../metrics/coco-evaluator.js';
import { summarizeCoco } from '../metrics/coco-summary.js';
import { MetricsInputError } from '../metrics/input-error.js';
import type { CocoEvaluation } from '../metrics/coco.js';
import { evaluateVoc, type VocDetection, type VocEvaluation, type VocObject } from '../metrics/voc.js';
import type { ImageTransform } from '../runtime/images/pipeline.js';
import { decodeBatch, type DetectionConfig, type Detections } from '../runtime/tasks/detection.js';
import type { ProgressLine } from '../terminal/progress.js';
import { imageOutput, runDataset } from './batches.js';
import type { ModelRunner } from './runner.js';

export interface DetectionScores {
  readonly coco: CocoEvaluation;
  /** VOC's mAP@0.5, on VOC data (where `difficult` objects are marked). */
  readonly voc?: VocEvaluation;
  readonly images: number;
}

export interface DetectionRun {
  /** How a batch of the given input size decodes: one config for a fixed size, the levels' own for an open one. */
  readonly configAt: (size: readonly [height: number, width: number]) => DetectionConfig;
  readonly transform: ImageTransform;
  readonly mapping: CategoryMapping;
  readonly batch: number;
  readonly limit?: number;
  /** Scores VOC's mAP too. */
  readonly voc: boolean;
  readonly progress?: ProgressLine;
  /** Hears every image's detections in COCO's results form, for a results file. */
  readonly onDetections?: (detections: readonly CocoDetection[]) => void;
}

/** Scores the runner's model on the dataset. */
export async function scoreDetections(dataset: DetectionDataset, runner: ModelRunner, run: DetectionRun): Promise<DetectionScores> {
  const coco = new CocoBoxEvaluator(run.mapping.categories.map((c) => c.id));
  const vocObjects: VocObject[] = [];
  const vocDetections: VocDetection[] = [];
  const names = new Map(run.mapping.categories.map((c) => [c.id, c.name]));
  const total = Math.min(dataset.length, run.limit ?? dataset.length);
  let done = 0;
  for await (const { images, outputs, size } of runDataset(dataset, runner, run.transform, run)) {
    const config = run.configAt(size);
    images.forEach((image, i) => {
      const [decoded] = decodeBatch(imageOutput(outputs.get('cls_logits')!, i), imageOutput(outputs.get('bbox_regression')!, i), config, [image.placement]);
      const detections = cocoDetections(image.sample, decoded!, run.mapping);
      coco.addImage(image.sample.image.id, groundTruth(image.sample), detections);
      run.onDetections?.(detections);
      if (run.voc) {
        vocObjects.push(...vocObjectsOf(image.sample, names));
        vocDetections.push(
          ...detections.map((d) => ({ imageId: String(d.image_id), className: names.get(d.category_id)!, box: vocBox(d.bbox), score: d.score })),
        );
      }
    });
    done += images.length;
    run.progress?.update(done, total);
  }
  run.progress?.end();
  const accumulation = coco.accumulate();
  const evaluation: CocoEvaluation = { ...summarizeCoco(accumulation), accumulation, names };
  const voc = run.voc
    ? evaluateVoc(
        vocObjects,
        vocDetections,
        run.mapping.categories.map((c) => c.name),
      )
    : undefined;
  return { coco: evaluation, voc, images: done };
}

/** An image's decoded detections as COCO results: boxes [x, y, width, height], outputs no category uses left out. */
function cocoDetections(sample: DetectionSample, detections: Detections, mapping: CategoryMapping): CocoDetection[] {
  const results: CocoDetection[] = [];
  detections.scores.forEach((score, i) => {
    const category = mapping.categoryOf(detections.labels[i]!);
    if (category === undefined) return;
    const [x1, y1, x2, y2] = detections.boxes.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
    results.push({ image_id: sample.image.id, category_id: category.id, bbox: [x1, y1, x2 - x1, y2 - y1], score });
  });
  return results;
}

/** An image's objects as COCO annotations. */
function groundTruth(sample: Pick<DetectionSample, 'image' | 'objects'>): CocoAnnotation[] {
  const { objects } = sample;
  return Array.from({ length: objects.count }, (_, i) => ({
    id: objects.annotationIds[i]!,
    image_id: sample.image.id,
    category_id: objects.categoryIds[i]!,
    bbox: [...objects.boxes.subarray(4 * i, 4 * i + 4)],
    area: objects.areas[i]!,
    iscrowd: objects.crowd[i]!,
  }));
}

function vocObjectsOf(sample: DetectionSample, names: ReadonlyMap<number, string>): VocObject[] {
  const objects: DetectionObjects = sample.objects;
  return Array.from({ length: objects.count }, (_, i) => ({
    imageId: String(sample.image.id),
    className: names.get(objects.categoryIds[i]!)!,
    box: vocBox([...objects.boxes.subarray(4 * i, 4 * i + 4)]),
    difficult: objects.difficult[i] === 1,
  }));
}

/**
 * A box [x, y, width, height] in VOC's 1-based inclusive corners: (x + 1, y + 1, x + width, y + height), the
 * inverse of how VOC's annotations were read, for ground truth and detections alike.
 */
function vocBox([x, y, width, height]: readonly number[]): readonly number[] {
  return [x! + 1, y! + 1, x! + width!, y! + height!];
}

/**
 * Scores a COCO results list against the dataset, as pycocotools' loadRes and COCOeval do: every image of the
 * dataset is evaluated, with the results naming it; a result naming an image the dataset lacks is refused.
 */
export function scoreDetectionResults(dataset: DetectionDataset, results: readonly CocoDetection[]): CocoEvaluation {
  const coco = new CocoBoxEvaluator(dataset.categories.map((c) => c.id));
  const byImage = new Map<number, CocoDetection[]>();
  results.forEach((result, i) => {
    if (dataset.indexOfImageId(result.image_id) === undefined)
      throw new MetricsInputError(`result ${i + 1}: image_id ${String(result.image_id)} is not an image of ${dataset.source}`);
    const list = byImage.get(result.image_id);
    if (list) list.push(result);
    else byImage.set(result.image_id, [result]);
  });
  for (let index = 0; index < dataset.length; index++) {
    const image = dataset.image(index);
    coco.addImage(image.id, groundTruth({ image, objects: dataset.objects(index) }), byImage.get(image.id) ?? []);
  }
  const accumulation = coco.accumulate();
  return { ...summarizeCoco(accumulation), accumulation, names: new Map(dataset.categories.map((c) => [c.id, c.name])) };
}
