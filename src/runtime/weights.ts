import * as tf from '@tensorflow/tfjs';
import { layerWeightNames, readWeightsFolder, type NamedWeight } from './weights-folder.js';

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
  setModelWeights(model, weights, folder, new Set(manifest.skipped));
  return model;
}

/**
 * Sets every layer's weights from weights named as in a weights folder (`layer/kernel`, …), layers in `skipped`
 * excepted. All problems are reported at once, naming `source`, and nothing is set unless everything matches.
 */
export function setModelWeights(model: tf.LayersModel, weights: ReadonlyMap<string, NamedWeight>, source: string, skipped: ReadonlySet<string> = new Set()): void {
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
    throw new Error(`${source} does not fit ${model.name}:\n  ${problems.join('\n  ')}`);
  }
  for (const { layer, values } of assignments) {
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** Every weight of a model, BatchNorm statistics included, named as in a weights folder. */
export function modelWeights(model: tf.LayersModel): NamedWeight[] {
  return model.layers.flatMap((layer) => {
    const names = layerWeightNames[layer.getClassName()] ?? [];
    return names.map((suffix, i) => {
      const weight = layer.weights[i]!;
      return { name: `${layer.name}/${suffix}`, shape: weight.shape as number[], data: weight.read().dataSync() as Float32Array };
    });
  });
}
