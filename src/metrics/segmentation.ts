/**
 * Semantic segmentation scores as torchvision's reference scripts compute them (references/segmentation/utils.py,
 * ConfusionMatrix): a confusion matrix of label (row) against prediction (column) counted over pixel pairs at the
 * label's resolution, pixels whose label is outside [0, classes) — 255, "ignore", among them — left out; then
 * global pixel accuracy = diagonal / total, per-class accuracy = diagonal / row, IoU = diagonal / (row + column −
 * diagonal), mean IoU = the mean of the per-class IoUs.
 *
 * A class absent from both labels and predictions has IoU 0/0: torchvision's figure is NaN, and so is its mean
 * IoU then (it takes `iu.mean()` over every class). netspec keeps that figure, printed as torchvision prints it
 * ("nan"), and also gives the mean over the classes whose IoU is defined. torchvision computes in float32; these
 * figures are the exact ratios in float64, within float32 rounding of torchvision's (about 1e-7 of the value).
 */
import { MetricsInputError } from './input-error.js';
import { pythonFixed } from './python-format.js';

export class ConfusionMatrix {
  /** counts[label · classes + prediction]; float64 counts are exact to 2⁵³ pixels. */
  readonly counts: Float64Array;

  constructor(readonly classes: number) {
    if (!Number.isInteger(classes) || classes < 1) throw new MetricsInputError(`the class count ${classes} is not a positive integer`);
    this.counts = new Float64Array(classes * classes);
  }

  /**
   * Counts one image's pixel pairs. `labels` and `predictions` are at the label's resolution, in the same order;
   * a label outside [0, classes) is skipped, a prediction outside it is refused.
   */
  update(labels: ArrayLike<number>, predictions: ArrayLike<number>, where = 'the prediction'): void {
    if (labels.length !== predictions.length) throw new MetricsInputError(`${where} has ${predictions.length} pixels, its label ${labels.length}`);
    const n = this.classes;
    const counted = (label: number) => label >= 0 && label < n;
    // Checked whole before counting, so that a refused image leaves the matrix as it was.
    for (let i = 0; i < labels.length; i++) {
      const predicted = predictions[i]!;
      if (counted(labels[i]!) && !(Number.isInteger(predicted) && predicted >= 0 && predicted < n))
        throw new MetricsInputError(`${where}: pixel ${i} is ${predicted}, not a class below ${n}`);
    }
    for (let i = 0; i < labels.length; i++) if (counted(labels[i]!)) this.counts[Math.trunc(labels[i]!) * n + predictions[i]!]! += 1;
  }
}

export interface SegmentationFigures {
  readonly classes: number;
  /** Pixels counted (labels within the classes). */
  readonly pixels: number;
  /** Diagonal over total; NaN when no pixel counted. */
  readonly globalAccuracy: number;
  /** Per class: diagonal over its row (its pixels predicted right); NaN for a class no label has. */
  readonly classAccuracy: readonly number[];
  /** Per class: diagonal over row + column − diagonal; NaN for a class absent from labels and predictions. */
  readonly iou: readonly number[];
  /** torchvision's mean IoU: the mean over every class, NaN when any class's IoU is. */
  readonly meanIoU: number;
  /** The mean over the classes whose IoU is defined; NaN when none is. */
  readonly meanIoUOfPresentClasses: number;
}

export function segmentationFigures(matrix: ConfusionMatrix): SegmentationFigures {
  const n = matrix.classes;
  const diagonal = Array.from({ length: n }, (_, c) => matrix.counts[c * n + c]!);
  const rows = Array.from({ length: n }, (_, c) => sum(Array.from({ length: n }, (__, p) => matrix.counts[c * n + p]!)));
  const columns = Array.from({ length: n }, (_, p) => sum(Array.from({ length: n }, (__, c) => matrix.counts[c * n + p]!)));
  const pixels = sum(rows);
  const iou = diagonal.map((d, c) => d / (rows[c]! + columns[c]! - d));
  const present = iou.filter((value) => !Number.isNaN(value));
  return {
    classes: n,
    pixels,
    globalAccuracy: sum(diagonal) / pixels,
    classAccuracy: diagonal.map((d, c) => d / rows[c]!),
    iou,
    meanIoU: sum(iou) / n,
    meanIoUOfPresentClasses: sum(present) / present.length,
  };
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** What torchvision's ConfusionMatrix prints: percentages with one decimal, lists as Python prints them. */
export function formatSegmentation(figures: SegmentationFigures): string {
  const percent = (value: number) => pythonFixed(value * 100, 1);
  const list = (values: readonly number[]) => `[${values.map((v) => `'${percent(v)}'`).join(', ')}]`;
  return [
    `global correct: ${percent(figures.globalAccuracy)}`,
    `average row correct: ${list(figures.classAccuracy)}`,
    `IoU: ${list(figures.iou)}`,
    `mean IoU: ${percent(figures.meanIoU)}`,
    '',
  ].join('\n');
}

type Nullable<T> = { readonly [K in keyof T]: T[K] extends number ? number | null : T[K] extends readonly number[] ? readonly (number | null)[] : T[K] };

export interface SegmentationJson extends Nullable<SegmentationFigures> {
  /** confusion[label][prediction], when the matrix is given. */
  readonly confusion?: readonly (readonly number[])[];
}

/** The figures as JSON, NaN written as null. */
export function segmentationJson(figures: SegmentationFigures, matrix?: ConfusionMatrix): SegmentationJson {
  const value = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    classes: figures.classes,
    pixels: figures.pixels,
    globalAccuracy: value(figures.globalAccuracy),
    classAccuracy: figures.classAccuracy.map(value),
    iou: figures.iou.map(value),
    meanIoU: value(figures.meanIoU),
    meanIoUOfPresentClasses: value(figures.meanIoUOfPresentClasses),
    ...(matrix
      ? { confusion: Array.from({ length: matrix.classes }, (_, c) => Array.from(matrix.counts.subarray(c * matrix.classes, (c + 1) * matrix.classes))) }
      : {}),
  };
}
