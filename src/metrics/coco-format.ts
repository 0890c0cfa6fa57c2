/** COCO figures as text (pycocotools' twelve lines, a table per category) and as JSON. */
import type { CocoEvaluation } from './coco.js';
import { IOU_THRESHOLDS } from './coco-params.js';
import { COCO_STATS, type CocoStatDefinition } from './coco-summary.js';
import { pythonFixed } from './python-format.js';

/** One line as COCOeval.summarize() prints it: ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.123`. */
function statLine(stat: CocoStatDefinition, value: number): string {
  const title = (stat.kind === 'precision' ? 'Average Precision' : 'Average Recall').padEnd(18);
  const type = stat.kind === 'precision' ? '(AP)' : '(AR)';
  const iou = stat.iou === undefined ? `${pythonFixed(IOU_THRESHOLDS[0]!, 2)}:${pythonFixed(IOU_THRESHOLDS.at(-1)!, 2)}` : pythonFixed(stat.iou, 2);
  return ` ${title} ${type} @[ IoU=${iou.padEnd(9)} | area=${stat.area.padStart(6)} | maxDets=${String(stat.maxDets).padStart(3)} ] = ${pythonFixed(value, 3)}`;
}

/** The twelve lines pycocotools prints, in its order, each ending in a newline. */
export function formatCocoStats(stats: readonly number[]): string {
  return COCO_STATS.map((stat, i) => `${statLine(stat, stats[i]!)}\n`).join('');
}

/** AP@[.50:.95] and AP50 per category; "n/a" for a category without ground truth. */
export function formatCocoCategories(evaluation: CocoEvaluation): string {
  const rows = evaluation.categories.map((c) => [evaluation.names.get(c.id) ?? String(c.id), figure(c.ap), figure(c.ap50)] as const);
  const width = Math.max(8, ...rows.map(([name]) => name.length));
  const lines = [
    `${'category'.padEnd(width)}  AP@[.50:.95]   AP50`,
    ...rows.map(([name, ap, ap50]) => `${name.padEnd(width)}  ${ap.padStart(12)}  ${ap50.padStart(5)}`),
  ];
  return `${lines.join('\n')}\n`;
}

const figure = (value: number) => (value === -1 ? 'n/a' : pythonFixed(value, 3));

export interface CocoJson {
  /** The twelve figures by name (AP, AP50, AP75, APsmall, …, ARlarge); −1 as pycocotools gives it where there is no ground truth. */
  readonly stats: Readonly<Record<string, number>>;
  readonly categories: readonly { readonly id: number; readonly name: string | null; readonly ap: number; readonly ap50: number }[];
}

export function cocoJson(evaluation: CocoEvaluation): CocoJson {
  return {
    stats: Object.fromEntries(COCO_STATS.map((stat, i) => [stat.name, evaluation.stats[i]!])),
    categories: evaluation.categories.map((c) => ({ id: c.id, name: evaluation.names.get(c.id) ?? null, ap: c.ap, ap50: c.ap50 })),
  };
}
