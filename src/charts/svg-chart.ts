/**
 * Drawing for the standalone SVG charts netspec writes (training curves, precision–recall curves, per-class IoU):
 * escaped text, coordinates with fixed decimals, axes on 1-2-5 steps, and a framed panel of line series. Written
 * by hand so that it needs no dependency and is deterministic: the same data always gives the same bytes.
 */

export type Point = readonly [x: number, y: number];

export interface Axis {
  readonly low: number;
  readonly high: number;
  readonly ticks: readonly number[];
  readonly decimals: number;
}

/** A plot area in SVG units: x from left to right, y from top (the axis's high end) to bottom. */
export interface PlotBox {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

export interface LineSeries {
  /** Its group's class, after "series ". */
  readonly name: string;
  readonly color: string;
  readonly dashed: boolean;
  /** A dot on every point (a single point has no line to show it otherwise). */
  readonly markers: boolean;
  readonly points: readonly Point[];
}

const TARGET_TICKS = 5;

/** Escapes text for XML content and attributes; characters XML 1.0 forbids are dropped. */
export function escapeXml(text: string): string {
  return text
    .toWellFormed()
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Coordinates with one decimal, always the same digits for the same value. */
export function coordinate(value: number): string {
  return value.toFixed(1);
}

export function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${coordinate(x)}" y="${coordinate(y)}"${attributes ? ` ${attributes}` : ''}>${escapeXml(content)}</text>`;
}

/** A value axis widened outwards to multiples of a 1-2-5 step, kept within floor and ceiling when the data is. */
export function valueAxis(min: number, max: number, floor: number | undefined, ceiling: number | undefined): Axis {
  // A flat (or all but flat) series gets room above and below instead of microscopic ticks: 10% of its value,
  // at least 0.001; this also keeps tick labels within toFixed's 100 decimals.
  const room = max - min < 1e-6 ? Math.max(Math.abs(max) * 0.1, 1e-3) : 0;
  const step = niceStep((max - min + 2 * room) / TARGET_TICKS);
  // The small tolerance keeps 70.00000000000001 (0.7 × 100) from pushing the axis up a whole step.
  let low = Math.floor((min - room) / step + 1e-9) * step;
  let high = Math.ceil((max + room) / step - 1e-9) * step;
  if (floor !== undefined && min >= floor) low = Math.max(low, floor);
  if (ceiling !== undefined && max <= ceiling) high = Math.min(high, ceiling);
  return { low, high, ticks: multiples(low, high, step), decimals: Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)) };
}

/** The step of 1, 2 or 5 times a power of ten just at or above `rough`. */
export function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Multiples of step from low to high, each computed from its index so that rounding errors do not add up. */
export function multiples(low: number, high: number, step: number): number[] {
  const first = Math.ceil(low / step - 1e-9);
  const last = Math.floor(high / step + 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => (first + i) * step);
}

export interface LinePanel {
  /** Its group's class, after "panel ". */
  readonly name: string;
  readonly heading: string;
  readonly box: PlotBox;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Both axes, or undefined when there is nothing to draw: the frame then holds `empty` ("no finite values"). */
  readonly axes: { readonly x: Axis; readonly y: Axis } | undefined;
  readonly empty?: string;
  readonly series: readonly LineSeries[];
}

/**
 * One panel: heading 15 units above the frame, grid and tick labels, axis labels (the y label 56 units left of
 * the frame, turned upright), then each series as a polyline with optional dots.
 */
export function linePanel(panel: LinePanel): string {
  const { left, right, top, bottom } = panel.box;
  const middle = (left + right) / 2;
  const parts = [`<g class="panel ${panel.name}">`, text(middle, top - 15, panel.heading, 'text-anchor="middle" font-size="14" font-weight="bold"')];
  const frame = `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#333333"/>`;
  if (panel.axes === undefined) {
    parts.push(frame, text(middle, (top + bottom) / 2, panel.empty ?? 'no finite values', 'text-anchor="middle" fill="#666666"'), '</g>');
    return parts.join('\n');
  }
  const { x: xAxis, y: yAxis } = panel.axes;
  const toX = (x: number) => left + ((x - xAxis.low) / (xAxis.high - xAxis.low)) * (right - left);
  const toY = (y: number) => bottom - ((y - yAxis.low) / (yAxis.high - yAxis.low)) * (bottom - top);
  for (const tick of yAxis.ticks) {
    const y = coordinate(toY(tick));
    parts.push(
      `<line class="grid" x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e5e5"/>`,
      text(left - 6, toY(tick) + 4, tick.toFixed(yAxis.decimals), 'class="y-tick" text-anchor="end"'),
    );
  }
  for (const tick of xAxis.ticks) {
    const x = coordinate(toX(tick));
    parts.push(
      `<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 5}" stroke="#333333"/>`,
      text(toX(tick), bottom + 18, tick.toFixed(xAxis.decimals), 'class="x-tick" text-anchor="middle"'),
    );
  }
  const yLabelX = left - 56;
  const yLabelY = (top + bottom) / 2;
  parts.push(
    frame,
    text(middle, bottom + 42, panel.xLabel, 'text-anchor="middle"'),
    text(yLabelX, yLabelY, panel.yLabel, `text-anchor="middle" transform="rotate(-90 ${coordinate(yLabelX)} ${coordinate(yLabelY)})"`),
  );
  for (const series of panel.series) {
    const drawn = series.points.map(([x, y]) => [coordinate(toX(x)), coordinate(toY(y))] as const);
    if (drawn.length === 0) continue;
    const dash = series.dashed ? ' stroke-dasharray="6 3"' : '';
    parts.push(`<g class="series ${series.name}" stroke="${series.color}" fill="${series.color}">`);
    if (drawn.length > 1) parts.push(`<polyline points="${drawn.map(([x, y]) => `${x},${y}`).join(' ')}" fill="none" stroke-width="2"${dash}/>`);
    if (series.markers) for (const [x, y] of drawn) parts.push(`<circle cx="${x}" cy="${y}" r="2.5"/>`);
    parts.push('</g>');
  }
  parts.push('</g>');
  return parts.join('\n');
}
