import { float, type OnnxGraph } from './onnx.js';
import { featureMap, vectorWeight, type OpBase, type OpDefinition } from './op.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

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

/** nn.BatchNorm2d, starting from a zero scale when asked (zeroInitResidual); its own initialisation is otherwise the one declared. */
const pythonBatchNorm: PythonDefinition = {
  name: '_batch_norm',
  source: [
    'def _batch_norm(channels: int, eps: float = 1e-5, momentum: float = 0.1, zero_init: bool = False) -> nn.BatchNorm2d:',
    '    """BatchNorm over channels; a zero scale makes the residual block it ends start as the identity."""',
    '    norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum)',
    '    if zero_init:',
    '        nn.init.zeros_(norm.weight)',
    '    return norm',
  ],
};

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
  pytorch: {
    module: (op, [input]) =>
      pythonCall('_batch_norm', [input![2]!], {
        eps: op.epsilon === 1e-5 ? undefined : op.epsilon,
        momentum: op.momentum === 0.1 ? undefined : op.momentum,
        zero_init: op.initZero || undefined,
      }),
    uses: [pythonBatchNorm],
  },
};
