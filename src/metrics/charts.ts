/**
 * Pictures of the scores as standalone SVG, drawn with the shared chart primitives: COCO's precision–recall curves,
 * one panel per category, and per-class IoU bars for segmentation.
 */
import { GENERATED_MARK } from '../files/output-guard.js';
import { coordinate, escapeXml, linePanel, multiples, text, type Axis } from '../charts/svg-chart.js';
import type { CocoEvaluation } from './coco.js';
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETECTIONS, RECALL_THRESHOLDS } from './coco-params.js';
import { pythonFixed } from './python-format.js';
import type { SegmentationFigures } from './segmentation.js';

const COLUMNS = 4;
const CELL = { width: 300, height: 260 } as const;
const CURVES = [
  { iou: 0.5, name: 'iou-50', color: '#1f77b4', dashed: false },
  { iou: 0.75, name: 'iou-75', color: '#ff7f0e', dashed: true },
] as const;
const UNIT_AXIS: Axis = { low: 0, high: 1, ticks: multiples(0, 1, 0.2), decimals: 1 };

function svgOpen(width: number, height: number, what: string, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<desc>${GENERATED_MARK}: ${what}</desc>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, 28, title, 'class="title" text-anchor="middle" font-size="18"'),
  ];
}

/**
 * Precision against recall at the 101 recall points, at IoU .50 and .75, all areas, 100 detections, as
 * pycocotools accumulates them (precision is 0 past the highest recall reached); one panel per category.
 */
export function precisionRecallSvg(evaluation: CocoEvaluation, title: string): string {
  const { categoryIds, precision } = evaluation.accumulation;
  const K = categoryIds.length;
  const rows = Math.max(1, Math.ceil(K / COLUMNS));
  const width = COLUMNS * CELL.width;
  const height = 80 + rows * CELL.height;
  const [R, A, M] = [RECALL_THRESHOLDS.length, AREA_RANGES.length, MAX_DETECTIONS.length];
  const parts = svgOpen(width, height, 'precision-recall curves', title);
  parts.push(legend(width));
  categoryIds.forEach((id, k) => {
    const [left, top] = [(k % COLUMNS) * CELL.width + 70, 80 + Math.floor(k / COLUMNS) * CELL.height + 35];
    const figures = evaluation.categories[k]!;
    const name = evaluation.names.get(id) ?? String(id);
    const defined = figures.ap > -1;
    const series = CURVES.map(({ iou, name: curve, color, dashed }) => {
      const t = IOU_THRESHOLDS.indexOf(iou);
      const points = RECALL_THRESHOLDS.map((recall, r) => [recall, precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)]!] as const);
      return { name: `category-${id}-${curve}`, color, dashed, markers: false, points };
    });
    parts.push(
      linePanel({
        name: `category-${id}`,
        heading: defined ? `${name}: AP ${pythonFixed(figures.ap, 3)}, AP50 ${pythonFixed(figures.ap50, 3)}` : name,
        box: { left, right: left + CELL.width - 90, top, bottom: top + 160 },
        xLabel: 'recall',
        yLabel: 'precision',
        axes: defined ? { x: UNIT_AXIS, y: UNIT_AXIS } : undefined,
        empty: 'no ground truth',
        series,
      }),
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function legend(width: number): string {
  const entry = (x: number, curve: (typeof CURVES)[number]) =>
    `<line x1="${x}" y1="48" x2="${x + 24}" y2="48" stroke="${curve.color}" stroke-width="2"${curve.dashed ? ' stroke-dasharray="6 3"' : ''}/>\n` +
    text(x + 30, 52, `IoU ${pythonFixed(curve.iou, 2)}`);
  return `<g class="legend">\n${entry(width / 2 - 90, CURVES[0])}\n${entry(width / 2 + 10, CURVES[1])}\n</g>`;
}

const BAR = { left: 170, right: 730, row: 24, top: 70 } as const;

/** One bar per class, its IoU in percent; "n/a" for a class absent from labels and predictions. */
export function segmentationIouSvg(figures: SegmentationFigures, classNames: readonly string[], title: string): string {
  const n = figures.iou.length;
  const bottom = BAR.top + n * BAR.row;
  const width = BAR.right + 70;
  const parts = svgOpen(width, bottom + 60, 'per-class IoU', title);
  const toX = (percent: number) => BAR.left + (percent / 100) * (BAR.right - BAR.left);
  for (const tick of multiples(0, 100, 20)) {
    const x = coordinate(toX(tick));
    parts.push(
      `<line class="grid" x1="${x}" y1="${BAR.top}" x2="${x}" y2="${bottom}" stroke="#e5e5e5"/>`,
      text(toX(tick), bottom + 18, String(tick), 'class="x-tick" text-anchor="middle"'),
    );
  }
  parts.push(
    text(
      (BAR.left + BAR.right) / 2,
      bottom + 42,
      `IoU (%); mean IoU ${percentText(figures.meanIoU)}, over the classes present ${percentText(figures.meanIoUOfPresentClasses)}`,
      'text-anchor="middle"',
    ),
  );
  figures.iou.forEach((iou, c) => {
    const y = BAR.top + c * BAR.row;
    const name = classNames[c] ?? String(c);
    parts.push(`<g class="bar class-${c}">`, text(BAR.left - 8, y + 16, name, 'text-anchor="end"'));
    if (!Number.isNaN(iou))
      parts.push(`<rect x="${BAR.left}" y="${y + 4}" width="${coordinate(toX(100 * iou) - BAR.left)}" height="${BAR.row - 8}" fill="#1f77b4"/>`);
    parts.push(text(Number.isNaN(iou) ? BAR.left + 6 : toX(100 * iou) + 6, y + 16, percentText(iou), 'class="value"'), '</g>');
  });
  parts.push(`<rect x="${BAR.left}" y="${BAR.top}" width="${BAR.right - BAR.left}" height="${bottom - BAR.top}" fill="none" stroke="#333333"/>`, '</svg>');
  return `${parts.join('\n')}\n`;
}

const percentText = (value: number) => (Number.isNaN(value) ? 'n/a' : `${pythonFixed(100 * value, 1)}`);
