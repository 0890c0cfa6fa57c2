/**
 * COCOeval for boxes, fed one image at a time so that a dataset is never held whole: `addImage` runs evaluateImg
 * for the image's categories and keeps only scores and outcomes; `accumulate` then builds pycocotools' precision
 * and recall arrays. Images may come in any order: accumulation takes them by ascending id, as pycocotools does.
 */
import { accumulateCategory, type EvaluatedImages } from './coco-accumulate.js';
import { evaluateImageCategory, type DetectionBox, type GroundTruthBox } from './coco-image.js';
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETECTIONS, RECALL_THRESHOLDS } from './coco-params.js';
import { MetricsInputError, requireFinite } from './input-error.js';

/** A ground-truth annotation as COCO's JSON has it (segmentation and other fields are not needed). */
export interface CocoAnnotation {
  readonly id: number;
  readonly image_id: number;
  readonly category_id: number;
  /** [x, y, width, height] in pixels. */
  readonly bbox: readonly number[];
  /** Decides the size range; taken as given, as pycocotools takes it. */
  readonly area: number;
  /** 1 (or true) for a crowd region. */
  readonly iscrowd?: number | boolean;
}

/** One detection as COCO's results JSON has it. */
export interface CocoDetection {
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: readonly number[];
  readonly score: number;
}

/** pycocotools' accumulated arrays, flattened in numpy's C order. */
export interface CocoAccumulation {
  /** The evaluated categories, ascending: index k of the arrays. */
  readonly categoryIds: readonly number[];
  /** precision[t][r][k][a][m] (T × R × K × A × M); −1 where the category has no ground truth in the area range. */
  readonly precision: Float64Array;
  /** recall[t][k][a][m] (T × K × A × M); −1 likewise. */
  readonly recall: Float64Array;
}

const THRESHOLDS = IOU_THRESHOLDS.length;
const AREAS = AREA_RANGES.length;
const MAX_DETS = MAX_DETECTIONS[MAX_DETECTIONS.length - 1]!;

/** A category's evaluated images, in the order they were added. */
class CategoryRecord implements EvaluatedImages {
  readonly imageIds: number[] = [];
  /** Per image: where its detections start, then how many. */
  readonly starts: number[] = [];
  readonly counts: number[] = [];
  /** Per image and area range: ground truth not ignored. */
  positives = new Int32Array(16);
  scores = new Float64Array(64);
  /** Per detection AREAS × THRESHOLDS outcomes. */
  outcomes = new Uint8Array(64 * AREAS * THRESHOLDS);
  detections = 0;

  add(imageId: number, truths: readonly GroundTruthBox[], detections: readonly DetectionBox[]): void {
    const image = this.imageIds.length;
    this.reserve(image + 1, this.detections + detections.length);
    this.imageIds.push(imageId);
    this.starts.push(this.detections);
    this.counts.push(detections.length);
    detections.forEach((d, i) => (this.scores[this.detections + i] = d.score));
    const positives = this.positives.subarray(image * AREAS, (image + 1) * AREAS);
    evaluateImageCategory(truths, detections, { outcomes: this.outcomes, offset: this.detections * AREAS * THRESHOLDS, positives });
    this.detections += detections.length;
  }

  private reserve(images: number, detections: number): void {
    this.positives = grown(this.positives, images * AREAS, (n) => new Int32Array(n));
    this.scores = grown(this.scores, detections, (n) => new Float64Array(n));
    this.outcomes = grown(this.outcomes, detections * AREAS * THRESHOLDS, (n) => new Uint8Array(n));
  }
}

/** The array itself while it holds `needed`, else a copy at least twice as long. */
function grown<T extends Float64Array | Uint8Array | Int32Array>(array: T, needed: number, make: (n: number) => T): T {
  if (array.length >= needed) return array;
  const larger = make(Math.max(needed, array.length * 2));
  larger.set(array);
  return larger;
}

export class CocoBoxEvaluator {
  /** The categories evaluated, ascending; annotations and detections of others are left out, as pycocotools does. */
  readonly categoryIds: readonly number[];
  private readonly records: Map<number, CategoryRecord>;
  private readonly images = new Set<number>();
  private readonly annotationIds = new Set<number>();

  constructor(categoryIds: Iterable<number>) {
    this.categoryIds = [...new Set(categoryIds)].map((id) => requireFinite(id, 'a category id')).sort((a, b) => a - b);
    this.records = new Map(this.categoryIds.map((id) => [id, new CategoryRecord()]));
  }

  /**
   * One image's ground truth and detections, each in its file's order (the order decides ties in score). Both
   * lists are taken as the image's (their image_id is not read) and grouped here by category_id.
   */
  addImage(imageId: number, annotations: readonly CocoAnnotation[], detections: readonly CocoDetection[]): void {
    requireFinite(imageId, 'an image id');
    if (this.images.has(imageId)) throw new MetricsInputError(`image ${imageId} is given twice`);
    this.images.add(imageId);
    const truths = new Map<number, GroundTruthBox[]>();
    for (const annotation of annotations) {
      const truth = this.checkedTruth(annotation);
      if (this.records.has(annotation.category_id)) pushTo(truths, annotation.category_id, truth);
    }
    const found = new Map<number, DetectionBox[]>();
    detections.forEach((detection, i) => {
      const where = `detection ${i + 1} of image ${imageId}`;
      if (!isBox(detection.bbox)) throw new MetricsInputError(`${where}: bbox is not four finite numbers`);
      requireFinite(detection.score, `${where}: score`);
      if (this.records.has(detection.category_id)) pushTo(found, detection.category_id, detection);
    });
    for (const [categoryId, record] of this.records) {
      const categoryTruths = truths.get(categoryId) ?? [];
      const categoryDetections = found.get(categoryId) ?? [];
      if (categoryTruths.length === 0 && categoryDetections.length === 0) continue;
      record.add(imageId, categoryTruths, topDetections(categoryDetections));
    }
  }

  /** pycocotools' accumulate(): precision at the 101 recall points and the final recall, for every setting. */
  accumulate(): CocoAccumulation {
    const K = this.categoryIds.length;
    const precision = new Float64Array(THRESHOLDS * RECALL_THRESHOLDS.length * K * AREAS * MAX_DETECTIONS.length).fill(-1);
    const recall = new Float64Array(THRESHOLDS * K * AREAS * MAX_DETECTIONS.length).fill(-1);
    this.categoryIds.forEach((id, k) => accumulateCategory(this.records.get(id)!, k, K, precision, recall));
    return { categoryIds: this.categoryIds, precision, recall };
  }

  private checkedTruth(annotation: CocoAnnotation): GroundTruthBox {
    const where = `annotation ${String(annotation.id)}`;
    requireFinite(annotation.id, `${where}: id`);
    if (this.annotationIds.has(annotation.id)) throw new MetricsInputError(`${where}: the id is used twice`);
    this.annotationIds.add(annotation.id);
    if (!isBox(annotation.bbox)) throw new MetricsInputError(`${where}: bbox is not four finite numbers`);
    requireFinite(annotation.area, `${where}: area`);
    const crowd = annotation.iscrowd ?? 0;
    if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) throw new MetricsInputError(`${where}: iscrowd is ${String(crowd)}, not 0 or 1`);
    return { id: annotation.id, bbox: annotation.bbox, area: annotation.area, crowd: crowd === 1 || crowd === true };
  }
}

function pushTo<T>(groups: Map<number, T[]>, key: number, value: T): void {
  const group = groups.get(key);
  if (group) group.push(value);
  else groups.set(key, [value]);
}

function isBox(bbox: unknown): bbox is readonly number[] {
  return Array.isArray(bbox) && bbox.length === 4 && bbox.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** Highest score first, ties in input order (numpy's stable mergesort on −score), cut to the largest maxDets. */
function topDetections(detections: readonly DetectionBox[]): DetectionBox[] {
  const order = [...detections.keys()].sort((x, y) => detections[y]!.score - detections[x]!.score || x - y);
  return order.slice(0, MAX_DETS).map((i) => detections[i]!);
}
