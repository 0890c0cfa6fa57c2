import { float, type OnnxGraph } from './onnx.js';
import { featureMap, vectorWeight, type OpBase, type OpDefinition } from './op.js';

/** BatchNorm over channels; `momentum` in PyTorch's convention (weight of the new batch statistic). */
export interface BatchNormOp extends OpBase {
  readonly kind: 'batchNorm';
  readonly epsilon: number;
  readonly momentum: number;
  /** Start with a zero scale, so the block it ends starts as the identity (zeroInitResidual). */
  readonly initZero: boolean;
}

/** PyTorch's parameter and buffer names, in tfjs' weight order. */
const PARAMS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

export const batchNorm: OpDefinition<BatchNormOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const shape = featureMap(op, input!.shape);
    return { outputShape: shape, trainable: 2 * shape[2], nonTrainable: 2 * shape[2], macs: 0 };
  },
  weights: (op, [input]) => {
    const c = input![2]!;
    return [
      vectorWeight('weight', 'gamma', c, { kind: 'constant', value: op.initZero ? 0 : 1 }),
      vectorWeight('bias', 'beta', c, { kind: 'constant', value: 0 }),
      vectorWeight('running_mean', 'moving_mean', c, { kind: 'constant', value: 0 }),
      vectorWeight('running_var', 'moving_variance', c, { kind: 'constant', value: 1 }),
    ];
  },
  // tfjs weighs the running value, so its momentum is 1 − PyTorch's.
  call: (op) => ({ helper: 'batchNorm', options: { epsilon: op.epsilon, momentum: 1 - op.momentum, ...(op.initZero ? { initZero: true } : {}) } }),
  onnx: ({ op, name }, [input], graph: OnnxGraph) => {
    const params = PARAMS.map((p) => graph.initializer(`${op.name}.${p}`, [graph.weight(`${op.name}.${p}`).length], graph.weight(`${op.name}.${p}`)));
    return graph.node('BatchNormalization', name, [input!, ...params], [float('epsilon', op.epsilon)]);
  },
};
