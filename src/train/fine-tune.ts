// Fine-tuning: starting weights from a weights folder, with a fresh classifier head when the class count differs,
// and frozen layers that keep their weights and run their BatchNorm in inference mode.
import type * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors/user-error.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { weightSlots } from '../weights/mapping.js';

/** The --freeze name for every layer before the first stage (conv1 and bn1, or a deep stem's layers). */
export const STEM = 'stem';

/**
 * The names of the layers that `entries` freeze: `stem` for the layers before `layer1`, any other entry for the layer
 * of that name and every layer inside it (`layer1` freezes `layer1.0.conv1`, …). In detectors and segmenters the
 * backbone's layers answer to their names inside it too (`layer1` for `backbone.body.layer1`), as torchvision's
 * trainable_layers names them. An entry that matches no layer with weights is a UserError naming it.
 */
export function frozenLayers(model: tf.LayersModel, entries: readonly string[]): Set<string> {
  const layers = model.layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name);
  const inner = layers.map((name) => name.replace(BACKBONE_PREFIX, ''));
  const firstStage = inner.findIndex((name) => name.startsWith('layer'));
  const frozen = new Set<string>();
  for (const entry of entries) {
    const within = (name: string) => name === entry || name.startsWith(`${entry}.`);
    const matched = entry === STEM ? layers.slice(0, Math.max(firstStage, 0)) : layers.filter((name, i) => within(name) || within(inner[i]!));
    if (matched.length === 0) {
      const tops = [...new Set(inner.map((name) => name.split('.')[0]!))];
      throw new UserError(`--freeze ${entry} matches no layer with weights of ${model.name}; the names are ${[STEM, ...tops].join(', ')}`);
    }
    matched.forEach((name) => frozen.add(name));
  }
  return frozen;
}

/** Where a detector's (`backbone.body.`) or a segmenter's (`backbone.`) backbone layers are named. */
const BACKBONE_PREFIX = /^backbone\.(body\.)?/;

/**
 * The backbone's BatchNorm layers, by name: a detector fine-tuned from trained weights freezes them all, as
 * torchvision builds its pretrained detectors with FrozenBatchNorm2d (statistics and affine both fixed).
 */
export function backboneBatchNorms(model: tf.LayersModel): string[] {
  return model.layers.filter((layer) => layer.getClassName() === 'BatchNormalization' && BACKBONE_PREFIX.test(layer.name)).map((layer) => layer.name);
}

/**
 * The class outputs of a graph, as prefixes of their weights' names, which start fresh from weights for another
 * class count: a classifier's last layer; RetinaNet's class logits (its towers and box regression are kept, as
 * torchvision's fine-tuning keeps them); a segmenter's last convolution in the head and in the auxiliary head.
 */
export function classOutputs(graph: AnalyzedGraph): string[] {
  const layers = [...new Set(weightSlots(graph).map((slot) => slot.layer))];
  if (graph.task?.kind === 'detection') return ['head.classification_head/logits'];
  if (graph.task?.kind === 'segmentation') {
    return ['classifier.', 'aux_classifier.'].flatMap((prefix) => layers.filter((name) => name.startsWith(prefix)).slice(-1));
  }
  return [layers.at(-1)!];
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
 * except the class outputs (`heads`: the prefixes of their weights' names — a classifier's last layer, RetinaNet's
 * class logits, a segmenter's last convolutions), which keep their fresh initialisation when their shapes differ.
 * Returns the weights and whether the heads were kept fresh; throws listing what does not fit.
 */
export function initialisedFrom(
  current: readonly NamedWeight[],
  init: ReadonlyMap<string, NamedWeight>,
  heads: readonly string[],
  source: string,
): { weights: NamedWeight[]; freshHead: boolean } {
  const inHead = (name: string) => heads.some((head) => name.startsWith(`${head}/`));
  const problems: string[] = [];
  let freshHead = false;
  const weights = current.map((weight) => {
    const found = init.get(weight.name);
    const fits = found !== undefined && found.shape.join() === weight.shape.join();
    if (fits) return found;
    if (inHead(weight.name) && found !== undefined) {
      freshHead = true;
      return weight;
    }
    problems.push(found ? `${weight.name} is [${found.shape.join(', ')}] there but [${weight.shape.join(', ')}] here` : `missing ${weight.name}`);
    return weight;
  });
  if (problems.length === current.length)
    throw new UserError(`${source} holds none of the model's weights by name and shape: they are another network's (another task, backbone or spec)`);
  if (problems.length > 0)
    throw new UserError(
      `${source} does not fit the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    );
  // A head that half fits (a bias of the right size) is still a head for other classes: all of it starts fresh.
  return { weights: freshHead ? weights.map((w, i) => (inHead(w.name) ? current[i]! : w)) : weights, freshHead };
}
