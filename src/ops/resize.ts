import { InternalError } from '../errors/internal-error.js';
import { int, string, type OnnxGraph } from './onnx.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';

/**
 * A feature map resized to the height and width of a second one, as torchvision's segmentation models and FPN call
 * `F.interpolate(x, size=reference.shape[-2:])`: 'bilinear' with align_corners=False (source pixel (d + ½)·in/out − ½,
 * clamped at the edges), or 'nearest' (source pixel ⌊d·in/out⌋). The reference gives only its size; a 1×1 map
 * resized this way is broadcast over the reference (DeepLab's image-pooling branch).
 */
export interface ResizeOp extends OpBase {
  readonly kind: 'resize';
  readonly mode: 'bilinear' | 'nearest';
}

/**
 * `Resize` to the reference's height and width, keeping the input's batch and channels: the sizes input joins
 * the input's leading dimensions to the height and width, fixed, or for an open size read from the reference.
 */
function onnxResize(mode: ResizeOp['mode'], name: string, [input, reference]: readonly string[], size: readonly number[], graph: OnnxGraph): string {
  const shape = graph.node('Shape', `${name}.shape`, [input!]);
  const leading = graph.node('Slice', `${name}.leading`, [shape, graph.int64Initializer(`${name}.start`, [0]), graph.int64Initializer(`${name}.end`, [2])]);
  const sides = graph.openSize
    ? graph.node('Slice', `${name}.size`, [
        graph.node('Shape', `${name}.reference`, [reference!]),
        graph.int64Initializer(`${name}.from`, [2]),
        graph.int64Initializer(`${name}.to`, [4]),
      ])
    : graph.int64Initializer(`${name}.size`, [size[0]!, size[1]!]);
  const sizes = graph.node('Concat', `${name}.sizes`, [leading, sides], [int('axis', 0)]);
  // PyTorch's own export uses these modes; pytorch_half_pixel differs from half_pixel only for an output of size 1.
  const attributes =
    mode === 'bilinear'
      ? [string('mode', 'linear'), string('coordinate_transformation_mode', 'pytorch_half_pixel')]
      : [string('mode', 'nearest'), string('coordinate_transformation_mode', 'asymmetric'), string('nearest_mode', 'floor')];
  return graph.node('Resize', name, [input!, '', '', sizes], attributes);
}

export const resize: OpDefinition<ResizeOp> = {
  arity: 2,
  analyze: (op, [input, reference]) => {
    const [, , channels] = featureMap(op, input!.shape);
    const [height, width] = featureMap(op, reference!.shape);
    return shapeOnly([height, width, channels]);
  },
  // The first input takes the second's side, whatever its own.
  sides: (_op, [, reference]) => ({ side: reference!, smallestInput: 1 }),
  weights: () => [],
  call: (op) => ({ helper: 'resize', options: { bilinear: op.mode === 'bilinear' } }),
  onnx: ({ op, name }, inputs, graph) => {
    const size = graph.shapeOf(op.inputs[1]!);
    if (size.length !== 3) throw new InternalError(`${op.name} resizes to ${size.join('×')}`);
    return onnxResize(op.mode, name, inputs, size, graph);
  },
  pytorch: {
    expression: (op, [x, reference]) =>
      op.mode === 'bilinear'
        ? `F.interpolate(${x}, size=${reference}.shape[-2:], mode="bilinear", align_corners=False)`
        : `F.interpolate(${x}, size=${reference}.shape[-2:], mode="nearest")`,
  },
};
