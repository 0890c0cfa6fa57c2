// What a detector's or segmenter's run reports: one record per epoch (the training loss and its parts, the
// validation scores), its line in the log, and at the end metrics.json and curves.svg — the loss parts on the left,
// the validation scores on the right.
import { escapeXml, linePanel, text, valueAxis, type Point } from '../../charts/svg-chart.js';
import { writeAtomically } from '../../files/atomic-write.js';
import { GENERATED_MARK, PRODUCER } from '../../files/output-guard.js';
import { formatDuration } from '../../terminal/progress.js';
import type { Normalization } from '../batches.js';
import type { TrainConfig } from '../config.js';
import { epochAxis } from '../plot.js';
import type { RunEngine } from '../train.js';

export interface DenseEpochRecord {
  readonly epoch: number;
  /** The mean over the epoch's steps of what is minimised. */
  readonly trainLoss: number;
  /** Its parts, by name: classification and boxRegression; out and aux. */
  readonly losses: Readonly<Record<string, number>>;
  /** The validation split's scores, by name (AP, AP50; meanIoU, pixelAccuracy); null where undefined. */
  readonly scores: Readonly<Record<string, number | null>>;
  readonly seconds: number;
}

const WIDTH = 960;
const HEIGHT = 420;
const PLOT = { left: 80, right: 450, top: 95, bottom: 355 } as const;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'] as const;

/** An epoch's line in the run's log. */
export function denseEpochSummary(record: DenseEpochRecord, epochs: number): string {
  const parts = Object.entries(record.losses).map(([name, value]) => `${name} ${value.toFixed(4)}`);
  const scores = Object.entries(record.scores).map(([name, value]) => `${name} ${value === null ? 'n/a' : value.toFixed(4)}`);
  // An epoch not validated (the PyTorch engine scores only the final weights) records no scores.
  const validation = scores.length > 0 ? `  validation ${scores.join(', ')}` : '';
  return `epoch ${record.epoch}/${epochs}  train loss ${record.trainLoss.toFixed(4)} (${parts.join(', ')})${validation}  ${formatDuration(record.seconds)}`;
}

/** metrics.json (engine, settings, normalisation, final scores, every epoch) and curves.svg of a finished run. */
export function writeDenseReport(
  files: { readonly metrics: string; readonly curves: string },
  run: {
    readonly model: string;
    readonly task: 'detection' | 'segmentation';
    readonly engine: RunEngine;
    readonly config: Omit<TrainConfig, 'replicas'>;
    readonly normalization: Normalization;
    readonly history: readonly DenseEpochRecord[];
    /** The final validation's full figures, as `eval --json` prints them. */
    readonly evaluation: unknown;
  },
): void {
  const { model, task, engine, config, normalization, history, evaluation } = run;
  const seconds = history.reduce((sum, record) => sum + record.seconds, 0);
  const summary = { producer: PRODUCER, model, task, ...engine, config, normalization, scores: history.at(-1)?.scores ?? null, evaluation, seconds, history };
  writeAtomically(files.metrics, `${JSON.stringify(summary, null, 2)}\n`, 'json');
  writeAtomically(files.curves, plotDenseHistory(history, `${model}: ${history.length} epochs`), 'generated-text');
}

/** The curves: each loss part and the total by epoch, and each validation score by epoch (0 to 1). */
export function plotDenseHistory(history: readonly DenseEpochRecord[], title: string): string {
  const losses = ['total', ...Object.keys(history[0]?.losses ?? {})];
  // Every epoch's scores' names: a PyTorch run scores only its last epoch.
  const scores = [...new Set(history.flatMap((record) => Object.keys(record.scores)))];
  const lossOf = (record: DenseEpochRecord, name: string) => (name === 'total' ? record.trainLoss : record.losses[name]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<desc>${GENERATED_MARK}: training curves</desc>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 28, title, 'class="title" text-anchor="middle" font-size="18"'),
    panel(0, 'loss', 'Training loss', losses, (record, name) => lossOf(record, name), history, undefined),
    panel(1, 'scores', 'Validation', scores, (record, name) => record.scores[name], history, 1),
    '</svg>',
  ].join('\n');
}

function panel(
  index: number,
  name: string,
  heading: string,
  names: readonly string[],
  value: (record: DenseEpochRecord, name: string) => number | null | undefined,
  history: readonly DenseEpochRecord[],
  ceiling: number | undefined,
): string {
  const offset = (index * WIDTH) / 2;
  const box = { left: offset + PLOT.left, right: offset + PLOT.right, top: PLOT.top, bottom: PLOT.bottom };
  const series = names.map((series, i) => ({
    name: `${name}-${series}`,
    color: PALETTE[i % PALETTE.length]!,
    dashed: i > 0,
    markers: true,
    points: history.map((record): Point => [record.epoch, value(record, series) ?? NaN]).filter(([, y]) => Number.isFinite(y)),
  }));
  const all = series.flatMap((s) => s.points);
  const axes =
    all.length === 0
      ? undefined
      : { x: epochAxis(all[0]![0], all.at(-1)![0]), y: valueAxis(Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y)), 0, ceiling) };
  const legend = names.map((series, i) => text(offset + PLOT.left + 10 + 110 * i, 62, series, `fill="${PALETTE[i % PALETTE.length]}"`)).join('\n');
  return `${legend}\n${linePanel({ name, heading, box, xLabel: 'epoch', yLabel: heading.toLowerCase(), axes, series })}`;
}
