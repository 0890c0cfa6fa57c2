import { InternalError } from '../diagnostics.js';
import { batchNormAffine } from '../runtime/batchnorm-affine.js';
import { int, ints, type OnnxGraph } from './onnx.js';
import { featureMap, type FusedStep, type OpBase, type OpDefinition } from './op.js';
import { outputSize } from './window.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/** A convolution without bias, zero-padded symmetrically by `padding` pixels on every side, as in PyTorch. */
export interface Conv2dOp extends OpBase {
  readonly kind: 'conv2d';
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  /** Input and output channels split into this many independent groups (ResNeXt). */
  readonly groups: number;
  /** Start with a zero kernel (the last convolution of a pre-activation block under zeroInitResidual). */
  readonly initZero: boolean;
}

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
    return { outputShape: [oh, ow, op.filters], trainable: weights, nonTrainable: 0, macs: oh * ow * weights };
  },
  weights: (op, [input]) => {
    const perGroup = input![2]! / op.groups;
    const k = op.kernelSize;
    // torchvision's initialisation: He normal over fan-out.
    const init = op.initZero ? { kind: 'constant', value: 0 } as const : { kind: 'normal', std: Math.sqrt(2 / (op.filters * k * k)) } as const;
    return [{ torch: 'weight', torchShape: [op.filters, perGroup, k, k], tfjs: 'kernel', tfjsShape: [k, k, perGroup, op.filters], layout: 'conv', init }];
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
      ...(op.initZero ? { initZero: true } : {}),
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
    const attributes = [ints('kernel_shape', [k, k]), ints('strides', [op.stride, op.stride]), ints('pads', [p, p, p, p]), ints('dilations', [op.dilation, op.dilation]), int('group', op.groups)];
    // The folded node takes the BatchNorm's name, the one its value had in the unfused graph.
    const conv = graph.node('Conv', step.batchNorm?.name ?? op.name, inputs, attributes);
    return step.relu ? graph.node('Relu', step.name, [conv]) : conv;
  },
  pytorch: {
    module: (op, [input]) =>
      pythonCall('_conv', [input![2]!, op.filters, op.kernelSize], {
        stride: op.stride === 1 ? undefined : op.stride,
        padding: op.padding === 0 ? undefined : op.padding,
        dilation: op.dilation === 1 ? undefined : op.dilation,
        groups: op.groups === 1 ? undefined : op.groups,
        zero_init: op.initZero || undefined,
      }),
    uses: [pythonConv],
  },
};

/**
 * The kernel (OIHW) and bias of a convolution with its BatchNorm folded in, in double precision and rounded once:
 * w·scale per output channel, and the shift as the bias. Without a BatchNorm, the kernel as it is.
 */
export function foldedConv(step: FusedStep<Conv2dOp>, graph: Pick<OnnxGraph, 'weight'>): { kernel: Float32Array; bias?: Float32Array } {
  const kernel = graph.weight(`${step.op.name}.weight`);
  if (!step.batchNorm) return { kernel };
  const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => graph.weight(`${step.batchNorm!.name}.${p}`)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const { scale, shift } = batchNormAffine(gamma, beta, mean, variance, step.batchNorm.epsilon);
  const perFilter = kernel.length / step.op.filters;
  return { kernel: Float32Array.from(kernel, (w, i) => w * scale[Math.floor(i / perFilter)]!), bias: Float32Array.from(shift) };
}
