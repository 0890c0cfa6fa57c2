import { InternalError } from '../errors/internal-error.js';
import { batchNormAffine } from '../runtime/ops/batch-norm-affine.js';
import { int, ints, type OnnxGraph } from './onnx.js';
import { featureMap, vectorWeight, type FusedStep, type Init, type OpBase, type OpDefinition, type WeightSpec } from './op.js';
import { outputSize, slidingWindow } from './window.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * How a convolution's weights start, each as its PyTorch module does: torchvision's ResNet (He normal over fan-out),
 * zeros, PyTorch's own nn.Conv2d default (kernel and bias uniform ±1/√fan_in, as torchvision's segmentation heads
 * leave them), and torchvision's FPN (kaiming_uniform with a = 1, that is ±√(3/fan_in), and a zero bias).
 */
export type ConvInit = 'heFanOut' | 'zero' | 'pytorchDefault' | 'kaimingUniform';

/** A convolution, with or without bias, zero-padded symmetrically by `padding` pixels on every side, as in PyTorch. */
export interface Conv2dOp extends OpBase {
  readonly kind: 'conv2d';
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  /** Input and output channels split into this many independent groups (ResNeXt). */
  readonly groups: number;
  readonly bias: boolean;
  /** 'zero' for the last convolution of a pre-activation block under zeroInitResidual. */
  readonly init: ConvInit;
}

/** The gain g of a uniform init ±g·√(3/fan_in): PyTorch's default kaiming_uniform(a = √5) has g = √(1/3). */
const UNIFORM_GAIN = { pytorchDefault: Math.sqrt(1 / 3), kaimingUniform: 1 } as const;

/** The convolution of torchvision's FPN and LastLevelP6P7: kaiming_uniform with a = 1, and a zero bias. */
const pythonFpnConv: PythonDefinition = {
  name: '_fpn_conv',
  source: [
    'def _fpn_conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0) -> nn.Conv2d:',
    '    """A convolution with bias, initialised as torchvision\'s FeaturePyramidNetwork initialises its own."""',
    '    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)',
    '    nn.init.kaiming_uniform_(conv.weight, a=1)',
    '    nn.init.zeros_(conv.bias)',
    '    return conv',
  ],
};

/** The convolution as torchvision's ResNet makes and initialises it. */
const pythonConv: PythonDefinition = {
  name: '_conv',
  source: [
    'def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1, zero_init: bool = False) -> nn.Conv2d:',
    '    """A convolution without bias, He-normal over fan-out as torchvision initialises a ResNet, or zero."""',
    '    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=False)',
    '    if zero_init:',
    '        nn.init.zeros_(conv.weight)',
    '    else:',
    '        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")',
    '    return conv',
  ],
};

export const conv2d: OpDefinition<Conv2dOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const [h, w, c] = featureMap(op, input!.shape);
    if (c % op.groups !== 0 || op.filters % op.groups !== 0) throw new InternalError(`${op.name} splits ${c}→${op.filters} channels into ${op.groups} groups`);
    const oh = outputSize(h, op.kernelSize, op.stride, op.padding, op.dilation);
    const ow = outputSize(w, op.kernelSize, op.stride, op.padding, op.dilation);
    const weights = op.kernelSize * op.kernelSize * (c / op.groups) * op.filters;
    return { outputShape: [oh, ow, op.filters], trainable: weights + (op.bias ? op.filters : 0), nonTrainable: 0, macs: oh * ow * weights };
  },
  sides: (op, [input]) => slidingWindow(input!, op.kernelSize, op.stride, op.padding, op.dilation),
  macsGrowWith: 'outputPixels',
  weights: (op, [input]) => {
    const perGroup = input![2]! / op.groups;
    const k = op.kernelSize;
    const fanIn = perGroup * k * k;
    const init: Init =
      op.init === 'zero'
        ? { kind: 'constant', value: 0 }
        : op.init === 'heFanOut'
          ? { kind: 'normal', std: Math.sqrt(2 / (op.filters * k * k)) }
          : { kind: 'uniform', bound: UNIFORM_GAIN[op.init] * Math.sqrt(3 / fanIn) };
    const kernel: WeightSpec = {
      torch: 'weight',
      torchShape: [op.filters, perGroup, k, k],
      tfjs: 'kernel',
      tfjsShape: [k, k, perGroup, op.filters],
      layout: 'conv',
      init,
    };
    if (!op.bias) return [kernel];
    const biasInit: Init = op.init === 'pytorchDefault' ? { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) } : { kind: 'constant', value: 0 };
    return [kernel, vectorWeight('bias', 'bias', op.filters, biasInit)];
  },
  call: (op) => ({
    helper: 'conv2d',
    options: {
      filters: op.filters,
      kernelSize: op.kernelSize,
      stride: op.stride,
      padding: op.padding,
      ...(op.dilation > 1 ? { dilation: op.dilation } : {}),
      ...(op.groups > 1 ? { groups: op.groups } : {}),
      ...(op.bias ? { bias: true } : {}),
      ...(op.init === 'zero' ? { initZero: true } : {}),
      ...(op.init === 'pytorchDefault' || op.init === 'kaimingUniform'
        ? { uniformGain: UNIFORM_GAIN[op.init], biasUniform: op.init === 'pytorchDefault' }
        : {}),
    },
  }),
  fusion: { absorbsBatchNormAndRelu: true },
  onnx: (step, [input], graph) => {
    const { op } = step;
    const { kernel, bias } = foldedConv(step, graph);
    const k = op.kernelSize;
    const inputs = [input!, graph.initializer(`${op.name}.weight`, [op.filters, kernel.length / (op.filters * k * k), k, k], kernel)];
    if (bias) inputs.push(graph.initializer(`${op.name}.bias`, [op.filters], bias));
    const p = op.padding;
    const attributes = [
      ints('kernel_shape', [k, k]),
      ints('strides', [op.stride, op.stride]),
      ints('pads', [p, p, p, p]),
      ints('dilations', [op.dilation, op.dilation]),
      int('group', op.groups),
    ];
    // The folded node takes the BatchNorm's name, the one its value had in the unfused graph.
    const conv = graph.node('Conv', step.batchNorm?.name ?? op.name, inputs, attributes);
    return step.relu ? graph.node('Relu', step.name, [conv]) : conv;
  },
  pytorch: {
    module: (op, [input]) => {
      const geometry = {
        stride: op.stride === 1 ? undefined : op.stride,
        padding: op.padding === 0 ? undefined : op.padding,
        dilation: op.dilation === 1 ? undefined : op.dilation,
        groups: op.groups === 1 ? undefined : op.groups,
      };
      const args = [input![2]!, op.filters, op.kernelSize];
      // torchvision's segmentation heads keep nn.Conv2d's own initialisation.
      if (op.init === 'pytorchDefault') return pythonCall('nn.Conv2d', args, { ...geometry, bias: op.bias });
      if (op.init === 'kaimingUniform') return pythonCall('_fpn_conv', args, geometry);
      return pythonCall('_conv', args, { ...geometry, zero_init: op.init === 'zero' || undefined });
    },
    uses: (op) => (op.init === 'pytorchDefault' ? [] : [op.init === 'kaimingUniform' ? pythonFpnConv : pythonConv]),
  },
};

/**
 * The kernel (OIHW) and bias of a convolution with its BatchNorm folded in, in double precision and rounded once:
 * w·scale per output channel, and the shift as the bias. Without a BatchNorm, the kernel as it is.
 */
export function foldedConv(step: FusedStep<Conv2dOp>, graph: Pick<OnnxGraph, 'weight'>): { kernel: Float32Array; bias?: Float32Array } {
  const kernel = graph.weight(`${step.op.name}.weight`);
  const own = step.op.bias ? graph.weight(`${step.op.name}.bias`) : undefined;
  if (!step.batchNorm) return own ? { kernel, bias: own } : { kernel };
  const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => graph.weight(`${step.batchNorm!.name}.${p}`)) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const { scale, shift } = batchNormAffine(gamma, beta, mean, variance, step.batchNorm.epsilon);
  const perFilter = kernel.length / step.op.filters;
  // A bias before the BatchNorm moves with the mean: scale·(w·x + b) + shift = (scale·w)·x + (scale·b + shift).
  const bias = Float32Array.from(shift, (t, o) => (own ? t + scale[o]! * own[o]! : t));
  // A loop per filter rather than a callback per value: kernels run to tens of millions of values.
  const folded = new Float32Array(kernel.length);
  for (let o = 0; o < step.op.filters; o++) {
    const s = scale[o]!;
    for (let i = o * perFilter, end = i + perFilter; i < end; i++) folded[i] = kernel[i]! * s;
  }
  return { kernel: folded, bias };
}
