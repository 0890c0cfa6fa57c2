import type { Graph } from '../ir/graph.js';
import { fuseForInference } from '../ir/fuse.js';
import { definitionOf } from '../ops/index.js';
import type { InferencePlan } from '../runtime/inference/plan.js';

/** The inference pass's result in the runtime's terms: what `optimizeForInference` runs for this graph. */
export function inferencePlan(graph: Graph): InferencePlan {
  const fused = fuseForInference(graph);
  return {
    input: fused.input,
    steps: fused.steps.map((step) => {
      const { helper, options } = definitionOf(step.op).call(step.op);
      return {
        helper,
        name: step.name,
        layer: step.op.name,
        inputs: step.inputs,
        ...(options ? { options } : {}),
        ...(step.batchNorm ? { batchNorm: { layer: step.batchNorm.name, epsilon: step.batchNorm.epsilon } } : {}),
        ...(step.relu ? { relu: true } : {}),
      };
    }),
    outputs: fused.outputs.map((output) => output.step),
  };
}
