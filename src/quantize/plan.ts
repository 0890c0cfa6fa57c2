// Which parts of an fp32 ONNX graph become int8, read from the graph itself as onnxruntime's static quantiser
// reads it: the nodes that run on int8 values, the ReLUs their output ranges absorb, the activations that need a
// calibrated range, and what stays fp32.
import onnxProto from 'onnx-proto';

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;

/** Nodes run on quantised values, with their weights (if any) int8 per output channel. */
const QUANTISED = new Set(['Conv', 'Gemm', 'Add', 'AveragePool', 'GlobalAveragePool']);
/** Nodes that only move or select values, so their output keeps their input's range and int8 type. */
const RANGE_PRESERVING = new Set(['MaxPool', 'Flatten']);
/** Nodes whose output is kept fp32: the logits stay exact to the last multiply, after the int8 product. */
const FLOAT_OUTPUT = new Set(['Gemm']);
/** Nodes that only name a value (the graph's outputs). */
const NAMING = new Set(['Identity']);

export interface QuantizationPlan {
  /** The graph's nodes in order, ReLUs absorbed: their producer now writes the ReLU's output. */
  readonly nodes: readonly Node[];
  /** Activations quantised to 8 bits (a quantise and dequantise pair each), in the order they are computed. */
  readonly quantized: readonly string[];
  /** The activations among `quantized` whose ranges calibration measures; the others inherit one. */
  readonly calibrated: readonly string[];
  /** A range-preserving node's output and the value whose range it takes. */
  readonly inherits: ReadonlyMap<string, string>;
  /** Values a quantised node writes, so that every reader takes their dequantised form. */
  readonly writtenQuantized: ReadonlySet<string>;
  /** The op types that stay fp32, with how many nodes of each (absorbed ReLUs and naming nodes not counted). */
  readonly fp32: ReadonlyMap<string, number>;
}

export const readsQuantized = (node: Node) => QUANTISED.has(node.opType!) || RANGE_PRESERVING.has(node.opType!);

/** The activation inputs of a node: its inputs that are not initialisers (weights, biases, shapes). */
export function activationInputs(node: Node, initializers: ReadonlySet<string>): string[] {
  return node.input!.filter((name) => name !== '' && !initializers.has(name));
}

/** Plans the quantisation of a graph as emitOnnx writes it (topologically ordered, one output per node). */
export function planQuantization(graph: Graph): QuantizationPlan {
  const initializers = new Set(graph.initializer!.map((t) => t.name!));
  const nodes = absorbRelus(graph.node!, new Set(graph.output!.map((o) => o.name!)));
  const quantized = new Set<string>();
  const writtenQuantized = new Set<string>();
  const inherits = new Map<string, string>();
  const fp32 = new Map<string, number>();
  for (const input of graph.input!) if (nodes.some((node) => readsQuantized(node) && node.input!.includes(input.name!))) quantized.add(input.name!);
  for (const node of nodes) {
    if (!readsQuantized(node)) {
      if (!NAMING.has(node.opType!)) fp32.set(node.opType!, (fp32.get(node.opType!) ?? 0) + 1);
      continue;
    }
    const inputs = activationInputs(node, initializers);
    for (const input of inputs) quantized.add(input);
    if (FLOAT_OUTPUT.has(node.opType!)) continue;
    const output = node.output![0]!;
    quantized.add(output);
    writtenQuantized.add(output);
    if (RANGE_PRESERVING.has(node.opType!)) inherits.set(output, inherits.get(inputs[0]!) ?? inputs[0]!);
  }
  const order = [...graph.input!.map((i) => i.name!), ...nodes.map((node) => node.output![0]!)];
  const ordered = order.filter((name) => quantized.has(name));
  return { nodes, quantized: ordered, calibrated: ordered.filter((name) => !inherits.has(name)), inherits, writtenQuantized, fp32 };
}

/**
 * Drops each ReLU whose input a quantised node writes for it alone, the producer writing the ReLU's output
 * instead: the output range then starts at 0, which the zero point represents exactly, so quantisation clamps
 * negative values to 0 as the ReLU did (onnxruntime's quantiser removes them the same way).
 */
function absorbRelus(nodes: readonly Node[], graphOutputs: ReadonlySet<string>): Node[] {
  const readers = new Map<string, Node[]>();
  for (const node of nodes) for (const input of node.input!) readers.set(input, [...(readers.get(input) ?? []), node]);
  const renamed = new Map<string, string>();
  const dropped = new Set<Node>();
  for (const node of nodes) {
    if (node.opType !== 'Relu') continue;
    const input = node.input![0]!;
    const producer = nodes.find((candidate) => candidate.output![0] === input);
    if (!producer || !QUANTISED.has(producer.opType!) || FLOAT_OUTPUT.has(producer.opType!)) continue;
    if (readers.get(input)!.length !== 1 || graphOutputs.has(input)) continue;
    renamed.set(input, node.output![0]!);
    dropped.add(node);
  }
  return nodes
    .filter((node) => !dropped.has(node))
    .map((node) => (renamed.has(node.output![0]!) ? onnxProto.onnx.NodeProto.create({ ...node, output: [renamed.get(node.output![0]!)!] }) : node));
}
