// A model with its weights, ready to run batches, on either engine of inference: onnxruntime-node (the fp32 ONNX
// graph of the same weights, built in memory) when it is installed, else TensorFlow.js' optimised path. Both give
// their outputs in one layout, channels last as the tfjs model gives them, so what follows does not care which ran.
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../build/model.js';
import { emitOnnx } from '../emit/onnx.js';
import { inferencePlan } from '../emit/plan.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { optimizeForInference } from '../runtime/inference/optimize.js';
import { createSession, runChecked } from '../runtime/onnx/index.js';
import { onnxRuntimeStatus } from '../runtime/onnx/load.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { loadWeights } from '../runtime/weights/load.js';
import { exportCheckpoint } from '../weights/convert.js';
import { InternalError } from '../errors/internal-error.js';
import { checkOpenSize } from '../runtime/open-sizes.js';

/** An output of a batch: its values and dimensions, [batch, …one image's shape], feature maps channels last. */
export interface BatchOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export type RuntimeChoice = 'auto' | 'tfjs' | 'onnx';

export interface ModelRunner {
  /** Which engine runs: for messages and reports. */
  readonly engine: 'tfjs' | 'onnx';
  /**
   * Runs `count` images, given channels last as the image pipeline prepares them, of the model's input size or, for
   * an open size, of `size`; every output by its name.
   */
  run(images: Float32Array, count: number, size?: readonly [height: number, width: number]): Promise<ReadonlyMap<string, BatchOutput>>;
  dispose(): void;
}

/**
 * The graph with the folder's weights on the engine chosen: `auto` takes onnxruntime when it is installed. `log`
 * hears one line saying which engine runs and why, once the model is ready: a model that cannot open (`--runtime
 * onnx` without onnxruntime-node, weights that do not fit) is the error's line alone.
 */
export async function openRunner(graph: AnalyzedGraph, folder: WeightsFolder, choice: RuntimeChoice, log: (line: string) => void): Promise<ModelRunner> {
  const status = choice === 'auto' ? await onnxRuntimeStatus() : undefined;
  const onnx = choice === 'onnx' || status?.loads === true;
  const runner = onnx ? await onnxRunner(graph, folder) : await tfjsRunner(graph, folder);
  const why = !status
    ? ''
    : onnx
      ? ' (installed; --runtime tfjs to use TensorFlow.js)'
      : status.broken
        ? `: onnxruntime-node is installed but does not load (${status.broken})`
        : '; install onnxruntime-node for faster inference';
  log(`netspec: running ${graph.name} on ${onnx ? 'onnxruntime' : `TensorFlow.js (${tf.getBackend()})`}${why}`);
  return runner;
}

async function tfjsRunner(graph: AnalyzedGraph, folder: WeightsFolder): Promise<ModelRunner> {
  const model = await loadWeights(() => buildModel(graph), folder);
  const optimised = optimizeForInference(model, inferencePlan(graph));
  return modelRunner(graph, optimised, () => {
    optimised.dispose();
    model.dispose();
  });
}

/** A runner over a tfjs model of the graph (BatchNorm in inference mode); `dispose` is what disposing it does. */
export function modelRunner(graph: AnalyzedGraph, model: Pick<tf.LayersModel, 'predict'>, dispose: () => void = () => {}): ModelRunner {
  const channels = graph.inputShape[2]!;
  return {
    engine: 'tfjs',
    async run(images, count, size) {
      const [height, width] = batchSize(graph, size);
      const outputs = tf.tidy(() => [model.predict(tf.tensor4d(images, [count, height, width, channels]))].flat());
      const read = await Promise.all(outputs.map(async (output) => ({ data: (await output.data()) as Float32Array, dims: output.shape })));
      tf.dispose(outputs);
      return new Map(graph.outputs.map((output, i) => [output.name, read[i]!]));
    },
    dispose,
  };
}

async function onnxRunner(graph: AnalyzedGraph, folder: WeightsFolder): Promise<ModelRunner> {
  const weights = exportCheckpoint(graph, folder.location, folder.weights, folder.manifest.skipped);
  const session = await createSession(emitOnnx(graph, weights), { log: () => {} });
  const channels = graph.inputShape[2]!;
  return {
    engine: 'onnx',
    async run(images, count, size) {
      const [height, width] = batchSize(graph, size);
      const outputs = await runChecked(session, toChannelsFirst(images, count, height, width, channels), count, [channels, height, width]);
      return new Map(graph.outputs.map((output) => [output.name, toChannelsLast(outputs[output.name]!)]));
    },
    dispose() {
      void session.release();
    },
  };
}

/** A batch's height and width: the model's, or for an open size the batch's own, which must be one it takes. */
function batchSize(graph: AnalyzedGraph, size: readonly [number, number] | undefined): readonly [number, number] {
  if (!graph.sizes) return [graph.inputShape[0]!, graph.inputShape[1]!];
  if (!size) throw new InternalError(`${graph.name} has an open size: each batch needs its own`);
  checkOpenSize(graph.name, size[0], size[1], graph.sizes);
  return size;
}

/** NHWC to NCHW. */
export function toChannelsFirst(images: Float32Array, count: number, height: number, width: number, channels: number): Float32Array {
  const out = new Float32Array(images.length);
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    const base = n * plane * channels;
    for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[base + c * plane + p] = images[base + p * channels + c]!;
  }
  return out;
}

/** An ONNX output in the tfjs model's layout: feature maps NCHW to NHWC, anything else as it is. */
export function toChannelsLast(output: { readonly data: Float32Array; readonly dims: readonly number[] }): BatchOutput {
  if (output.dims.length !== 4) return output;
  const [count, channels, height, width] = output.dims as [number, number, number, number];
  const out = new Float32Array(output.data.length);
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    const base = n * plane * channels;
    for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) out[base + p * channels + c] = output.data[base + c * plane + p]!;
  }
  return { data: out, dims: [count, height, width, channels] };
}
