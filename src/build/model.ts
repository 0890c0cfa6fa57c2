import * as tf from '@tensorflow/tfjs';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { definitionOf } from '../ops/index.js';
import { layerHelpers } from '../runtime/ops/index.js';

type Tensor = tf.SymbolicTensor;

/**
 * Builds the tfjs model of an analysed graph directly, making the same runtime calls a generated module makes
 * (each op module's `call`), for commands that have a spec but no compiled module (`netspec predict`, training).
 */
export function buildModel(graph: AnalyzedGraph): tf.LayersModel {
  const tensors = new Map<string, Tensor>();
  for (const op of graph.ops) {
    if (op.kind === 'input') {
      // An open size leaves height and width to each batch.
      const shape = graph.sizes ? [null, null, op.shape[2]] : [...op.shape];
      tensors.set(op.name, tf.input({ shape, name: op.name }));
      continue;
    }
    const { helper, options } = definitionOf(op).call(op);
    const call = layerHelpers[helper] as (...args: unknown[]) => Tensor;
    tensors.set(op.name, call(...op.inputs.map((name) => tensors.get(name)!), op.name, options ?? {}));
  }
  const outputs = graph.outputs.map((output) => tensors.get(output.op)!);
  return tf.model({ inputs: tensors.get(graph.ops[0]!.name)!, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: graph.name });
}
