import { InternalError } from '../errors/internal-error.js';
import { shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { INPUT_SIDE } from './side-formula.js';

/** The model's input; tfjs makes it itself (`tf.input`), so it has no runtime helper. */
export interface InputOp extends OpBase {
  readonly kind: 'input';
  readonly shape: readonly [height: number, width: number, channels: number];
}

const notALayer = (): never => {
  throw new InternalError('the input is not built by a layer helper');
};

export const input: OpDefinition<InputOp> = {
  arity: 0,
  analyze: (op) => shapeOnly(op.shape),
  sides: () => ({ side: INPUT_SIDE, smallestInput: 1 }),
  weights: () => [],
  call: notALayer,
  onnx: notALayer,
  pytorch: null,
};
