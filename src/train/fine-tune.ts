// Fine-tuning: starting weights from a weights folder, with a fresh classifier head when the class count differs,
// and frozen layers that keep their weights and run their BatchNorm in inference mode.
import type * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors/user-error.js';
import type { NamedWeight } from '../runtime/weights/folder.js';

/** The --freeze name for every layer before the first stage (conv1 and bn1, or a deep stem's layers). */
export const STEM = 'stem';

/**
 * The names of the layers that `entries` freeze: `stem` for the layers before `layer1`, any other entry for the layer
 * of that name and every layer inside it (`layer1` freezes `layer1.0.conv1`, …). An entry that matches no layer with
 * weights is a UserError naming it.
 */
export function frozenLayers(model: tf.LayersModel, entries: readonly string[]): Set<string> {
  const layers = model.layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name);
  const firstStage = layers.findIndex((name) => name.startsWith('layer'));
  const frozen = new Set<string>();
  for (const entry of entries) {
    const matched = entry === STEM ? layers.slice(0, Math.max(firstStage, 0)) : layers.filter((name) => name === entry || name.startsWith(`${entry}.`));
    if (matched.length === 0) {
      const tops = [...new Set(layers.map((name) => name.split('.')[0]!))];
      throw new UserError(`--freeze ${entry} matches no layer with weights of ${model.name}; the names are ${[STEM, ...tops].join(', ')}`);
    }
    matched.forEach((name) => frozen.add(name));
  }
  return frozen;
}

/** Makes the frozen BatchNorm layers normalise with their running statistics (and leave them alone) in training too. */
export function freezeBatchNorm(model: tf.LayersModel, frozen: ReadonlySet<string>): void {
  for (const layer of model.layers) {
    if (!frozen.has(layer.name) || layer.getClassName() !== 'BatchNormalization') continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: false });
  }
}

/**
 * The model's weights with those of `init` put in: every layer must find its weights there with the same shapes,
 * except the classifier head (`head`, the last layer), which keeps its fresh initialisation when its shapes differ.
 * Returns the weights and whether the head was kept fresh; throws listing what does not fit.
 */
export function initialisedFrom(
  current: readonly NamedWeight[],
  init: ReadonlyMap<string, NamedWeight>,
  head: string,
  source: string,
): { weights: NamedWeight[]; freshHead: boolean } {
  const problems: string[] = [];
  let freshHead = false;
  const weights = current.map((weight) => {
    const found = init.get(weight.name);
    const fits = found !== undefined && found.shape.join() === weight.shape.join();
    if (fits) return found;
    if (weight.name.startsWith(`${head}/`) && found !== undefined) {
      freshHead = true;
      return weight;
    }
    problems.push(found ? `${weight.name} is [${found.shape.join(', ')}] there but [${weight.shape.join(', ')}] here` : `missing ${weight.name}`);
    return weight;
  });
  if (problems.length > 0)
    throw new UserError(
      `${source} does not fit the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    );
  // A head that half fits (a bias of the right size) is still a head for other classes: all of it starts fresh.
  return { weights: freshHead ? weights.map((w, i) => (w.name.startsWith(`${head}/`) ? current[i]! : w)) : weights, freshHead };
}
