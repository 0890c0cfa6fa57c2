import type { AnalyzedGraph } from '../ir/analyze.js';
import { shapeText } from './tfjs.js';

/** The machine-readable summary printed by `netspec check --json`. */
export interface Summary {
  readonly name: string;
  readonly input: readonly number[];
  readonly output: readonly number[];
  readonly params: { readonly trainable: number; readonly nonTrainable: number; readonly total: number };
  readonly macs: number;
  readonly layers: readonly { name: string; op: string; outputShape: readonly number[]; params: number; macs: number }[];
}

export function summarize(graph: AnalyzedGraph): Summary {
  return {
    name: graph.name,
    input: graph.inputShape,
    output: graph.outputShape,
    params: graph.params,
    macs: graph.macs,
    layers: graph.layers.map((layer) => ({
      name: layer.op.name,
      op: layer.op.kind,
      outputShape: layer.outputShape,
      params: layer.trainable + layer.nonTrainable,
      macs: layer.macs,
    })),
  };
}

/** A table in the manner of Keras `model.summary()` and torchinfo: one row per layer, then the totals. */
export function summaryTable(graph: AnalyzedGraph): string {
  const count = (value: number) => value.toLocaleString('en-US');
  const header = ['Layer (op)', 'Output shape', 'Params', 'MACs'];
  const rows = graph.layers.map((layer) => [
    `${layer.op.name} (${layer.op.kind})`,
    shapeText(layer.outputShape),
    count(layer.trainable + layer.nonTrainable),
    count(layer.macs),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [
    `Model: ${graph.name} (${graph.source.path})`,
    rule,
    line(header),
    rule,
    ...rows.map(line),
    rule,
    `Input: ${shapeText(graph.inputShape)}    Output: ${shapeText(graph.outputShape)}`,
    `Trainable params: ${count(graph.params.trainable)}`,
    `Non-trainable params: ${count(graph.params.nonTrainable)} (BatchNorm running statistics)`,
    `Total params: ${count(graph.params.total)}`,
    `MACs per image: ${count(graph.macs)} (${(graph.macs / 1e9).toFixed(2)} G)`,
  ].join('\n');
}
