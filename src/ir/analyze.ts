import { InternalError } from '../errors/internal-error.js';
import { definitionOf } from '../ops/index.js';
import type { OpAnalysis, Shape } from '../ops/op.js';
import type { Graph, Op } from './graph.js';
import type { OpenSizes } from './sizes.js';

export type { Shape } from '../ops/op.js';

export interface LayerAnalysis extends OpAnalysis {
  readonly op: Op;
}

export interface AnalyzedGraph extends Graph {
  readonly layers: readonly LayerAnalysis[];
  readonly inputShape: Shape;
  /** The shape of each output, in the order of `outputs`. */
  readonly outputShapes: readonly Shape[];
  readonly params: { readonly trainable: number; readonly nonTrainable: number; readonly total: number };
  readonly macs: number;
  /** For an open input size: the sides it takes and each layer's side formula. The figures above are at its largest. */
  readonly sizes?: OpenSizes;
}

/**
 * Computes every op's output shape, parameters and multiply-accumulates by arithmetic alone. Inconsistencies
 * here are compiler bugs, not user errors, so they throw. Counts are exact up to 2^53, far above the limits; the
 * schema's extremes can go past it, and the limits check rejects such a model, naming its counts as approximations.
 */
export function analyze(graph: Graph, sizes?: OpenSizes): AnalyzedGraph {
  const byName = new Map<string, LayerAnalysis>();
  const layers = graph.ops.map((op) => {
    if (byName.has(op.name)) throw new InternalError(`duplicate op name ${op.name}`);
    const inputs = op.inputs.map((name) => {
      const found = byName.get(name);
      if (!found) throw new InternalError(`${op.name} reads ${name}, which is not defined before it`);
      return found;
    });
    const layer = analyzeOp(op, inputs);
    if (layer.outputShape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
      throw new InternalError(`${op.name} has output shape ${layer.outputShape.join('×')}`);
    }
    byName.set(op.name, layer);
    return layer;
  });
  const input = layers[0];
  if (input?.op.kind !== 'input') throw new InternalError(`graph ${graph.name} lacks its input`);
  const outputShapes = graph.outputs.map((output) => {
    const found = byName.get(output.op);
    if (!found) throw new InternalError(`output ${output.name} reads ${output.op}, which is not defined`);
    return found.outputShape;
  });
  if (outputShapes.length === 0 || new Set(graph.outputs.map((o) => o.name)).size !== outputShapes.length) {
    throw new InternalError(`graph ${graph.name} has no outputs or duplicate output names`);
  }
  // tfjs drops layers that reach no output, so such an op would make the analysis disagree with the model.
  const live = new Set(graph.outputs.map((o) => o.op));
  for (const op of [...graph.ops].reverse()) if (live.has(op.name)) op.inputs.forEach((name) => live.add(name));
  const dead = graph.ops.find((op) => !live.has(op.name));
  if (dead) throw new InternalError(`${dead.name} reaches no output of ${graph.name}`);
  const sum = (pick: (layer: LayerAnalysis) => number) => layers.reduce((total, layer) => total + pick(layer), 0);
  const trainable = sum((layer) => layer.trainable);
  const nonTrainable = sum((layer) => layer.nonTrainable);
  return {
    ...graph,
    layers,
    inputShape: input.outputShape,
    outputShapes,
    params: { trainable, nonTrainable, total: trainable + nonTrainable },
    macs: sum((layer) => layer.macs),
    ...(sizes ? { sizes } : {}),
  };
}

/** The same graph analysed at one input size: its figures for a `height`×`width` image (admissible; see sizeProblem). */
export function analyzeAt(graph: AnalyzedGraph, height: number, width: number): AnalyzedGraph {
  const ops = graph.ops.map((op) => (op.kind === 'input' ? { ...op, shape: [height, width, op.shape[2]] as const } : op));
  return analyze({ ...graph, ops }, graph.sizes);
}

function analyzeOp(op: Op, inputs: readonly LayerAnalysis[]): LayerAnalysis {
  const definition = definitionOf(op);
  if (definition.arity === 'many' ? inputs.length === 0 : inputs.length !== definition.arity)
    throw new InternalError(`${op.name} (${op.kind}) has ${inputs.length} inputs`);
  return {
    op,
    ...definition.analyze(
      op,
      inputs.map((input) => ({ kind: input.op.kind, shape: input.outputShape })),
    ),
  };
}
