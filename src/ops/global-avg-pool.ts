import { int } from './onnx.js';
import { constantSide } from './side-formula.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';

/** The mean of each channel over the whole map: a vector of features, or with `keepDims` a 1×1 map (ASPP's pooling). */
export interface GlobalAvgPoolOp extends OpBase {
  readonly kind: 'globalAvgPool';
  readonly keepDims: boolean;
}

export const globalAvgPool: OpDefinition<GlobalAvgPoolOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const channels = featureMap(op, input!.shape)[2];
    return shapeOnly(op.keepDims ? [1, 1, channels] : [channels]);
  },
  sides: (op) => ({ side: op.keepDims ? constantSide(1) : null, smallestInput: 1 }),
  weights: () => [],
  call: (op) => ({ helper: 'globalAvgPool', ...(op.keepDims ? { options: { keepDims: true } } : {}) }),
  onnx: ({ op, name }, inputs, graph) =>
    op.keepDims
      ? graph.node('GlobalAveragePool', name, inputs)
      : graph.node('Flatten', name, [graph.node('GlobalAveragePool', `${name}.pool`, inputs)], [int('axis', 1)]),
  pytorch: { expression: (op, [x]) => (op.keepDims ? `F.adaptive_avg_pool2d(${x}, 1)` : `torch.flatten(F.adaptive_avg_pool2d(${x}, 1), 1)`) },
};
