import { ints } from './onnx.js';
import { featureMap, type OpBase, type OpDefinition } from './op.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * timm's EcaModule: the channel means, a 1-D convolution over the channel axis (`kernelSize` taps, zero-padded,
 * no bias), and a sigmoid gate that scales each channel of the input.
 */
export interface EfficientChannelAttentionOp extends OpBase {
  readonly kind: 'efficientChannelAttention';
  readonly kernelSize: number;
}

/** timm's EcaModule; nn.Conv1d keeps its own initialisation, the one declared above. */
const pythonEfficientChannelAttention: PythonDefinition = {
  name: '_EfficientChannelAttention',
  source: [
    'class _EfficientChannelAttention(nn.Module):',
    '    """timm\'s EcaModule: x · σ(conv1d(mean(x))) along the channels, zero-padded, without bias."""',
    '',
    '    def __init__(self, kernel_size: int) -> None:',
    '        super().__init__()',
    '        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)',
    '',
    '    def forward(self, x: Tensor) -> Tensor:',
    '        gate = self.conv(x.mean((2, 3)).unsqueeze(1))',
    '        return x * torch.sigmoid(gate).view(x.shape[0], -1, 1, 1)',
  ],
};

export const efficientChannelAttention: OpDefinition<EfficientChannelAttentionOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const shape = featureMap(op, input!.shape);
    return { outputShape: shape, trainable: op.kernelSize, nonTrainable: 0, macs: shape[2] * op.kernelSize };
  },
  weights: (op) => [
    // nn.Conv1d's default initialisation (timm re-initialises only 2-D convolutions): uniform ±1/√fan_in.
    {
      torch: 'conv.weight',
      torchShape: [1, 1, op.kernelSize],
      tfjs: 'conv/kernel',
      tfjsShape: [op.kernelSize],
      layout: 'vector',
      init: { kind: 'uniform', bound: 1 / Math.sqrt(op.kernelSize) },
    },
  ],
  call: (op) => ({ helper: 'efficientChannelAttention', options: { kernelSize: op.kernelSize } }),
  onnx: ({ op, name }, [input], graph) => {
    const k = op.kernelSize;
    const pooled = graph.node('GlobalAveragePool', `${name}.pool`, [input!]);
    // [batch, C, 1, 1] → [batch, 1, C]: Reshape's 0 keeps the batch dimension, −1 infers C.
    const sequence = graph.node('Reshape', `${name}.sequence`, [pooled, graph.int64Initializer(`${name}.sequence_shape`, [0, 1, -1])]);
    const kernel = graph.initializer(`${op.name}.conv.weight`, [1, 1, k], graph.weight(`${op.name}.conv.weight`));
    const mixed = graph.node('Conv', `${name}.conv`, [sequence, kernel], [ints('kernel_shape', [k]), ints('pads', [(k - 1) >> 1, (k - 1) >> 1])]);
    const gate = graph.node('Sigmoid', `${name}.gate`, [
      graph.node('Reshape', `${name}.channels`, [mixed, graph.int64Initializer(`${name}.channels_shape`, [0, -1, 1, 1])]),
    ]);
    return graph.node('Mul', name, [input!, gate]);
  },
  pytorch: { module: (op) => pythonCall('_EfficientChannelAttention', [op.kernelSize]), uses: [pythonEfficientChannelAttention] },
};
