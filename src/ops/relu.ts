import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { pythonCall } from './pytorch.js';

export interface ReluOp extends OpBase {
  readonly kind: 'relu';
}

export const relu: OpDefinition<ReluOp> = {
  arity: 1,
  analyze: (op, [input]) => shapeOnly(featureMap(op, input!.shape)),
  weights: () => [],
  call: () => ({ helper: 'relu' }),
  onnx: ({ name }, inputs, graph) => graph.node('Relu', name, inputs),
  pytorch: { module: () => pythonCall('nn.ReLU', []) },
};
