import type { AnalyzedGraph } from '../ir/analyze.js';
import { layerMacs, layerMacsText, macsFormula, macsFormulaText, shapeFormula, shapeFormulaText } from '../ir/shape-formulas.js';

/** The machine-readable summary printed by `netspec check --json`: figures, or for an open size formulas of H and W. */
export interface Summary {
  readonly name: string;
  readonly input: readonly Dim[];
  /** Shape of the model's last output (its only one, unless the spec lists `outputs`). */
  readonly output: readonly Dim[];
  /** Every output by name: `output` for a single-output model, else `C2`… and the head's `logits` or `features`. */
  readonly outputs: Readonly<Record<string, readonly Dim[]>>;
  readonly params: { readonly trainable: number; readonly nonTrainable: number; readonly total: number };
  readonly macs: number | string;
  /** An open size's admissible sides: multiples of `multiple` from `minimum` to `maximum`. */
  readonly sizes?: { readonly minimum: number; readonly maximum: number; readonly multiple: number };
  readonly layers: readonly { name: string; op: string; outputShape: readonly Dim[]; params: number; macs: number | string }[];
}

/** A dimension: a number, or for an open size its formula, such as `⌈H/4⌉`. */
type Dim = number | string;

/** One row per layer, and the totals, as figures or (for an open size) formulas. */
interface Rows {
  readonly input: readonly Dim[];
  readonly outputs: readonly (readonly Dim[])[];
  readonly macs: number | string;
  readonly layers: readonly { readonly shape: readonly Dim[]; readonly macs: number | string }[];
}

function rowsOf(graph: AnalyzedGraph): Rows {
  if (!graph.sizes) {
    return {
      input: graph.inputShape,
      outputs: graph.outputShapes,
      macs: graph.macs,
      layers: graph.layers.map((layer) => ({ shape: layer.outputShape, macs: layer.macs })),
    };
  }
  const dims = (index: number) => shapeFormula(graph, index).map((dim) => (dim.kind === 'fixed' ? dim.value : shapeFormulaText([dim])));
  const index = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  const macs = layerMacs(graph);
  return {
    input: dims(0),
    outputs: graph.outputs.map((output) => dims(index.get(output.op)!)),
    macs: macsFormulaText(macsFormula(graph)),
    layers: macs.map((layer, i) => ({ shape: dims(i), macs: 'fixed' in layer ? layer.fixed : layerMacsText(layer) })),
  };
}

export function summarize(graph: AnalyzedGraph): Summary {
  const rows = rowsOf(graph);
  return {
    name: graph.name,
    input: rows.input,
    output: rows.outputs[rows.outputs.length - 1]!,
    outputs: Object.fromEntries(graph.outputs.map((output, i) => [output.name, rows.outputs[i]!])),
    params: graph.params,
    macs: rows.macs,
    ...(graph.sizes ? { sizes: { minimum: graph.sizes.minimum, maximum: graph.sizes.maximum, multiple: graph.sizes.multiple } } : {}),
    layers: graph.layers.map((layer, i) => ({
      name: layer.op.name,
      op: layer.op.kind,
      outputShape: rows.layers[i]!.shape,
      params: layer.trainable + layer.nonTrainable,
      macs: rows.layers[i]!.macs,
    })),
  };
}

/** A table in the manner of Keras `model.summary()` and torchinfo: one row per layer, then the totals. */
export function summaryTable(graph: AnalyzedGraph): string {
  const count = (value: number) => value.toLocaleString('en-US');
  const figure = (value: number | string) => (typeof value === 'number' ? count(value) : value);
  const rows = rowsOf(graph);
  const header = ['Layer (op)', 'Output shape', 'Params', 'MACs'];
  const cells = graph.layers.map((layer, i) => [
    `${layer.op.name} (${layer.op.kind})`,
    rows.layers[i]!.shape.join('×'),
    count(layer.trainable + layer.nonTrainable),
    figure(rows.layers[i]!.macs),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const macs = typeof rows.macs === 'number' ? `${count(rows.macs)} (${(rows.macs / 1e9).toFixed(2)} G)` : rows.macs;
  return [
    `Model: ${graph.name} (${graph.source.path})`,
    rule,
    line(header),
    rule,
    ...cells.map(line),
    rule,
    `Input: ${rows.input.join('×')}    Output${graph.outputs.length === 1 ? '' : 's'}: ${outputsText(graph)}`,
    ...(graph.sizes ? [`Sizes: H and W multiples of ${graph.sizes.multiple} from ${graph.sizes.minimum} to ${graph.sizes.maximum}`] : []),
    `Trainable params: ${count(graph.params.trainable)}`,
    `Non-trainable params: ${count(graph.params.nonTrainable)} (BatchNorm running statistics)`,
    `Total params: ${count(graph.params.total)}`,
    `MACs per image: ${macs}`,
  ].join('\n');
}

/** `10`, or `C2 56×56×256, C3 28×28×512` for a multi-output model; formulas for an open size. */
export function outputsText(graph: AnalyzedGraph): string {
  const { outputs } = rowsOf(graph);
  if (graph.outputs.length === 1) return outputs[0]!.join('×');
  return graph.outputs.map((output, i) => `${output.name} ${outputs[i]!.join('×')}`).join(', ');
}
