import { int, ints } from './onnx.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { ceilPooledSize } from './window.js';
import { pythonCall } from './pytorch.js';

/**
 * Average-pooling of `stride`×`stride` windows in PyTorch's ceil mode without counting padding, as ResNet-D's
 * shortcut pools: a partial last window averages only the pixels it covers.
 */
export interface AvgPoolOp extends OpBase {
  readonly kind: 'avgPool';
  readonly stride: number;
}

export const avgPool: OpDefinition<AvgPoolOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const [h, w, c] = featureMap(op, input!.shape);
    return shapeOnly([ceilPooledSize(h, op.stride), ceilPooledSize(w, op.stride), c]);
  },
  weights: () => [],
  call: (op) => ({ helper: 'avgPool', options: { stride: op.stride } }),
  onnx: ({ op, name }, inputs, graph) =>
    graph.node('AveragePool', name, inputs, [ints('kernel_shape', [op.stride, op.stride]), ints('strides', [op.stride, op.stride]), int('ceil_mode', 1), int('count_include_pad', 0)]),
  pytorch: { module: (op) => pythonCall('nn.AvgPool2d', [op.stride], { stride: op.stride, ceil_mode: true, count_include_pad: false }) },
};
