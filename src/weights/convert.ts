import type { AnalyzedGraph } from '../ir/analyze.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { weightProblem } from '../runtime/weights/numbers.js';
import { toTfjs, toTorch, weightSlots, type WeightSlot } from './mapping.js';
import { WeightFileError, type FloatTensor, type SafetensorsFile } from './safetensors.js';

export interface ImportOptions {
  /** Load what matches and skip the rest (fine-tuning with, say, another classifier size); matching nothing is still an error. */
  readonly partial?: boolean;
  /** Checkpoint key renames, each replacing whole dot-separated segments: ['shortcut', 'downsample'], ['module', '']. */
  readonly renames?: readonly (readonly [from: string, to: string])[];
}

export interface ImportedWeights {
  /** Weights in tfjs layout, views into one buffer in manifest order. */
  readonly weights: readonly NamedWeight[];
  /** Layers left at their initialisation by a partial import. */
  readonly skippedLayers: readonly string[];
  /** One line per tensor or layer that a partial import skipped, and why. */
  readonly skipped: readonly string[];
}

/** Applies `--rename from=to` to a key, matching whole dot-separated segments. */
export function renameKey(key: string, renames: ImportOptions['renames'] = []): string {
  let dotted = `.${key}.`;
  for (const [from, to] of renames) dotted = dotted.split(`.${from}.`).join(to === '' ? '.' : `.${to}.`);
  return dotted.slice(1, -1);
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** The first few of a list of names, enough to see how they are spelled. */
function someNames(names: readonly string[]): string {
  if (names.length === 0) return 'no floating-point tensors';
  return names.length <= 2 ? names.join(', ') : `${names.slice(0, 2).join(', ')}, … (${names.length} in all)`;
}

/**
 * Maps a PyTorch checkpoint onto the model's weights: names, shapes and finite values are checked for every
 * tensor, all problems are reported together, and (unless partial) nothing is returned unless everything matches.
 */
export function importCheckpoint(graph: AnalyzedGraph, file: string, checkpoint: SafetensorsFile, options: ImportOptions = {}): ImportedWeights {
  const tensors = new Map<string, { original: string; tensor: FloatTensor }>();
  for (const [key, tensor] of checkpoint.tensors) tensors.set(renameKey(key, options.renames), { original: key, tensor });
  const slots = weightSlots(graph);
  const problems: { layer?: string; text: string }[] = [];
  const matched: { slot: WeightSlot; tensor: FloatTensor }[] = [];
  // Tensors whose name and shape fit but whose values hold NaN or ±Inf: corrupt, refused even by a partial import.
  const nonFinite: string[] = [];
  const used = new Set<string>();
  for (const slot of slots) {
    const found = tensors.get(slot.torchName);
    used.add(slot.torchName);
    const where = `${slot.layer} expects ${shapeText(slot.torchShape)}`;
    if (!found) problems.push({ layer: slot.layer, text: `missing ${slot.torchName} (${where})` });
    else if (found.tensor.shape.join() !== slot.torchShape.join())
      problems.push({ layer: slot.layer, text: `${found.original} is ${shapeText(found.tensor.shape)} but ${where}` });
    else {
      const problem = weightProblem(found.original, found.tensor.data);
      if (problem) nonFinite.push(problem);
      matched.push({ slot, tensor: found.tensor });
    }
  }
  for (const [key, { original, tensor }] of tensors) {
    if (!used.has(key)) problems.push({ text: `unexpected ${original} ${shapeText(tensor.shape)}: no layer of ${graph.name} has it` });
  }
  for (const [key, dtype] of checkpoint.others) {
    if (!renameKey(key, options.renames).endsWith('.num_batches_tracked'))
      problems.push({ text: `unexpected ${key} (${dtype}): only floating-point weights are imported` });
  }
  if (options.partial && nonFinite.length > 0) throw new WeightFileError(file, nonFinite);
  if (!options.partial && problems.length + nonFinite.length > 0) throw new WeightFileError(file, [...problems.map((p) => p.text), ...nonFinite]);
  if (matched.length === 0) {
    // Every layer would keep its initialisation: almost always names that differ by a prefix or a module name.
    const checkpointNames = [...tensors.values()].map(({ original }) => original);
    throw new WeightFileError(file, [
      `no tensor of the checkpoint matched any layer of ${graph.name}: the checkpoint has ${someNames(checkpointNames)}; ` +
        `${graph.name} expects ${someNames(slots.map((slot) => slot.torchName))}; if the names differ by a prefix or a module name, --rename from=to maps them`,
    ]);
  }

  // A layer's weights are set together, so a layer with any problem is skipped whole.
  const skippedLayers = [...new Set(problems.flatMap((p) => (p.layer ? [p.layer] : [])))];
  const loaded = matched.filter(({ slot }) => !skippedLayers.includes(slot.layer));
  const buffer = new Float32Array(loaded.reduce((sum, { tensor }) => sum + tensor.data.length, 0));
  let offset = 0;
  const weights = loaded.map(({ slot, tensor }) => {
    const data = toTfjs(slot, tensor.data, buffer.subarray(offset, offset + tensor.data.length));
    offset += tensor.data.length;
    return { name: slot.tfjsName, shape: slot.tfjsShape, data };
  });
  return { weights, skippedLayers, skipped: problems.map((p) => p.text) };
}

/** The model's weights back in PyTorch's names and layouts, in execution order. */
export function exportCheckpoint(
  graph: AnalyzedGraph,
  folder: string,
  weights: ReadonlyMap<string, NamedWeight>,
  skippedLayers: readonly string[],
): Map<string, FloatTensor> {
  const problems: string[] = [];
  const out = new Map<string, FloatTensor>();
  for (const slot of weightSlots(graph)) {
    const found = weights.get(slot.tfjsName);
    if (!found) {
      const why = skippedLayers.includes(slot.layer) ? 'the partial import skipped this layer' : `${slot.layer} expects ${shapeText(slot.tfjsShape)}`;
      problems.push(`missing ${slot.tfjsName} (${why})`);
    } else if (found.shape.join() !== slot.tfjsShape.join()) {
      problems.push(`${slot.tfjsName} is ${shapeText(found.shape)} but ${slot.layer} expects ${shapeText(slot.tfjsShape)}`);
    } else {
      out.set(slot.torchName, { shape: slot.torchShape, data: toTorch(slot, found.data) });
    }
  }
  const known = new Set(weightSlots(graph).map((slot) => slot.tfjsName));
  for (const name of weights.keys()) if (!known.has(name)) problems.push(`unexpected ${name}: no layer of ${graph.name} has it`);
  if (problems.length > 0) throw new WeightFileError(folder, problems);
  return out;
}
