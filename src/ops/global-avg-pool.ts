import { int } from './onnx.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';

/** The mean of each channel over the whole map: a vector of features. */
export interface GlobalAvgPoolOp extends OpBase {
  readonly kind: 'globalAvgPool';
}

export const globalAvgPool: OpDefinition<GlobalAvgPoolOp> = {
  arity: 1,
  analyze: (op, [input]) => shapeOnly([featureMap(op, input!.shape)[2]]),
  weights: () => [],
  call: () => ({ helper: 'globalAvgPool' }),
  onnx: ({ name }, inputs, graph) => graph.node('Flatten', name, [graph.node('GlobalAveragePool', `${name}.pool`, inputs)], [int('axis', 1)]),
  pytorch: { expression: (_op, [x]) => `torch.flatten(F.adaptive_avg_pool2d(${x}, 1), 1)` },
};
