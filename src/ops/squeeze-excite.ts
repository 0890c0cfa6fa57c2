import { ints } from './onnx.js';
import { featureMap, vectorWeight, type OpBase, type OpDefinition, type WeightSpec } from './op.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * timm's SEModule: the channel means through a 1×1 convolution to `reduced` channels, ReLU, a 1×1 convolution back,
 * and a sigmoid gate that scales each channel of the input. Both convolutions have a bias.
 */
export interface SqueezeExciteOp extends OpBase {
  readonly kind: 'squeezeExcite';
  readonly reduced: number;
}

/** timm's SEModule (without its optional BatchNorm), initialised as timm's ResNet does. */
const pythonSqueezeExcite: PythonDefinition = {
  name: '_SqueezeExcite',
  source: [
    'class _SqueezeExcite(nn.Module):',
    '    """timm\'s SEModule: x · σ(fc2(relu(fc1(mean(x))))), both 1×1 convolutions with bias."""',
    '',
    '    def __init__(self, channels: int, reduced: int) -> None:',
    '        super().__init__()',
    '        self.fc1 = nn.Conv2d(channels, reduced, 1)',
    '        self.fc2 = nn.Conv2d(reduced, channels, 1)',
    '        for fc in (self.fc1, self.fc2):',
    '            nn.init.kaiming_normal_(fc.weight, mode="fan_out", nonlinearity="relu")',
    '',
    '    def forward(self, x: Tensor) -> Tensor:',
    '        gate = self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True))))',
    '        return x * torch.sigmoid(gate)',
  ],
};

export const squeezeExcite: OpDefinition<SqueezeExciteOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const shape = featureMap(op, input!.shape);
    const c = shape[2];
    return { outputShape: shape, trainable: 2 * c * op.reduced + op.reduced + c, nonTrainable: 0, macs: 2 * c * op.reduced };
  },
  weights: (op, [input]) => {
    const c = input![2]!;
    return [...pointwise('fc1', c, op.reduced), ...pointwise('fc2', op.reduced, c)];
  },
  call: (op) => ({ helper: 'squeezeExcite', options: { reduced: op.reduced } }),
  onnx: ({ op, name }, [input], graph) => {
    const conv = (fc: string, x: string, out: number, inChannels: number) =>
      graph.node(
        'Conv',
        `${name}.${fc}`,
        [
          x,
          graph.initializer(`${op.name}.${fc}.weight`, [out, inChannels, 1, 1], graph.weight(`${op.name}.${fc}.weight`)),
          graph.initializer(`${op.name}.${fc}.bias`, [out], graph.weight(`${op.name}.${fc}.bias`)),
        ],
        [ints('kernel_shape', [1, 1])],
      );
    const c = graph.weight(`${op.name}.fc2.bias`).length;
    const pooled = graph.node('GlobalAveragePool', `${name}.pool`, [input!]);
    const hidden = graph.node('Relu', `${name}.act`, [conv('fc1', pooled, op.reduced, c)]);
    const gate = graph.node('Sigmoid', `${name}.gate`, [conv('fc2', hidden, c, op.reduced)]);
    return graph.node('Mul', name, [input!, gate]);
  },
  pytorch: { module: (op, [input]) => pythonCall('_SqueezeExcite', [input![2]!, op.reduced]), uses: [pythonSqueezeExcite] },
};

/**
 * A 1×1 convolution with bias, as timm initialises it in a ResNet: He normal over fan-out for the kernel, and
 * PyTorch's default uniform ±1/√fan_in for the bias.
 */
function pointwise(fc: string, inChannels: number, out: number): WeightSpec[] {
  return [
    {
      torch: `${fc}.weight`,
      torchShape: [out, inChannels, 1, 1],
      tfjs: `${fc}/kernel`,
      tfjsShape: [1, 1, inChannels, out],
      layout: 'conv',
      init: { kind: 'normal', std: Math.sqrt(2 / out) },
    },
    vectorWeight(`${fc}.bias`, `${fc}/bias`, out, { kind: 'uniform', bound: 1 / Math.sqrt(inChannels) }),
  ];
}
