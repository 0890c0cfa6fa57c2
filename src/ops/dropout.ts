import { shapeOnly, vector, type OpBase, type OpDefinition } from './op.js';
import { pythonCall } from './pytorch.js';

/** Dropout, active only in training. */
export interface DropoutOp extends OpBase {
  readonly kind: 'dropout';
  readonly rate: number;
}

export const dropout: OpDefinition<DropoutOp> = {
  arity: 1,
  analyze: (op, [input]) => shapeOnly([vector(op, input!.shape)]),
  weights: () => [],
  call: (op) => ({ helper: 'dropout', options: { rate: op.rate } }),
  fusion: { identityAtInference: true },
  onnx: (_step, [input]) => input!,
  pytorch: { module: (op) => pythonCall('nn.Dropout', [op.rate]) },
};
