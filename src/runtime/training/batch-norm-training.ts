import * as tf from '@tensorflow/tfjs';

/**
 * BatchNorm in training mode as two kernels over the last (channel) axis, for the wasm and cpu backends, and an op
 * that joins them with tf.customGrad. tfjs-layers builds the same computation from about twenty generic kernels
 * (moments, broadcasts, tfjs' FusedBatchNorm and their gradients), and wasm's reductions over every axis but the
 * last transpose the activation first: a third of a ResNet-20 training step. Here each kernel is one or two passes
 * over the data, summing per channel in double precision:
 *
 * - forward: μ = Σx / M, σ² = Σx² / M − μ² (biased, as PyTorch normalises), y = γ (x − μ) / √(σ² + ε) + β;
 * - backward, closed form: with x̂ = (x − μ) / √(σ² + ε), dβ = Σdy, dγ = Σ dy·x̂ and
 *   dx = γ / √(σ² + ε) · (dy − dβ / M − x̂ · dγ / M), M being the values per channel.
 */

export const BATCH_NORM_TRAINING = 'NetspecBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'NetspecBatchNormTrainingGrad';

type TensorInfo = tf.TensorInfo;

/** Reads float32 inputs and makes float32 outputs in place on a backend's own memory. */
interface Memory {
  output(shape: number[]): TensorInfo;
  view(info: TensorInfo): Float32Array;
}

function memoryOf(backend: tf.KernelBackend, name: 'wasm' | 'cpu'): Memory {
  if (name === 'wasm') {
    const wasm = backend as unknown as { makeOutput(shape: number[], dtype: 'float32'): TensorInfo; typedArrayFromHeap(info: TensorInfo): Float32Array };
    return { output: (shape) => wasm.makeOutput(shape, 'float32'), view: (info) => wasm.typedArrayFromHeap(info) };
  }
  const cpu = backend as unknown as {
    makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
    data: { get(id: object): { values: Float32Array } };
  };
  return {
    output: (shape) => cpu.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, b) => a * b, 1))),
    view: (info) => cpu.data.get(info.dataId).values,
  };
}

function checkFloat(kernel: string, inputs: Record<string, TensorInfo>): void {
  for (const [name, info] of Object.entries(inputs)) if (info.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${info.dtype}`);
}

/** Per-channel Σv and Σv² (or Σv·w) over `values` laid out [M, channels]. */
function channelSums(values: Float32Array, channels: number, other?: Float32Array): { first: Float64Array; second: Float64Array } {
  const first = new Float64Array(channels);
  const second = new Float64Array(channels);
  const w = other ?? values;
  for (let base = 0; base < values.length; base += channels) {
    for (let c = 0; c < channels; c++) {
      const v = values[base + c]!;
      first[c]! += v;
      second[c]! += v * w[base + c]!;
    }
  }
  return { first, second };
}

/** Inputs x [..., C], scale and offset [C]; outputs y, the batch mean and the biased batch variance. */
function forwardKernel(name: 'wasm' | 'cpu'): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
    checkFloat(BATCH_NORM_TRAINING, { x, scale, offset });
    const epsilon = (attrs as { epsilon: number }).epsilon;
    const channels = x.shape[x.shape.length - 1]!;
    const memory = memoryOf(backend as tf.KernelBackend, name);
    // Outputs first: a new allocation may grow wasm's heap, which detaches every view taken before it.
    const [y, mean, variance] = [memory.output([...x.shape]), memory.output([channels]), memory.output([channels])];
    const [xs, ys, gamma, beta, means, variances] = [x, y, scale, offset, mean, variance].map((info) => memory.view(info!)) as Float32Array[];
    const count = xs!.length / channels;
    const sums = channelSums(xs!, channels);
    const factor = new Float32Array(channels);
    const shift = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const mu = sums.first[c]! / count;
      const sigma2 = Math.max(sums.second[c]! / count - mu * mu, 0);
      means![c] = mu;
      variances![c] = sigma2;
      factor[c] = gamma![c]! / Math.sqrt(sigma2 + epsilon);
      shift[c] = beta![c]! - mu * factor[c]!;
    }
    for (let base = 0; base < xs!.length; base += channels) {
      for (let c = 0; c < channels; c++) ys![base + c] = xs![base + c]! * factor[c]! + shift[c]!;
    }
    return [y, mean, variance];
  };
}

/** Inputs dy and x [..., C], the forward's mean and variance, scale [C]; outputs dx, dscale and doffset. */
function backwardKernel(name: 'wasm' | 'cpu'): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, x, mean, variance, scale } = inputs as Record<'dy' | 'x' | 'mean' | 'variance' | 'scale', TensorInfo>;
    checkFloat(BATCH_NORM_TRAINING_GRAD, { dy, x, mean, variance, scale });
    const epsilon = (attrs as { epsilon: number }).epsilon;
    const channels = x.shape[x.shape.length - 1]!;
    const memory = memoryOf(backend as tf.KernelBackend, name);
    const [dx, dscale, doffset] = [memory.output([...x.shape]), memory.output([channels]), memory.output([channels])];
    const [dys, xs, means, variances, gamma, dxs, dgamma, dbeta] = [dy, x, mean, variance, scale, dx, dscale, doffset].map((info) =>
      memory.view(info!),
    ) as Float32Array[];
    const count = xs!.length / channels;
    // Σdy·(x − μ) = Σdy·x − μ·Σdy, so one pass over dy and x gives both sums.
    const sums = channelSums(dys!, channels, xs!);
    const inverseStd = new Float64Array(channels);
    const meanDy = new Float32Array(channels);
    const meanDyXhat = new Float32Array(channels);
    const factor = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      inverseStd[c] = 1 / Math.sqrt(variances![c]! + epsilon);
      const sumDyXhat = (sums.second[c]! - means![c]! * sums.first[c]!) * inverseStd[c]!;
      dbeta![c] = sums.first[c]!;
      dgamma![c] = sumDyXhat;
      meanDy[c] = sums.first[c]! / count;
      meanDyXhat[c] = sumDyXhat / count;
      factor[c] = gamma![c]! * inverseStd[c]!;
    }
    for (let base = 0; base < xs!.length; base += channels) {
      for (let c = 0; c < channels; c++) {
        const xhat = (xs![base + c]! - means![c]!) * inverseStd[c]!;
        dxs![base + c] = factor[c]! * (dys![base + c]! - meanDy[c]! - xhat * meanDyXhat[c]!);
      }
    }
    return [dx, dscale, doffset];
  };
}

/** The backends the kernels are registered for; any other runs tfjs-layers' own composition. */
export const BATCH_NORM_TRAINING_BACKENDS = ['wasm', 'cpu'] as const;

let registered = false;

function registerKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of BATCH_NORM_TRAINING_BACKENDS) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAINING, backendName, kernelFunc: forwardKernel(backendName) });
    tf.registerKernel({ kernelName: BATCH_NORM_TRAINING_GRAD, backendName, kernelFunc: backwardKernel(backendName) });
  }
}

/** Whether the current backend runs the fused kernels. */
export function fusedBatchNormAvailable(): boolean {
  registerKernels();
  return (BATCH_NORM_TRAINING_BACKENDS as readonly string[]).includes(tf.getBackend());
}

/**
 * Training-mode BatchNorm over the last axis with gradients for x, scale and offset; also returns the batch mean
 * and biased variance (not differentiated) for the running statistics.
 */
export function batchNormTraining(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  registerKernels();
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const normalise = tf.customGrad((...args: (tf.Tensor | ((tensors: tf.Tensor[]) => void))[]) => {
    const [input, gamma, beta, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, (tensors: tf.Tensor[]) => void];
    const [y, batchMean, batchVariance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x: input, scale: gamma, offset: beta }, { epsilon }) as [
      tf.Tensor,
      tf.Tensor1D,
      tf.Tensor1D,
    ];
    // customGrad runs this in a tidy scope: the statistics are kept to hand to the caller, and saved for the gradient.
    mean = tf.keep(batchMean);
    variance = tf.keep(batchVariance);
    save([input, batchMean, batchVariance, gamma]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedX, savedMean, savedVariance, savedScale] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      return tf
        .engine()
        .runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x: savedX, mean: savedMean, variance: savedVariance, scale: savedScale }, { epsilon }) as tf.Tensor[];
    };
    return { value: y, gradFunc };
  });
  const y = normalise(x, scale, offset);
  // Clones belong to the caller's scope, as any op's results do; the kept originals are freed.
  const statistics = { mean: mean!.clone(), variance: variance!.clone() };
  tf.dispose([mean!, variance!]);
  return { y, ...statistics };
}
