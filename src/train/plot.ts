/**
 * Training curves as one standalone SVG: loss on the left, accuracy in percent on the right, train and test
 * lines in each, epochs along the x axes. Written by hand so that it needs no dependency and is deterministic:
 * the same history always gives the same bytes.
 *
 * Layout (in SVG units): the picture is 960 × 420 and splits into two panels 480 wide; inside panel i the plot
 * area spans x from 480·i + 80 to 480·i + 450 and y from 95 (top of the axis) to 355 (bottom).
 */
import { GENERATED_MARK } from '../files/output-guard.js';

/** One epoch of training: losses, accuracies as fractions from 0 to 1, and the time it took. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
}

const WIDTH = 960;
const HEIGHT = 420;
const PANEL_WIDTH = WIDTH / 2;
const PLOT = { left: 80, right: 450, top: 95, bottom: 355 } as const;
const TARGET_TICKS = 5;
const colors = { train: '#1f77b4', test: '#ff7f0e' } as const;
// Values this large are skipped like non-finite ones: the axis arithmetic on them would overflow to Infinity.
const PLOTTABLE_MAGNITUDE = 1e300;

type Point = readonly [x: number, y: number];
interface Axis {
  readonly low: number;
  readonly high: number;
  readonly ticks: readonly number[];
  readonly decimals: number;
}

/** Escapes text for XML content and attributes; characters XML 1.0 forbids are dropped. */
function escapeXml(text: string): string {
  return text
    .toWellFormed()
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The chart of a training history; an empty history gives a chart saying "no epochs yet". */
export function plotHistory(history: readonly EpochRecord[], title: string): string {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<desc>${GENERATED_MARK}: training curves</desc>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 28, title, 'class="title" text-anchor="middle" font-size="18"'),
  ];
  if (history.length === 0) {
    parts.push(text(WIDTH / 2, HEIGHT / 2, 'no epochs yet', 'class="message" text-anchor="middle" font-size="16" fill="#666666"'));
  } else {
    parts.push(
      legend(),
      panel(0, 'loss', 'Loss', 'loss', { train: points(history, (r) => r.trainLoss), test: points(history, (r) => r.testLoss) }, 0, undefined),
      panel(1, 'accuracy', 'Accuracy', 'accuracy (%)', { train: points(history, (r) => 100 * r.trainAccuracy), test: points(history, (r) => 100 * r.testAccuracy) }, 0, 100),
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const plottable = (value: number) => Number.isFinite(value) && Math.abs(value) <= PLOTTABLE_MAGNITUDE;

function points(history: readonly EpochRecord[], value: (record: EpochRecord) => number): Point[] {
  return history.map((record) => [record.epoch, value(record)] as const).filter(([x, y]) => plottable(x) && plottable(y));
}

function legend(): string {
  const entry = (x: number, name: keyof typeof colors) =>
    `<line x1="${x}" y1="48" x2="${x + 24}" y2="48" stroke="${colors[name]}" stroke-width="2"${name === 'test' ? ' stroke-dasharray="6 3"' : ''}/>\n` + text(x + 30, 52, name);
  return `<g class="legend">\n${entry(WIDTH / 2 - 70, 'train')}\n${entry(WIDTH / 2 + 10, 'test')}\n</g>`;
}

/** One panel: frame, grid, ticks, axis labels and both series; floor and ceiling bound the y axis when the data allows. */
function panel(
  index: number,
  name: string,
  heading: string,
  yLabel: string,
  series: Readonly<Record<keyof typeof colors, Point[]>>,
  floor: number | undefined,
  ceiling: number | undefined,
): string {
  const offset = index * PANEL_WIDTH;
  const left = offset + PLOT.left;
  const right = offset + PLOT.right;
  const middle = (left + right) / 2;
  const parts = [`<g class="panel ${name}">`, text(middle, 80, heading, 'text-anchor="middle" font-size="14" font-weight="bold"')];
  const frame = `<rect x="${left}" y="${PLOT.top}" width="${right - left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333333"/>`;
  const all = [...series.train, ...series.test];
  if (all.length === 0) {
    parts.push(frame, text(middle, (PLOT.top + PLOT.bottom) / 2, 'no finite values', 'text-anchor="middle" fill="#666666"'), '</g>');
    return parts.join('\n');
  }

  const xAxis = epochAxis(Math.min(...all.map(([x]) => x)), Math.max(...all.map(([x]) => x)));
  const yAxis = valueAxis(Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y)), floor, ceiling);
  const toX = (x: number) => left + ((x - xAxis.low) / (xAxis.high - xAxis.low)) * (right - left);
  const toY = (y: number) => PLOT.bottom - ((y - yAxis.low) / (yAxis.high - yAxis.low)) * (PLOT.bottom - PLOT.top);

  for (const tick of yAxis.ticks) {
    const y = coordinate(toY(tick));
    parts.push(`<line class="grid" x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e5e5"/>`, text(left - 6, toY(tick) + 4, tick.toFixed(yAxis.decimals), 'class="y-tick" text-anchor="end"'));
  }
  for (const tick of xAxis.ticks) {
    const x = coordinate(toX(tick));
    parts.push(`<line x1="${x}" y1="${PLOT.bottom}" x2="${x}" y2="${PLOT.bottom + 5}" stroke="#333333"/>`, text(toX(tick), PLOT.bottom + 18, tick.toFixed(xAxis.decimals), 'class="x-tick" text-anchor="middle"'));
  }
  const yLabelX = offset + 24;
  const yLabelY = (PLOT.top + PLOT.bottom) / 2;
  parts.push(
    frame,
    text(middle, PLOT.bottom + 42, 'epoch', 'text-anchor="middle"'),
    text(yLabelX, yLabelY, yLabel, `text-anchor="middle" transform="rotate(-90 ${coordinate(yLabelX)} ${coordinate(yLabelY)})"`),
  );
  for (const seriesName of ['train', 'test'] as const) {
    const drawn = series[seriesName].map(([x, y]) => [coordinate(toX(x)), coordinate(toY(y))] as const);
    if (drawn.length === 0) continue;
    const dash = seriesName === 'test' ? ' stroke-dasharray="6 3"' : '';
    parts.push(`<g class="series ${name}-${seriesName}" stroke="${colors[seriesName]}" fill="${colors[seriesName]}">`);
    // A single epoch has no line to draw, so every point also gets a marker.
    if (drawn.length > 1) parts.push(`<polyline points="${drawn.map(([x, y]) => `${x},${y}`).join(' ')}" fill="none" stroke-width="2"${dash}/>`);
    for (const [x, y] of drawn) parts.push(`<circle cx="${x}" cy="${y}" r="2.5"/>`);
    parts.push('</g>');
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** Epochs span exactly first to last (a single epoch is centred in ±1), with ticks on whole epochs. */
function epochAxis(first: number, last: number): Axis {
  // The room grows with huge epoch numbers so that first ± room still differ in floating point.
  const room = last - first < 1e-6 ? Math.max(1, Math.abs(first) * 1e-6) : 0;
  const [low, high] = [first - room, last + room];
  const step = Math.max(1, niceStep((high - low) / TARGET_TICKS));
  return { low, high, ticks: multiples(low, high, step), decimals: 0 };
}

/** A value axis widened outwards to multiples of a 1-2-5 step, kept within floor and ceiling when the data is. */
function valueAxis(min: number, max: number, floor: number | undefined, ceiling: number | undefined): Axis {
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
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Multiples of step from low to high, each computed from its index so that rounding errors do not add up. */
function multiples(low: number, high: number, step: number): number[] {
  const first = Math.ceil(low / step - 1e-9);
  const last = Math.floor(high / step + 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => (first + i) * step);
}

/** Coordinates with one decimal, always the same digits for the same value. */
function coordinate(value: number): string {
  return value.toFixed(1);
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${coordinate(x)}" y="${coordinate(y)}"${attributes ? ` ${attributes}` : ''}>${escapeXml(content)}</text>`;
}
