import type { AnalyzedGraph } from '../ir/analyze.js';
import { shapeText } from './tfjs.js';

/** The machine-readable summary printed by `netspec check --json`. */
export interface Summary {
  readonly name: string;
  readonly input: readonly number[];
  /** Shape of the model's last output (its only one, unless the spec lists `outputs`). */
  readonly output: readonly number[];
  /** Every output by name: `output` for a single-output model, else `C2`… and the head's `logits` or `features`. */
  readonly outputs: Readonly<Record<string, readonly number[]>>;
  readonly params: { readonly trainable: number; readonly nonTrainable: number; readonly total: number };
  readonly macs: number;
  readonly layers: readonly { name: string; op: string; outputShape: readonly number[]; params: number; macs: number }[];
}

export function summarize(graph: AnalyzedGraph): Summary {
  return {
    name: graph.name,
    input: graph.inputShape,
    output: graph.outputShapes[graph.outputShapes.length - 1]!,
    outputs: Object.fromEntries(graph.outputs.map((output, i) => [output.name, graph.outputShapes[i]!])),
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
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [
    `Model: ${graph.name} (${graph.source.path})`,
    rule,
    line(header),
    rule,
    ...rows.map(line),
    rule,
    `Input: ${shapeText(graph.inputShape)}    Output${graph.outputs.length === 1 ? '' : 's'}: ${outputsText(graph)}`,
    `Trainable params: ${count(graph.params.trainable)}`,
    `Non-trainable params: ${count(graph.params.nonTrainable)} (BatchNorm running statistics)`,
    `Total params: ${count(graph.params.total)}`,
    `MACs per image: ${count(graph.macs)} (${(graph.macs / 1e9).toFixed(2)} G)`,
  ].join('\n');
}

/** `10`, or `C2 56×56×256, C3 28×28×512` for a multi-output model. */
export function outputsText(graph: AnalyzedGraph): string {
  if (graph.outputs.length === 1) return shapeText(graph.outputShapes[0]!);
  return graph.outputs.map((output, i) => `${output.name} ${shapeText(graph.outputShapes[i]!)}`).join(', ');
}
