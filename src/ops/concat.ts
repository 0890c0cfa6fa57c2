import { InternalError } from '../errors/internal-error.js';
import { int } from './onnx.js';
import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';

/** Feature maps of one height and width joined along channels, in input order (ASPP's branches). */
export interface ConcatOp extends OpBase {
  readonly kind: 'concat';
}

export const concat: OpDefinition<ConcatOp> = {
  arity: 'many',
  analyze: (op, inputs) => {
    const [height, width] = featureMap(op, inputs[0]!.shape);
    let channels = 0;
    for (const input of inputs) {
      const [h, w, c] = featureMap(op, input.shape);
      if (h !== height || w !== width) throw new InternalError(`${op.name} joins ${height}×${width} with ${h}×${w}`);
      channels += c;
    }
    return shapeOnly([height, width, channels]);
  },
  weights: () => [],
  call: () => ({ helper: 'concat' }),
  onnx: ({ name }, inputs, graph) => graph.node('Concat', name, inputs, [int('axis', 1)]),
  pytorch: { expression: (_op, inputs) => `torch.cat([${inputs.join(', ')}], dim=1)` },
};
