// `netspec verify`: the same seeded images through every target available here — the optimised tfjs path, the ONNX
// export on onnxruntime, the emitted PyTorch module — each compared with the tfjs layers model on the same weights:
// the largest difference of each output relative to the reference's largest value and, for the PyTorch module,
// whose modules carry the tfjs layers' names, the first layer in execution order where the two part.
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../build/model.js';
import { emitPytorch } from '../emit/pytorch.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { mulberry32 } from '../random/mulberry32.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { loadWeights } from '../runtime/weights/load.js';
import { exportCheckpoint } from '../weights/convert.js';
import type { FloatTensor } from '../weights/safetensors.js';
import { pytorchUnavailable, runPytorch, type PytorchRun } from './pytorch-run.js';
import { onnxRuntimeStatus } from '../runtime/onnx/load.js';
import { type BatchOutput, openRunner } from './runner.js';

/** Targets agree when every output is within this of the reference, relative to its largest magnitude. */
export const VERIFY_TOLERANCE = 1e-4;

export interface OutputDifference {
  readonly output: string;
  /** max |target − reference| / max |reference|. */
  readonly relative: number;
}

export interface TargetReport {
  readonly target: string;
  /** Why the target did not run here; its outputs are then empty. */
  readonly skipped?: string;
  readonly outputs: readonly OutputDifference[];
  /** The first layer whose output is past the tolerance, where the target can say (the PyTorch module). */
  readonly firstDiffering?: { readonly layer: string; readonly relative: number };
}

/** `count` images of the model's input, channels last, uniform in [−1, 1) from `seed`. */
export function seededImages(graph: AnalyzedGraph, count: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count * graph.inputShape.reduce((a, b) => a * b, 1) }, () => 2 * random() - 1);
}

/** max |a − b| / max |reference|; Infinity when the sizes differ or a value is not finite. */
export function relativeDifference(reference: Float32Array, other: Float32Array): number {
  if (reference.length !== other.length) return Number.POSITIVE_INFINITY;
  let scale = 0;
  let largest = 0;
  for (let i = 0; i < reference.length; i++) {
    scale = Math.max(scale, Math.abs(reference[i]!));
    const difference = Math.abs(reference[i]! - other[i]!);
    largest = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : Math.max(largest, difference);
  }
  return scale === 0 ? largest : largest / scale;
}

/** The reference run: the tfjs layers model's outputs, and every layer's output by name (all channels last). */
export interface ReferenceRun {
  readonly outputs: ReadonlyMap<string, BatchOutput>;
  readonly layers: ReadonlyMap<string, BatchOutput>;
  /** Layer names in execution order. */
  readonly order: readonly string[];
}

export async function referenceRun(graph: AnalyzedGraph, model: tf.LayersModel, images: Float32Array, count: number): Promise<ReferenceRun> {
  const [height, width, channels] = graph.inputShape as [number, number, number];
  const inner = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const probe = tf.model({ inputs: model.inputs, outputs: inner.map((layer) => layer.output as tf.SymbolicTensor) });
  const tensors = tf.tidy(() => [probe.predict(tf.tensor4d(images, [count, height, width, channels]))].flat());
  const read = await Promise.all(tensors.map(async (tensor) => ({ data: (await tensor.data()) as Float32Array, dims: tensor.shape })));
  tf.dispose(tensors);
  const layers = new Map(inner.map((layer, i) => [layer.name, read[i]!]));
  const byLayer = new Map(model.outputs.map((output, i) => [graph.outputs[i]!.name, layers.get(output.sourceLayer.name)!]));
  return { outputs: byLayer, layers, order: inner.map((layer) => layer.name) };
}

/** Each output's difference from the reference's, in the graph's order. */
export function outputDifferences(graph: AnalyzedGraph, reference: ReferenceRun, outputs: ReadonlyMap<string, BatchOutput>): OutputDifference[] {
  return graph.outputs.map(({ name }) => {
    const got = outputs.get(name);
    return { output: name, relative: got ? relativeDifference(reference.outputs.get(name)!.data, got.data) : Number.POSITIVE_INFINITY };
  });
}

/** The first layer, in execution order, that the target also reports and whose output is past the tolerance. */
export function firstDifferingLayer(reference: ReferenceRun, layers: ReadonlyMap<string, BatchOutput>): TargetReport['firstDiffering'] {
  for (const name of reference.order) {
    const theirs = layers.get(name);
    if (!theirs) continue;
    const relative = relativeDifference(reference.layers.get(name)!.data, theirs.data);
    if (!(relative <= VERIFY_TOLERANCE)) return { layer: name, relative };
  }
  return undefined;
}

/** The PyTorch module's report from its run: outputs and, where they part, the first differing layer. */
export function pytorchReport(graph: AnalyzedGraph, reference: ReferenceRun, run: PytorchRun): TargetReport {
  const outputs = outputDifferences(graph, reference, run.outputs);
  const agree = outputs.every((o) => o.relative <= VERIFY_TOLERANCE);
  return { target: 'PyTorch module', outputs, ...(agree ? {} : { firstDiffering: firstDifferingLayer(reference, run.layers) }) };
}

export interface VerifyOptions {
  readonly count: number;
  readonly seed: number;
}

/** Every target available here against the tfjs layers model, on `folder`'s weights. */
export async function verifyModel(graph: AnalyzedGraph, folder: WeightsFolder, options: VerifyOptions): Promise<TargetReport[]> {
  const images = seededImages(graph, options.count, options.seed);
  const model = await loadWeights(() => buildModel(graph), folder);
  let reference: ReferenceRun;
  try {
    reference = await referenceRun(graph, model, images, options.count);
  } finally {
    model.dispose();
  }
  const reports: TargetReport[] = [await runnerReport(graph, folder, reference, images, options, 'tfjs')];
  const onnx = await onnxRuntimeStatus();
  reports.push(
    onnx.loads
      ? await runnerReport(graph, folder, reference, images, options, 'onnx')
      : {
          target: 'ONNX on onnxruntime',
          skipped: onnx.broken ? `onnxruntime-node does not load: ${onnx.broken}` : 'onnxruntime-node is not installed',
          outputs: [],
        },
  );
  const noTorch = pytorchUnavailable();
  if (noTorch) reports.push({ target: 'PyTorch module', skipped: noTorch, outputs: [] });
  else {
    const stateDict: ReadonlyMap<string, FloatTensor> = exportCheckpoint(graph, folder.location, folder.weights, folder.manifest.skipped);
    reports.push(pytorchReport(graph, reference, runPytorch(graph, emitPytorch(graph), stateDict, images, options.count)));
  }
  return reports;
}

async function runnerReport(
  graph: AnalyzedGraph,
  folder: WeightsFolder,
  reference: ReferenceRun,
  images: Float32Array,
  options: VerifyOptions,
  engine: 'tfjs' | 'onnx',
): Promise<TargetReport> {
  const runner = await openRunner(graph, folder, engine, () => {});
  try {
    const outputs = await runner.run(images, options.count);
    return { target: engine === 'tfjs' ? 'optimised tfjs path' : 'ONNX on onnxruntime', outputs: outputDifferences(graph, reference, outputs) };
  } finally {
    runner.dispose();
  }
}
