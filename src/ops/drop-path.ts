import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';

/**
 * Stochastic depth on a residual branch (timm's DropPath): in training each image's branch is zeroed with
 * probability `rate` and otherwise scaled by 1 / (1 − rate); at inference it does nothing.
 */
export interface DropPathOp extends OpBase {
  readonly kind: 'dropPath';
  readonly rate: number;
}

export const dropPath: OpDefinition<DropPathOp> = {
  arity: 1,
  analyze: (op, [input]) => shapeOnly(featureMap(op, input!.shape)),
  weights: () => [],
  call: (op) => ({ helper: 'dropPath', options: { rate: op.rate } }),
  fusion: { identityAtInference: true },
  onnx: (_step, [input]) => input!,
};
