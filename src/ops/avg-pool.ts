import { int, ints } from './onnx.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { ceilSide } from './side-formula.js';
import { ceilPooledSize, outputSize, slidingWindow } from './window.js';
import { pythonCall } from './pytorch.js';

/**
 * Average-pooling of unpadded `stride`×`stride` windows. In PyTorch's ceil mode without counting padding, as
 * ResNet-D's shortcut pools, a partial last window averages only the pixels it covers; in floor mode, as timm's
 * anti-aliasing nn.AvgPool2d(2) pools, a partial last window is dropped.
 */
export interface AvgPoolOp extends OpBase {
  readonly kind: 'avgPool';
  readonly stride: number;
  readonly ceilMode: boolean;
}

export const avgPool: OpDefinition<AvgPoolOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const [h, w, c] = featureMap(op, input!.shape);
    const pooled = (size: number) => (op.ceilMode ? ceilPooledSize(size, op.stride) : outputSize(size, op.stride, op.stride, 0));
    return shapeOnly([pooled(h), pooled(w), c]);
  },
  sides: (op, [input]) => (op.ceilMode ? { side: ceilSide(input!, op.stride), smallestInput: 1 } : slidingWindow(input!, op.stride, op.stride, 0)),
  weights: () => [],
  call: (op) => ({ helper: 'avgPool', options: { stride: op.stride, ...(op.ceilMode ? {} : { floor: true }) } }),
  onnx: ({ op, name }, inputs, graph) =>
    graph.node('AveragePool', name, inputs, [
      ints('kernel_shape', [op.stride, op.stride]),
      ints('strides', [op.stride, op.stride]),
      int('ceil_mode', op.ceilMode ? 1 : 0),
      int('count_include_pad', 0),
    ]),
  pytorch: {
    module: (op) =>
      op.ceilMode
        ? pythonCall('nn.AvgPool2d', [op.stride], { stride: op.stride, ceil_mode: true, count_include_pad: false })
        : pythonCall('nn.AvgPool2d', [op.stride]),
  },
};
