import { InternalError } from '../errors/internal-error.js';
import { ints } from './onnx.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { outputSize, slidingWindow } from './window.js';
import { pythonCall } from './pytorch.js';

/** Max-pooling with symmetric padding; lowering only places it after a ReLU, so zero padding equals PyTorch's −∞ padding. */
export interface MaxPoolOp extends OpBase {
  readonly kind: 'maxPool';
  readonly poolSize: number;
  readonly stride: number;
  readonly padding: number;
}

export const maxPool: OpDefinition<MaxPoolOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const [h, w, c] = featureMap(op, input!.shape);
    if (op.padding > 0 && input!.kind !== 'relu') throw new InternalError(`${op.name} zero-pads an input that may be negative`);
    return shapeOnly([outputSize(h, op.poolSize, op.stride, op.padding), outputSize(w, op.poolSize, op.stride, op.padding), c]);
  },
  sides: (op, [input]) => slidingWindow(input!, op.poolSize, op.stride, op.padding),
  weights: () => [],
  call: (op) => ({ helper: 'maxPool', options: { poolSize: op.poolSize, stride: op.stride, padding: op.padding } }),
  onnx: ({ op, name }, inputs, graph) => {
    const p = op.padding;
    return graph.node('MaxPool', name, inputs, [
      ints('kernel_shape', [op.poolSize, op.poolSize]),
      ints('strides', [op.stride, op.stride]),
      ints('pads', [p, p, p, p]),
    ]);
  },
  pytorch: { module: (op) => pythonCall('nn.MaxPool2d', [op.poolSize], { stride: op.stride, padding: op.padding }) },
};
