import * as tf from '@tensorflow/tfjs';

/**
 * Gradient kernels for the wasm backend, which ships none for a convolution's filter (`Conv2DBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropFilter`), none for a depthwise convolution's input, and a `Conv2DBackpropInput`
 * written as plain loops (11× slower than its forward convolution on ResNet-20's shapes). Each is rewritten here
 * as a composition of the backend's own kernels, so the multiply-accumulates run in the same XNNPACK SIMD
 * convolutions as the forward pass:
 *
 * - filter gradient = one convolution with the roles swapped: the padded input transposed to
 *   [channels, height, width, batch] is convolved with the output gradient transposed to
 *   [outHeight, outWidth, batch, outChannels], using the forward stride as dilation and the forward dilation as
 *   stride: out[c, kh, kw, o] = Σ_{n,oh,ow} x[n, oh·s + kh·d − top, ow·s + kw·d − left, c] · dy[n, oh, ow, o].
 * - input gradient = a stride-1 convolution of the output gradient with the filter rotated 180° and its channel
 *   axes swapped; at a stride above 1, one such convolution per sub-pixel phase with that phase's taps of the
 *   filter (zero interleaving only for kernels smaller than the stride, or a dilation that is strided too).
 * - depthwise filter gradient = an im2col matrix times the output gradient, batched over channels.
 * - depthwise input gradient = one depthwise convolution per channel multiplier, summed.
 *
 * Gradients of dilated convolutions are computed alike; tfjs' own Conv2D and depthwise gradients refuse dilation
 * above 1 before reaching these kernels, so they are replaced by ones that pass it on (see dilatedConvGradient).
 */

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend & { disposeData(dataId: object): boolean };
type Attrs = Record<string, unknown>;
type Pair = [number, number];
type Shape4 = [number, number, number, number];
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

/** Runs the wasm backend's kernels directly and frees every intermediate result once a composite is done. */
class KernelRunner {
  private readonly made: TensorInfo[] = [];

  constructor(private readonly backend: Backend) {}

  run(kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: Attrs = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (!kernel) throw new Error(`the wasm backend has no ${kernelName} kernel`);
    const output = kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
    this.made.push(output);
    return output;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Pads with zeros; negative amounts crop instead, which PadV2 cannot do. */
  pad(x: TensorInfo, paddings: Pair[]): TensorInfo {
    const grow = paddings.map(([before, after]): Pair => [Math.max(before, 0), Math.max(after, 0)]);
    const padded = grow.some(([before, after]) => before > 0 || after > 0) ? this.run('PadV2', { x }, { paddings: grow, constantValue: 0 }) : x;
    if (paddings.every(([before, after]) => before >= 0 && after >= 0)) return padded;
    const begin = paddings.map(([before]) => Math.max(-before, 0));
    const size = padded.shape.map((extent, axis) => extent - begin[axis]! - Math.max(-paddings[axis]![1], 0));
    return this.run('Slice', { x: padded }, { begin, size });
  }

  /** Returns `result` to the engine and frees everything else this runner made. */
  finish(result: TensorInfo): TensorInfo {
    for (const info of this.made) if (info !== result) this.backend.disposeData(info.dataId);
    return result;
  }
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, depthwise: boolean): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC' && attrs.dataFormat !== 'channelsLast') {
    throw new Error(`netspec's wasm gradient kernels support NHWC data only, got ${String(attrs.dataFormat)}`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides as Pair | number,
    (attrs.dilations as Pair | number | undefined) ?? 1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
  );
}

/** The padded (or cropped) input rows and columns the forward convolution read, [n, read height, read width, c]. */
function readWindow(runner: KernelRunner, x: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { top, left } = info.padInfo;
  const readHeight = (info.filterHeight - 1) * info.dilationHeight + (info.outHeight - 1) * info.strideHeight + 1;
  const readWidth = (info.filterWidth - 1) * info.dilationWidth + (info.outWidth - 1) * info.strideWidth + 1;
  return runner.pad(x, [
    [0, 0],
    [top, readHeight - top - info.inHeight],
    [left, readWidth - left - info.inWidth],
    [0, 0],
  ]);
}

/**
 * dy with stride − 1 zeros after every row and column, then padded so that a stride-1 convolution with the
 * rotated filter yields exactly the input's height and width.
 */
function spreadOutputGradient(runner: KernelRunner, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
  const [batch, , , channels] = dy.shape as Shape4;
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const split = runner.reshape(dy, [batch, outHeight, 1, outWidth, 1, channels]);
    const interleaved = runner.pad(split, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    spread = runner.reshape(interleaved, [batch, outHeight * sh, outWidth * sw, channels]);
  }
  const before = (extent: number, dilation: number, pad: number) => {
    const amount = (extent - 1) * dilation - pad;
    if (amount < 0) throw new Error(`netspec's wasm gradient kernels cannot invert a padding of ${pad} larger than the kernel's reach`);
    return amount;
  };
  const top = before(info.filterHeight, info.dilationHeight, info.padInfo.top);
  const left = before(info.filterWidth, info.dilationWidth, info.padInfo.left);
  // The padded gradient must be (k − 1)·d + input extent long; trailing interleaved zeros may be cropped.
  const bottom = info.inHeight + info.padInfo.top - outHeight * sh;
  const right = info.inWidth + info.padInfo.left - outWidth * sw;
  return runner.pad(spread, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
}

/** The filter rotated by 180° in its spatial axes. */
function rotate(runner: KernelRunner, filter: TensorInfo): TensorInfo {
  return runner.run('Reverse', { x: filter }, { dims: [0, 1] });
}

function conv2DBackpropFilter({ inputs, backend, attrs = {} }: KernelArgs): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = (attrs as Attrs).filterShape as Shape4;
  const info = convInfo(x.shape, filterShape, attrs as Attrs, false);
  const runner = new KernelRunner(backend as Backend);
  const window = runner.transpose(readWindow(runner, x, info), [3, 1, 2, 0]);
  const gradientAsFilter = runner.transpose(dy, [1, 2, 0, 3]);
  const swapped = runner.run(
    'Conv2D',
    { x: window, filter: gradientAsFilter },
    { strides: [info.dilationHeight, info.dilationWidth], dilations: [info.strideHeight, info.strideWidth], pad: 'valid', dataFormat: 'NHWC' },
  );
  return runner.finish(runner.transpose(swapped, [1, 2, 0, 3]));
}

/**
 * The input gradient of a strided, undilated convolution without zero interleaving, split by sub-pixel phase. With
 * u = i + top, an input row of phase r = u mod s receives dy[o]·w[k] only from taps k ≡ r (mod s): writing
 * u = s·q + r and k = r + s·j, dx[u] = Σ_j dy[q − j]·w[r + s·j], a stride-1 convolution of dy with the sub-filter
 * w[r::s], rotated. Each of the s² phases is one such convolution over Q = ⌈(top + in) / s⌉ positions per axis; the
 * phases interleave into [n, Q·s, Q'·s, c], cropped to the input from (top, left).
 * The products are exactly the convolution's, where the interleaved form also multiplies the (s² − 1) / s² zeros.
 */
function stridedInputGradient(runner: KernelRunner, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inChannels: channels, batchSize: batch } = info;
  const { top, left } = info.padInfo;
  const rows = Math.ceil((top + info.inHeight) / sh);
  const cols = Math.ceil((left + info.inWidth) / sw);
  // Taps of phase r along an axis: k = r, r + s, … below the kernel's extent (at least one, as the kernel ≥ the stride).
  const taps = (extent: number, stride: number, phase: number) => Math.ceil((extent - phase) / stride);
  const rowPieces: TensorInfo[] = [];
  for (let rh = 0; rh < sh; rh++) {
    const pieces: TensorInfo[] = [];
    for (let rw = 0; rw < sw; rw++) {
      const [th, tw] = [taps(kh, sh, rh), taps(kw, sw, rw)];
      const end = [rh + (th - 1) * sh + 1, rw + (tw - 1) * sw + 1, channels, info.outChannels];
      const sub = runner.run(
        'StridedSlice',
        { x: filter },
        { begin: [rh, rw, 0, 0], end, strides: [sh, sw, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
      );
      const flipped = runner.transpose(rotate(runner, sub), [0, 1, 3, 2]);
      const padded = runner.pad(dy, [
        [0, 0],
        [th - 1, rows - info.outHeight],
        [tw - 1, cols - info.outWidth],
        [0, 0],
      ]);
      const phase = runner.run('Conv2D', { x: padded, filter: flipped }, { strides: 1, dilations: 1, pad: 'valid', dataFormat: 'NHWC' });
      pieces.push(runner.reshape(phase, [batch, rows, 1, cols, 1, channels]));
    }
    rowPieces.push(sw === 1 ? pieces[0]! : runner.run('Concat', pieces, { axis: 4 }));
  }
  const phases = sh === 1 ? rowPieces[0]! : runner.run('Concat', rowPieces, { axis: 2 });
  const whole = runner.reshape(phases, [batch, rows * sh, cols * sw, channels]);
  return runner.run('Slice', { x: whole }, { begin: [0, top, left, 0], size: [batch, info.inHeight, info.inWidth, channels] });
}

function conv2DBackpropInput({ inputs, backend, attrs = {} }: KernelArgs): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const info = convInfo((attrs as Attrs).inputShape as number[], filter.shape, attrs as Attrs, false);
  const runner = new KernelRunner(backend as Backend);
  // Where a phase has no taps (a 1×1 kernel at stride 2), zero-filling and interleaving the phases costs more than
  // the interleaved convolution's wasted products: measured slower on ResNet-20's shortcuts.
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  const everyPhaseHasTaps = info.filterHeight >= info.strideHeight && info.filterWidth >= info.strideWidth;
  if (strided && everyPhaseHasTaps && info.dilationHeight === 1 && info.dilationWidth === 1)
    return runner.finish(stridedInputGradient(runner, dy, filter, info));
  const spread = spreadOutputGradient(runner, dy, info);
  const flipped = runner.transpose(rotate(runner, filter), [0, 1, 3, 2]);
  const dx = runner.run(
    'Conv2D',
    { x: spread, filter: flipped },
    { strides: 1, dilations: [info.dilationHeight, info.dilationWidth], pad: 'valid', dataFormat: 'NHWC' },
  );
  return runner.finish(dx);
}

function depthwiseBackpropFilter({ inputs, backend, attrs = {} }: KernelArgs): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = (attrs as Attrs).filterShape as Shape4;
  const [kh, kw, channels, multiplier] = filterShape;
  const info = convInfo(x.shape, filterShape, attrs as Attrs, true);
  const runner = new KernelRunner(backend as Backend);
  const window = readWindow(runner, x, info);
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const taps: TensorInfo[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const top = i * info.dilationHeight;
      const left = j * info.dilationWidth;
      const end = [info.batchSize, top + (info.outHeight - 1) * info.strideHeight + 1, left + (info.outWidth - 1) * info.strideWidth + 1, channels];
      const tap = runner.run(
        'StridedSlice',
        { x: window },
        {
          begin: [0, top, left, 0],
          end,
          strides: [1, info.strideHeight, info.strideWidth, 1],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        },
      );
      taps.push(runner.reshape(tap, [1, positions, channels]));
    }
  }
  const columns = taps.length === 1 ? taps[0]! : runner.run('Concat', taps, { axis: 0 });
  const byChannel = runner.transpose(columns, [2, 0, 1]);
  const gradient = runner.transpose(runner.reshape(dy, [positions, channels, multiplier]), [1, 0, 2]);
  const product = runner.run('BatchMatMul', { a: byChannel, b: gradient }, { transposeA: false, transposeB: false });
  return runner.finish(runner.reshape(runner.transpose(product, [1, 0, 2]), filterShape));
}

function depthwiseBackpropInput({ inputs, backend, attrs = {} }: KernelArgs): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const [kh, kw, channels, multiplier] = filter.shape as Shape4;
  const info = convInfo((attrs as Attrs).inputShape as number[], filter.shape, attrs as Attrs, true);
  const runner = new KernelRunner(backend as Backend);
  const spread = spreadOutputGradient(runner, dy, info);
  const [batch, height, width] = spread.shape as Shape4;
  const rotated = rotate(runner, filter);
  const parts: TensorInfo[] = [];
  for (let m = 0; m < multiplier; m++) {
    const gradient =
      multiplier === 1
        ? spread
        : runner.run(
            'StridedSlice',
            { x: spread },
            {
              begin: [0, 0, 0, m],
              end: [batch, height, width, channels * multiplier],
              strides: [1, 1, 1, multiplier],
              beginMask: 0,
              endMask: 0,
              ellipsisMask: 0,
              newAxisMask: 0,
              shrinkAxisMask: 0,
            },
          );
    const weights = multiplier === 1 ? rotated : runner.run('Slice', { x: rotated }, { begin: [0, 0, 0, m], size: [kh, kw, channels, 1] });
    parts.push(
      runner.run('DepthwiseConv2dNative', { x: gradient, filter: weights }, { strides: 1, dilations: [info.dilationHeight, info.dilationWidth], pad: 'valid' }),
    );
  }
  return runner.finish(parts.length === 1 ? parts[0]! : runner.run('AddN', parts));
}

/**
 * tfjs' FusedBatchNorm gradient tiles the per-channel factor to the input's full shape before multiplying (a
 * copy as large as the activation, 35% of a ResNet-20 training step on wasm). The same gradient with
 * broadcasting instead, for every backend; the other inputs' gradients are unchanged.
 */
const batchNormGradient: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const dyOut = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const scaleValue = scale ?? tf.scalar(1);
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor) => (reductionAxes.length > 0 ? tf.sum(t, reductionAxes) : t).reshape(mean.shape);
    const inverseStd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const centred = () => tf.sub(x, mean);
    const scaledDy = () => tf.mul(dyOut, scaleValue);
    return {
      x: () => tf.mul(dyOut, tf.mul(inverseStd, scaleValue)),
      mean: () => reduce(tf.mul(scaledDy(), tf.neg(inverseStd))),
      variance: () => reduce(tf.mul(tf.mul(scaledDy(), centred()), tf.mul(tf.pow(inverseStd, 3), -0.5))),
      scale: () => reduce(tf.mul(dyOut, tf.mul(centred(), inverseStd))),
      offset: () => reduce(dyOut),
    };
  },
};

const isDilated = (dilations: unknown) => dilations !== undefined && dilations !== null && [dilations].flat().some((d) => d !== 1);

/**
 * tfjs' Conv2D and DepthwiseConv2dNative gradients refuse a dilation above 1 before reaching any kernel. These pass
 * it to the backprop kernels, which take it on wasm (netspec's) and nowhere else: cpu's ignore the dilation, so on
 * other backends a dilated gradient stays refused. An undilated gradient is tfjs' own.
 */
function dilatedConvGradient(kernelName: string, inputKernel: string, filterKernel: string): tf.GradConfig {
  const original = tf.getGradient(kernelName);
  return {
    kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      if (!isDilated(attrs.dilations)) return original.gradFunc(dy, saved, attrs);
      if (tf.getBackend() !== 'wasm') throw new Error(`gradients of dilated convolutions run on the wasm backend only, not on ${tf.getBackend()}`);
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dimRoundingMode, dilations } = attrs as Attrs;
      const common = { strides, pad, dimRoundingMode, dilations, dataFormat: 'NHWC' } as unknown as tf.NamedAttrMap;
      return {
        x: () => tf.engine().runKernel(inputKernel, { dy: dy as tf.Tensor, filter }, { ...common, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel(filterKernel, { x, dy: dy as tf.Tensor }, { ...common, filterShape: filter.shape }) as tf.Tensor,
      };
    },
  };
}

let registered = false;

/** Registers the gradient kernels with the wasm backend (replacing its slow Conv2DBackpropInput); idempotent. */
export function registerWasmGradients(): void {
  if (registered) return;
  registered = true;
  const kernels: [string, (args: KernelArgs) => TensorInfo][] = [
    ['Conv2DBackpropFilter', conv2DBackpropFilter],
    ['Conv2DBackpropInput', conv2DBackpropInput],
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter],
    ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput],
  ];
  tf.registerGradient(batchNormGradient);
  tf.registerGradient(dilatedConvGradient('Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'));
  tf.registerGradient(dilatedConvGradient('DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'));
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  }
}
