/**
 * COCO box evaluation exactly as pycocotools' `COCOeval(gt, gt.loadRes(results), 'bbox')` computes it:
 * `evaluate()`, `accumulate()`, `summarize()`, on data already in memory. What loadRes does is done here too:
 * a detection's area is its box's width × height and its id follows its place in the results (ids only decide
 * ties, by that order); ground truth keeps the `area` it is given; a detection on an image the ground truth lacks
 * is refused, as loadRes refuses it.
 */
import { CocoBoxEvaluator, type CocoAccumulation, type CocoAnnotation, type CocoDetection } from './coco-evaluator.js';
import { summarizeCoco, type CocoSummary } from './coco-summary.js';
import { MetricsInputError } from './input-error.js';

export interface CocoImage {
  readonly id: number;
  readonly width?: number;
  readonly height?: number;
  readonly file_name?: string;
}

export interface CocoCategory {
  readonly id: number;
  readonly name?: string;
}

/** COCO's instances JSON: the parts box evaluation reads. */
export interface CocoGroundTruth {
  readonly images: readonly CocoImage[];
  readonly annotations: readonly CocoAnnotation[];
  readonly categories: readonly CocoCategory[];
}

export interface CocoEvaluation extends CocoSummary {
  readonly accumulation: CocoAccumulation;
  /** Category names by id, where the ground truth gives them. */
  readonly names: ReadonlyMap<number, string>;
}

/** Scores `detections` (a COCO results list) against `groundTruth`. */
export function evaluateCoco(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[]): CocoEvaluation {
  const evaluator = new CocoBoxEvaluator(groundTruth.categories.map((c) => c.id));
  const imageIds = new Set(groundTruth.images.map((image) => image.id));
  const truths = groupByImage(groundTruth.annotations.filter((a) => imageIds.has(a.image_id)));
  detections.forEach((detection, i) => {
    if (!imageIds.has(detection.image_id))
      throw new MetricsInputError(`detection ${i + 1}: image_id ${String(detection.image_id)} is not an image of the ground truth`);
  });
  const found = groupByImage(detections);
  for (const imageId of imageIds) evaluator.addImage(imageId, truths.get(imageId) ?? [], found.get(imageId) ?? []);
  const accumulation = evaluator.accumulate();
  const names = new Map(groundTruth.categories.filter((c) => c.name !== undefined).map((c) => [c.id, c.name!]));
  return { ...summarizeCoco(accumulation), accumulation, names };
}

function groupByImage<T extends { readonly image_id: number }>(records: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const record of records) {
    const group = groups.get(record.image_id);
    if (group) group.push(record);
    else groups.set(record.image_id, [record]);
  }
  return groups;
}
