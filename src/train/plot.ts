/**
 * Training curves as one standalone SVG: loss on the left, accuracy in percent on the right, train and test
 * lines in each, epochs along the x axes, drawn with the shared chart primitives (src/charts/svg-chart.ts): the same
 * history always gives the same bytes.
 *
 * Layout (in SVG units): the picture is 960 × 420 and splits into two panels 480 wide; inside panel i the plot
 * area spans x from 480·i + 80 to 480·i + 450 and y from 95 (top of the axis) to 355 (bottom).
 */
import { GENERATED_MARK } from '../files/output-guard.js';
import { escapeXml, linePanel, multiples, niceStep, text, valueAxis, type Axis, type Point } from '../charts/svg-chart.js';

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
      panel(
        1,
        'accuracy',
        'Accuracy',
        'accuracy (%)',
        { train: points(history, (r) => 100 * r.trainAccuracy), test: points(history, (r) => 100 * r.testAccuracy) },
        0,
        100,
      ),
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
    `<line x1="${x}" y1="48" x2="${x + 24}" y2="48" stroke="${colors[name]}" stroke-width="2"${name === 'test' ? ' stroke-dasharray="6 3"' : ''}/>\n` +
    text(x + 30, 52, name);
  return `<g class="legend">\n${entry(WIDTH / 2 - 70, 'train')}\n${entry(WIDTH / 2 + 10, 'test')}\n</g>`;
}

/** One panel: both series over epochs; floor and ceiling bound the y axis when the data allows. */
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
  const box = { left: offset + PLOT.left, right: offset + PLOT.right, top: PLOT.top, bottom: PLOT.bottom };
  const all = [...series.train, ...series.test];
  const axes =
    all.length === 0
      ? undefined
      : {
          x: epochAxis(Math.min(...all.map(([x]) => x)), Math.max(...all.map(([x]) => x))),
          y: valueAxis(Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y)), floor, ceiling),
        };
  const lines = (['train', 'test'] as const).map((s) => ({ name: `${name}-${s}`, color: colors[s], dashed: s === 'test', markers: true, points: series[s] }));
  return linePanel({ name, heading, box, xLabel: 'epoch', yLabel, axes, series: lines });
}

/** Epochs span exactly first to last (a single epoch is centred in ±1), with ticks on whole epochs. */
export function epochAxis(first: number, last: number): Axis {
  // The room grows with huge epoch numbers so that first ± room still differ in floating point.
  const room = last - first < 1e-6 ? Math.max(1, Math.abs(first) * 1e-6) : 0;
  const [low, high] = [first - room, last + room];
  const step = Math.max(1, niceStep((high - low) / TARGET_TICKS));
  return { low, high, ticks: multiples(low, high, step), decimals: 0 };
}
