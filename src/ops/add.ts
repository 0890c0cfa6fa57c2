import { InternalError } from '../errors/internal-error.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';

/** The residual sum of two feature maps of one shape. */
export interface AddOp extends OpBase {
  readonly kind: 'add';
}

export const add: OpDefinition<AddOp> = {
  arity: 2,
  analyze: (op, [a, b]) => {
    const shape = featureMap(op, a!.shape);
    if (b!.shape.join() !== shape.join()) throw new InternalError(`${op.name} adds ${shape.join('×')} to ${b!.shape.join('×')}`);
    return shapeOnly(shape);
  },
  weights: () => [],
  call: () => ({ helper: 'add' }),
  onnx: ({ name }, inputs, graph) => graph.node('Add', name, inputs),
  pytorch: { expression: (_op, [a, b]) => `${a} + ${b}` },
};
