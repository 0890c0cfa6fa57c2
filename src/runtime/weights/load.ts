import * as tf from '@tensorflow/tfjs';
import { fetchWeightsFolder, type FetchOptions } from './http.js';
import { WeightsError, type InputNormalization, type NamedWeight, type WeightsFolder } from './folder.js';
import { weightProblem } from './numbers.js';
import { withoutRandomInit } from '../ops/op.js';

/**
 * Where weights come from: the URL of a folder that `netspec weights import` wrote (or of its model.json), a
 * tf.io.IOHandler (tfjs' own weight specs and data, float32), or a folder already read. On Node a string may also be
 * a path: netspec/runtime's Node entry reads those from disk.
 */
export type WeightsSource = string | tf.io.IOHandler | WeightsFolder;

export interface LoadOptions extends FetchOptions {
  /** Dispose of the model when its weights cannot be loaded. */
  readonly disposeOnError?: boolean;
}

/** What a generated module's `createModel` takes: the weights, and how long fetching them may take or when to give up. */
export interface CreateModelOptions extends FetchOptions {
  readonly weights: WeightsSource;
}

/** A model, or a function that builds it once the weights have been read. */
export type ModelOrBuilder = tf.LayersModel | (() => tf.LayersModel);

/**
 * Loads weights into a model built by a generated module. Every layer with weights must be in the source with the
 * right shapes (or be listed as skipped by a partial import); all problems are reported at once, led by whose weights
 * they are when a folder was written for another model, and nothing is set unless everything matches. Given a
 * builder, the weights are read first and, when they leave no layer at its initialisation, the model is built
 * without drawing random initial values; a model built here is disposed of if its weights do not load.
 */
export async function loadWeights(target: ModelOrBuilder, source: WeightsSource, options: LoadOptions = {}): Promise<tf.LayersModel> {
  let built: tf.LayersModel | undefined;
  try {
    const found = await resolveSource(source, options);
    const model = typeof target === 'function' ? (built = found.skipped.length === 0 ? withoutRandomInit(target) : target()) : target;
    try {
      setModelWeights(model, found.weights, found.name, new Set(found.skipped));
      savedInputs.set(model, found.input);
    } catch (error) {
      // A folder of another model that fits (a renamed spec) loads; one that does not says whose it is first.
      if (!(error instanceof WeightsError) || found.madeFor === undefined || found.madeFor === model.name) throw error;
      throw new WeightsError(`${found.name} holds weights of ${found.madeFor}, not of ${model.name}: ${error.message}`);
    }
    return model;
  } catch (error) {
    if (options.disposeOnError && typeof target !== 'function') target.dispose();
    built?.dispose();
    throw error;
  }
}

/** What each model's weights folder said of its input, for the image pipeline: set when weights load. */
const savedInputs = new WeakMap<tf.LayersModel, InputNormalization | undefined>();

/** How the weights last loaded into `model` want their images prepared, when their folder says (netspec train saves it). */
export function savedInput(model: tf.LayersModel): InputNormalization | undefined {
  return savedInputs.get(model);
}

interface FoundWeights {
  readonly weights: ReadonlyMap<string, NamedWeight>;
  /** The image preparation the folder saved. */
  readonly input?: InputNormalization;
  readonly skipped: readonly string[];
  /** Where they came from, for messages. */
  readonly name: string;
  /** The model a weights folder was written for; an IOHandler does not say. */
  readonly madeFor?: string;
}

async function resolveSource(source: WeightsSource, options: FetchOptions): Promise<FoundWeights> {
  const ofFolder = (folder: WeightsFolder, name: string) => ({
    weights: folder.weights,
    skipped: folder.manifest.skipped,
    name,
    madeFor: folder.manifest.model,
    input: folder.manifest.input,
  });
  if (typeof source === 'string') return ofFolder(await fetchWeightsFolder(source, options), source);
  if ('manifest' in source) return ofFolder(source, source.location);
  return { weights: await fromIOHandler(source), skipped: [], name: "the IOHandler's weights" };
}

/** tfjs' model artifacts (float32 weight specs and their data) by weight name. */
async function fromIOHandler(handler: tf.io.IOHandler): Promise<Map<string, NamedWeight>> {
  if (!handler.load) throw new WeightsError('the IOHandler cannot load (it has no load method)');
  const artifacts = await handler.load();
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const buffer = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? concatenateBuffers(data) : (data as ArrayBuffer);
  const weights = new Map<string, NamedWeight>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization)
      throw new WeightsError(`the IOHandler's weight ${spec.name} is ${spec.quantization ? 'quantised' : spec.dtype}; netspec loads float32 weights`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + 4 * count > buffer.byteLength) throw new WeightsError(`the IOHandler's weight data ends inside ${spec.name}`);
    const values = new Float32Array(buffer, offset, count);
    const problem = weightProblem(`the IOHandler's weight ${spec.name}`, values);
    if (problem) throw new WeightsError(problem);
    weights.set(spec.name, { name: spec.name, shape: spec.shape, data: values });
    offset += 4 * count;
  }
  return weights;
}

function concatenateBuffers(buffers: readonly ArrayBuffer[]): ArrayBuffer {
  const bytes = new Uint8Array(buffers.reduce((sum, b) => sum + b.byteLength, 0));
  let at = 0;
  for (const b of buffers) {
    bytes.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return bytes.buffer;
}

/**
 * Sets every layer's weights from weights named as in a weights folder (`layer/kernel`, …), layers in `skipped`
 * excepted. All problems are reported at once, naming `source`, and nothing is set unless everything matches.
 */
export function setModelWeights(
  model: tf.LayersModel,
  weights: ReadonlyMap<string, NamedWeight>,
  source: string,
  skipped: ReadonlySet<string> = new Set(),
): void {
  const problems: string[] = [];
  const assignments: { layer: tf.layers.Layer; values: tf.Tensor[] }[] = [];
  const used = new Set<string>();
  for (const layer of model.layers) {
    if (layer.weights.length === 0 || skipped.has(layer.name)) continue;
    const values: tf.Tensor[] = [];
    for (const variable of layer.weights) {
      // A variable's original name is its layer's name and its own (`layer1.0.se/fc1/kernel`), as in a weights folder.
      const name = variable.originalName;
      const expected = variable.shape;
      const found = weights.get(name);
      used.add(name);
      if (!found) problems.push(`missing ${name} (${layer.getClassName()} ${layer.name} expects [${expected.join(', ')}])`);
      else if (found.shape.join() !== expected.join())
        problems.push(`${name} is [${found.shape.join(', ')}] but ${layer.name} expects [${expected.join(', ')}]`);
      else values.push(tf.tensor(found.data, [...found.shape]));
    }
    if (values.length === layer.weights.length) assignments.push({ layer, values });
    else tf.dispose(values);
  }
  for (const name of weights.keys()) if (!used.has(name)) problems.push(`unexpected ${name}: no layer of ${model.name} has it`);
  if (problems.length > 0) {
    assignments.forEach(({ values }) => tf.dispose(values));
    throw new WeightsError(`${source} does not fit ${model.name}:\n  ${problems.join('\n  ')}`);
  }
  for (const { layer, values } of assignments) {
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** Every weight of a model, BatchNorm statistics included, named as in a weights folder. */
export function modelWeights(model: tf.LayersModel): NamedWeight[] {
  return model.layers.flatMap((layer) =>
    layer.weights.map((weight) => ({ name: weight.originalName, shape: weight.shape as number[], data: weight.read().dataSync() as Float32Array })),
  );
}
