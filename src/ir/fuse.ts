import { InternalError } from '../errors/internal-error.js';
import { definitionOf, type BatchNormOp, type Op, type ReluOp } from '../ops/index.js';
import type { FusedStep } from '../ops/op.js';
import type { Graph } from './graph.js';

/** A graph as inference runs it: BatchNorms folded, ReLUs fused, training-only ops gone. */
export interface FusedGraph {
  /** The input op's name, which steps read as they read any other value. */
  readonly input: string;
  /** Steps in execution order, the input excluded. */
  readonly steps: readonly FusedStep<Op>[];
  /** Each model output and the step (or the input) that computes it. */
  readonly outputs: readonly { readonly name: string; readonly step: string }[];
}

/**
 * The inference pass, used by the ONNX target and the optimised tfjs path alike. An op whose module absorbs
 * BatchNorm and ReLU (a convolution) takes the BatchNorm that alone reads it, then the ReLU that alone reads that;
 * an op that does nothing at inference (dropout, stochastic depth) is replaced by its input. A value that is a
 * model output is never absorbed into a later op, so every output stays computed.
 */
export function fuseForInference(graph: Graph): FusedGraph {
  const readers = new Map<string, Op[]>();
  for (const op of graph.ops) for (const input of op.inputs) readers.set(input, [...(readers.get(input) ?? []), op]);
  const exported = new Set(graph.outputs.map((output) => output.op));
  const soleReader = <K extends 'batchNorm' | 'relu'>(name: string, kind: K) => {
    const found = readers.get(name) ?? [];
    return found.length === 1 && found[0]!.kind === kind && !exported.has(name) ? (found[0] as K extends 'batchNorm' ? BatchNormOp : ReluOp) : undefined;
  };
  const [input, ...rest] = graph.ops;
  if (input?.kind !== 'input') throw new InternalError(`graph ${graph.name} does not start with its input`);
  /** The step that computes each op's value. */
  const valueNames = new Map<string, string>([[input.name, input.name]]);
  const steps: FusedStep<Op>[] = [];
  for (const op of rest) {
    if (valueNames.has(op.name)) continue;
    const inputs = op.inputs.map((name) => valueNames.get(name)!);
    const fusion = definitionOf(op).fusion;
    if (fusion?.identityAtInference) {
      valueNames.set(op.name, inputs[0]!);
      continue;
    }
    const batchNorm = fusion?.absorbsBatchNormAndRelu ? soleReader(op.name, 'batchNorm') : undefined;
    const relu = fusion?.absorbsBatchNormAndRelu ? soleReader(batchNorm?.name ?? op.name, 'relu') : undefined;
    const name = relu?.name ?? batchNorm?.name ?? op.name;
    for (const absorbed of [op, batchNorm, relu]) if (absorbed) valueNames.set(absorbed.name, name);
    steps.push({
      op,
      name,
      inputs,
      ...(batchNorm ? { batchNorm: { name: batchNorm.name, epsilon: batchNorm.epsilon } } : {}),
      ...(relu ? { relu: true } : {}),
    });
  }
  return { input: input.name, steps, outputs: graph.outputs.map((output) => ({ name: output.name, step: valueNames.get(output.op)! })) };
}
