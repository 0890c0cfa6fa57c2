/**
 * Pascal VOC detection AP at IoU 0.5, as the VOC2010+ devkit computes it (VOCevaldet.m with VOCap.m, which
 * py-faster-rcnn's `voc_eval` with `use_07_metric=False` follows):
 * - boxes are VOC's pixel indices, 1-based and inclusive ([xmin, ymin, xmax, ymax] as in the XML's `bndbox`), so a
 *   box is xmax − xmin + 1 pixels wide and IoU counts the +1 in every width and height;
 * - detections of a class by descending score, ties in input order (the devkit's stable sort); each takes the
 *   object of its image and class with the highest IoU (the first on a tie), and is a true positive if that IoU is
 *   at least 0.5 and the object was not taken before, else a false positive — except that a detection whose best
 *   object is `difficult` counts as neither, and difficult objects are not counted among the positives;
 * - AP is the area under the precision–recall curve with precision made monotone (all-point interpolation).
 * The devkit accepts an IoU of exactly 0.5 (`ovmax >= minoverlap`); py-faster-rcnn's port requires more
 * (`ovmax > ovthresh`). netspec follows the devkit, the official reference; the two differ only on a detection whose
 * IoU is exactly 0.5. A class without non-difficult objects has no AP (null) and is left out of the mean.
 */
import { MetricsInputError, requireFinite } from './input-error.js';
import { numpyMean, numpySum } from './numpy-sum.js';
import { pythonFixed } from './python-format.js';

/** [xmin, ymin, xmax, ymax]: 1-based inclusive pixel indices. */
export type VocBox = readonly number[];

export interface VocObject {
  readonly imageId: string;
  readonly className: string;
  readonly box: VocBox;
  readonly difficult?: boolean;
}

export interface VocDetection {
  readonly imageId: string;
  readonly className: string;
  readonly box: VocBox;
  readonly score: number;
}

export interface VocClassFigures {
  readonly name: string;
  /** null when the class has no non-difficult object. */
  readonly ap: number | null;
  /** Objects that count: the non-difficult ones. */
  readonly positives: number;
  readonly detections: number;
}

export interface VocEvaluation {
  readonly classes: readonly VocClassFigures[];
  /** The mean of the classes' APs that exist; null when none does. */
  readonly mAP: number | null;
}

export const VOC_IOU_THRESHOLD = 0.5;

/** AP per class of `classNames` (in that order) and their mean; objects and detections of other classes are left out. */
export function evaluateVoc(objects: readonly VocObject[], detections: readonly VocDetection[], classNames: readonly string[]): VocEvaluation {
  objects.forEach((o, i) => checkBox(o.box, `object ${i + 1} (${o.imageId})`));
  detections.forEach((d, i) => {
    checkBox(d.box, `detection ${i + 1} (${d.imageId})`);
    requireFinite(d.score, `detection ${i + 1} (${d.imageId}): score`);
  });
  const classes = classNames.map((name) =>
    classAp(
      name,
      objects.filter((o) => o.className === name),
      detections.filter((d) => d.className === name),
    ),
  );
  const aps = classes.map((c) => c.ap).filter((ap): ap is number => ap !== null);
  return { classes, mAP: aps.length === 0 ? null : numpyMean(aps) };
}

function checkBox(box: VocBox, where: string): void {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new MetricsInputError(`${where}: the box is not four finite numbers`);
  }
}

interface ImageObjects {
  readonly boxes: VocBox[];
  readonly difficult: boolean[];
  readonly taken: boolean[];
}

function classAp(name: string, objects: readonly VocObject[], detections: readonly VocDetection[]): VocClassFigures {
  const byImage = new Map<string, ImageObjects>();
  for (const o of objects) {
    const image = byImage.get(o.imageId) ?? { boxes: [], difficult: [], taken: [] };
    byImage.set(o.imageId, image);
    image.boxes.push(o.box);
    image.difficult.push(o.difficult === true);
    image.taken.push(false);
  }
  const positives = objects.filter((o) => o.difficult !== true).length;
  const order = [...detections.keys()].sort((x, y) => detections[y]!.score - detections[x]!.score || x - y);
  const tp: number[] = [];
  const fp: number[] = [];
  let [truePositives, falsePositives] = [0, 0];
  for (const index of order) {
    const detection = detections[index]!;
    const image = byImage.get(detection.imageId);
    const [best, overlap] = image ? bestObject(detection.box, image.boxes) : [-1, -Infinity];
    if (image && overlap >= VOC_IOU_THRESHOLD) {
      if (!image.difficult[best]) {
        if (image.taken[best]) falsePositives++;
        else {
          truePositives++;
          image.taken[best] = true;
        }
      }
    } else falsePositives++;
    tp.push(truePositives);
    fp.push(falsePositives);
  }
  return { name, ap: positives === 0 ? null : allPointAp(tp, fp, positives), positives, detections: detections.length };
}

/** The object of highest IoU (the first of equals) and that IoU, in VOC's inclusive pixel arithmetic. */
function bestObject(box: VocBox, objects: readonly VocBox[]): [number, number] {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  let [best, overlap] = [-1, -Infinity];
  objects.forEach(([gx1, gy1, gx2, gy2], j) => {
    const iw = Math.min(x2, gx2!) - Math.max(x1, gx1!) + 1;
    const ih = Math.min(y2, gy2!) - Math.max(y1, gy1!) + 1;
    if (iw <= 0 || ih <= 0) return;
    const union = (x2 - x1 + 1) * (y2 - y1 + 1) + (gx2! - gx1! + 1) * (gy2! - gy1! + 1) - iw * ih;
    const iou = (iw * ih) / union;
    if (iou > overlap) [best, overlap] = [j, iou];
  });
  return [best, overlap];
}

/** VOCap: precision made monotone from the right, summed over the steps of recall. */
function allPointAp(tp: readonly number[], fp: readonly number[], positives: number): number {
  const recall = [0, ...tp.map((t) => t / positives), 1];
  const precision = [0, ...tp.map((t, i) => t / Math.max(t + fp[i]!, Number.EPSILON)), 0];
  for (let i = precision.length - 1; i > 0; i--) precision[i - 1] = Math.max(precision[i - 1]!, precision[i]!);
  const areas: number[] = [];
  for (let i = 0; i + 1 < recall.length; i++) if (recall[i + 1] !== recall[i]) areas.push((recall[i + 1]! - recall[i]!) * precision[i + 1]!);
  return numpySum(areas);
}

/** py-faster-rcnn's lines: `AP for CLASS = 0.1234` per class, then `Mean AP = 0.1234`. */
export function formatVoc(evaluation: VocEvaluation): string {
  const figure = (value: number | null) => (value === null ? 'n/a (no objects)' : pythonFixed(value, 4));
  const lines = evaluation.classes.map((c) => `AP for ${c.name} = ${figure(c.ap)}`);
  lines.push(`Mean AP = ${figure(evaluation.mAP)}`);
  return `${lines.join('\n')}\n`;
}

export function vocJson(evaluation: VocEvaluation): { readonly classes: readonly VocClassFigures[]; readonly mAP: number | null } {
  return { classes: evaluation.classes.map((c) => ({ ...c })), mAP: evaluation.mAP };
}
