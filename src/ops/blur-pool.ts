import { BLUR_TAPS, blurFilterValues, blurPadding } from '../runtime/ops/blur-filter.js';
import { int, ints, string } from './onnx.js';
import { featureMap, type OpBase, type OpDefinition } from './op.js';
import { outputSize, slidingWindow } from './window.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * timm's BlurPool2d with its default 3×3 filter: each channel reflect-padded by one pixel and convolved, with the
 * stride, by the fixed binomial filter [1, 2, 1]ᵀ[1, 2, 1] / 16. The filter is a non-persistent buffer in timm: no
 * weights, nothing in the state dict.
 */
export interface BlurPoolOp extends OpBase {
  readonly kind: 'blurPool';
  readonly stride: number;
}

const SIZE = BLUR_TAPS.length;

/** The filter, [channels, 1, 3, 3] in PyTorch's depthwise layout: the same 3×3 values for every channel. */
function blurFilter(channels: number): Float32Array {
  const single = blurFilterValues();
  return Float32Array.from({ length: channels * single.length }, (_, i) => single[i % single.length]!);
}

/** timm's BlurPool2d; its filter is a buffer left out of the state dict, as timm registers it. */
const pythonBlurPool: PythonDefinition = {
  name: '_BlurPool2d',
  source: [
    'class _BlurPool2d(nn.Module):',
    '    """timm\'s BlurPool2d: reflect padding, then a strided depthwise convolution by the 3×3 binomial filter."""',
    '',
    '    def __init__(self, channels: int, stride: int = 2) -> None:',
    '        super().__init__()',
    '        self.channels = channels',
    '        self.stride = stride',
    '        self.padding = (stride - 1 + 2) // 2',
    '        taps = torch.tensor([0.25, 0.5, 0.25])',
    '        self.register_buffer("filt", (taps[:, None] * taps[None, :]).expand(channels, 1, 3, 3).contiguous(), persistent=False)',
    '',
    '    def forward(self, x: Tensor) -> Tensor:',
    '        x = F.pad(x, [self.padding] * 4, mode="reflect")',
    '        return F.conv2d(x, self.filt, stride=self.stride, groups=self.channels)',
  ],
};

export const blurPool: OpDefinition<BlurPoolOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const [h, w, c] = featureMap(op, input!.shape);
    const p = blurPadding(op.stride);
    const [oh, ow] = [outputSize(h, SIZE, op.stride, p), outputSize(w, SIZE, op.stride, p)];
    // A depthwise convolution: nine multiply-accumulates per output value.
    return { outputShape: [oh, ow, c], trainable: 0, nonTrainable: 0, macs: oh * ow * c * SIZE * SIZE };
  },
  sides: (op, [input]) => {
    const p = blurPadding(op.stride);
    const window = slidingWindow(input!, SIZE, op.stride, p);
    // Reflect padding mirrors p pixels inside the map, so it needs more than p of them.
    return { ...window, smallestInput: Math.max(window.smallestInput, p + 1) };
  },
  macsGrowWith: 'outputPixels',
  weights: () => [],
  call: (op) => ({ helper: 'blurPool', options: { stride: op.stride } }),
  onnx: ({ op, name }, [input], graph) => {
    const channels = graph.shapeOf(op.inputs[0]!)[2]!;
    const p = blurPadding(op.stride);
    const padded = graph.node('Pad', `${name}.pad`, [input!, graph.int64Initializer(`${name}.pads`, [0, 0, p, p, 0, 0, p, p])], [string('mode', 'reflect')]);
    const filter = graph.initializer(`${name}.filt`, [channels, 1, SIZE, SIZE], blurFilter(channels));
    return graph.node('Conv', name, [padded, filter], [ints('kernel_shape', [SIZE, SIZE]), ints('strides', [op.stride, op.stride]), int('group', channels)]);
  },
  pytorch: { module: (op, [input]) => pythonCall('_BlurPool2d', [input![2]!], { stride: op.stride === 2 ? undefined : op.stride }), uses: [pythonBlurPool] },
};
