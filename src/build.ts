import * as tf from '@tensorflow/tfjs';
import { runtimeCall, type Helper } from './emit/calls.js';
import type { AnalyzedGraph } from './ir/analyze.js';
import { add, avgPool, batchNorm, conv2d, dense, dropout, globalAvgPool, maxPool, relu } from './runtime/layers.js';

type Tensor = tf.SymbolicTensor;

/** Each helper with the calling convention the generated code uses: inputs, name, options. */
const helpers: Record<Helper, (inputs: Tensor[], name: string, options: never) => Tensor> = {
  conv2d: ([x], name, options) => conv2d(x!, name, options),
  batchNorm: ([x], name, options) => batchNorm(x!, name, options),
  relu: ([x], name) => relu(x!, name),
  add: ([a, b], name) => add(a!, b!, name),
  maxPool: ([x], name, options) => maxPool(x!, name, options),
  avgPool: ([x], name, options) => avgPool(x!, name, options),
  globalAvgPool: ([x], name) => globalAvgPool(x!, name),
  dropout: ([x], name, options) => dropout(x!, name, options),
  dense: ([x], name, options) => dense(x!, name, options),
};

/**
 * Builds the tfjs model of an analysed graph directly, making the same runtime calls a generated module makes,
 * for commands that have a spec but no compiled module (`netspec predict`).
 */
export function buildModel(graph: AnalyzedGraph): tf.LayersModel {
  const tensors = new Map<string, Tensor>();
  for (const op of graph.ops) {
    if (op.kind === 'input') {
      tensors.set(op.name, tf.input({ shape: [...op.shape], name: op.name }));
      continue;
    }
    const { helper, options } = runtimeCall(op);
    tensors.set(op.name, helpers[helper](op.inputs.map((name) => tensors.get(name)!), op.name, (options ?? {}) as never));
  }
  const outputs = graph.outputs.map((output) => tensors.get(output.op)!);
  return tf.model({ inputs: tensors.get(graph.ops[0]!.name)!, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: graph.name });
}
