import { shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { pythonCall } from './pytorch.js';

/** Dropout of features or of a feature map's elements (nn.Dropout), active only in training. */
export interface DropoutOp extends OpBase {
  readonly kind: 'dropout';
  readonly rate: number;
}

export const dropout: OpDefinition<DropoutOp> = {
  arity: 1,
  analyze: (_op, [input]) => shapeOnly(input!.shape),
  weights: () => [],
  call: (op) => ({ helper: 'dropout', options: { rate: op.rate } }),
  fusion: { identityAtInference: true },
  onnx: (_step, [input]) => input!,
  pytorch: { module: (op) => pythonCall('nn.Dropout', [op.rate]) },
};
