import { InternalError } from '../errors/internal-error.js';
import { float, type OnnxGraph } from './onnx.js';
import { featureMap, vectorWeight, type OpBase, type OpDefinition } from './op.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * GroupNorm as timm's resnet50_gn uses it: the channels split into `groups`, each group normalised over its channels
 * and the whole image, then a per-channel scale and shift. No running statistics: training and inference agree.
 */
export interface GroupNormOp extends OpBase {
  readonly kind: 'groupNorm';
  readonly groups: number;
  readonly epsilon: number;
  /** Start with a zero scale, so the block it ends starts as the identity (timm's zero_init_last). */
  readonly initZero: boolean;
}

/** nn.GroupNorm, starting from a zero scale when asked; timm's GroupNorm is this class under the same names. */
const pythonGroupNorm: PythonDefinition = {
  name: '_group_norm',
  source: [
    'def _group_norm(groups: int, channels: int, eps: float = 1e-5, zero_init: bool = False) -> nn.GroupNorm:',
    '    """GroupNorm over channels; a zero scale makes the residual block it ends start as the identity."""',
    '    norm = nn.GroupNorm(groups, channels, eps=eps)',
    '    if zero_init:',
    '        nn.init.zeros_(norm.weight)',
    '    return norm',
  ],
};

export const groupNorm: OpDefinition<GroupNormOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const shape = featureMap(op, input!.shape);
    if (shape[2] % op.groups !== 0) throw new InternalError(`${op.name} splits ${shape[2]} channels into ${op.groups} groups`);
    return { outputShape: shape, trainable: 2 * shape[2], nonTrainable: 0, macs: 0 };
  },
  weights: (op, [input]) => {
    const c = input![2]!;
    return [
      vectorWeight('weight', 'gamma', c, { kind: 'constant', value: op.initZero ? 0 : 1 }),
      vectorWeight('bias', 'beta', c, { kind: 'constant', value: 0 }),
    ];
  },
  call: (op) => ({ helper: 'groupNorm', options: { groups: op.groups, epsilon: op.epsilon, ...(op.initZero ? { initZero: true } : {}) } }),
  onnx: ({ op, name }, [input], graph: OnnxGraph) => {
    // Opset 17 has no GroupNormalization: InstanceNormalization over [batch, groups, rest] normalises each group,
    // then the shape comes back and the per-channel scale and shift apply.
    const channels = graph.shapeOf(op.inputs[0]!)[2]!;
    const grouped = graph.node('Reshape', `${name}.grouped`, [input!, graph.int64Initializer(`${name}.grouped_shape`, [0, op.groups, -1])]);
    const unit = (value: number) => new Float32Array(op.groups).fill(value);
    const normalised = graph.node(
      'InstanceNormalization',
      `${name}.normalised`,
      [grouped, graph.initializer(`${name}.unit_scale`, [op.groups], unit(1)), graph.initializer(`${name}.unit_shift`, [op.groups], unit(0))],
      [float('epsilon', op.epsilon)],
    );
    const restored = graph.node('Reshape', `${name}.restored`, [normalised, graph.node('Shape', `${name}.shape`, [input!])]);
    const perChannel = (p: string) => graph.initializer(`${op.name}.${p}`, [channels, 1, 1], graph.weight(`${op.name}.${p}`));
    return graph.node('Add', name, [graph.node('Mul', `${name}.scaled`, [restored, perChannel('weight')]), perChannel('bias')]);
  },
  pytorch: {
    module: (op, [input]) =>
      pythonCall('_group_norm', [op.groups, input![2]!], { eps: op.epsilon === 1e-5 ? undefined : op.epsilon, zero_init: op.initZero || undefined }),
    uses: [pythonGroupNorm],
  },
};
