import * as tf from '@tensorflow/tfjs';

/**
 * A weights folder: `model.json` in TensorFlow.js' weights-manifest layout plus binary shards, holding only
 * weights — the generated module builds the topology itself. `skipped` names layers a partial import left
 * out; they keep their fresh initialisation when loaded.
 */
export interface WeightsFolderManifest {
  readonly format: 'netspec-weights';
  readonly version: 1;
  /** The model name the weights were imported for. */
  readonly model: string;
  readonly skipped: readonly string[];
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: readonly { readonly name: string; readonly shape: readonly number[]; readonly dtype: 'float32' }[];
  }[];
}

export interface NamedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Each tfjs layer class's weights in `layer.weights` order, by the name they have in a weights folder. */
export const layerWeightNames: Readonly<Record<string, readonly string[]>> = {
  Conv2D: ['kernel'],
  GroupedConv2D: ['kernel'],
  BatchNormalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  Dense: ['kernel', 'bias'],
};

export const MANIFEST_FILE = 'model.json';

/** Reads a weights folder with Node's file system (no tfjs-node needed), checking it against its manifest. */
export async function readWeightsFolder(folder: string): Promise<{ manifest: WeightsFolderManifest; weights: Map<string, NamedWeight> }> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const manifest = parseManifest(folder, await readFile(join(folder, MANIFEST_FILE), 'utf8'));
  const weights = new Map<string, NamedWeight>();
  for (const group of manifest.weightsManifest) {
    const shards = await Promise.all(group.paths.map((path) => readFile(join(folder, path))));
    const total = shards.reduce((sum, shard) => sum + shard.length, 0);
    const expected = group.weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (total !== expected) throw new Error(`${folder}: shards ${group.paths.join(', ')} hold ${total} bytes, the manifest describes ${expected}`);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const shard of shards) {
      bytes.set(shard, at);
      at += shard.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      weights.set(w.name, { name: w.name, shape: w.shape, data: new Float32Array(bytes.buffer, offset, count) });
      offset += 4 * count;
    }
  }
  return { manifest, weights };
}

function parseManifest(folder: string, text: string): WeightsFolderManifest {
  const manifest = JSON.parse(text) as Partial<Record<keyof WeightsFolderManifest, unknown>> | null;
  const bad = (why: string) => new Error(`${folder}/${MANIFEST_FILE} is not a netspec weights manifest: ${why}`);
  if (manifest?.format !== 'netspec-weights' || manifest.version !== 1) throw bad('unknown format or version');
  if (!Array.isArray(manifest.weightsManifest) || !Array.isArray(manifest.skipped)) throw bad('weightsManifest or skipped is missing');
  for (const group of manifest.weightsManifest as { paths?: unknown; weights?: unknown }[]) {
    const paths: unknown[] = Array.isArray(group.paths) ? group.paths : [null];
    const weights: { dtype?: unknown; shape?: unknown }[] = Array.isArray(group.weights) ? group.weights : [{}];
    // Shard paths come from the file: only plain file names, so reading stays inside the folder.
    if (paths.some((path) => typeof path !== 'string' || !/^[\w-][\w.-]*$/.test(path))) throw bad('a shard path is not a plain file name');
    const validShape = (shape: unknown) => Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (weights.some((w) => w.dtype !== 'float32' || !validShape(w.shape))) throw bad('a weight is not float32 or has an invalid shape');
  }
  return manifest as unknown as WeightsFolderManifest;
}

/**
 * Loads a weights folder into a model built by a generated module. Every layer with weights must be in the
 * folder with the right shapes (or be listed as skipped by a partial import); all problems are reported at once
 * and nothing is set unless everything matches. With `disposeOnError` a model that cannot be loaded is disposed.
 */
export async function loadWeights(model: tf.LayersModel, folder: string, options: { disposeOnError?: boolean } = {}): Promise<tf.LayersModel> {
  try {
    return await assignWeights(model, folder);
  } catch (error) {
    if (options.disposeOnError) model.dispose();
    throw error;
  }
}

async function assignWeights(model: tf.LayersModel, folder: string): Promise<tf.LayersModel> {
  const { manifest, weights } = await readWeightsFolder(folder);
  const skipped = new Set(manifest.skipped);
  const problems: string[] = [];
  const assignments: { layer: tf.layers.Layer; values: tf.Tensor[] }[] = [];
  const used = new Set<string>();
  for (const layer of model.layers) {
    const names = layerWeightNames[layer.getClassName()];
    if (!names || skipped.has(layer.name)) continue;
    const values: tf.Tensor[] = [];
    names.forEach((suffix, i) => {
      const name = `${layer.name}/${suffix}`;
      const expected = layer.weights[i]!.shape;
      const found = weights.get(name);
      used.add(name);
      if (!found) problems.push(`missing ${name} (${layer.getClassName()} ${layer.name} expects [${expected.join(', ')}])`);
      else if (found.shape.join() !== expected.join()) problems.push(`${name} is [${found.shape.join(', ')}] but ${layer.name} expects [${expected.join(', ')}]`);
      else values.push(tf.tensor(found.data, [...found.shape]));
    });
    if (values.length === names.length) assignments.push({ layer, values });
    else tf.dispose(values);
  }
  for (const name of weights.keys()) if (!used.has(name)) problems.push(`unexpected ${name}: no layer of ${model.name} has it`);
  if (problems.length > 0) {
    assignments.forEach(({ values }) => tf.dispose(values));
    throw new Error(`${folder} does not fit ${model.name}:\n  ${problems.join('\n  ')}`);
  }
  for (const { layer, values } of assignments) {
    layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}
