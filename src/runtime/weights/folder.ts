// The weights folder format, readable without loading TensorFlow.js (the CLI's import and export use it), and with
// no Node builtin: how the files are read is the caller's.
import { weightProblem, normalizationProblem } from './numbers.js';

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
  /** The input normalisation the weights were trained with, per channel, for pixels scaled to [0, 1] (netspec train). */
  readonly input?: InputNormalization;
  /** The class names in label order, when known (netspec train). */
  readonly classes?: readonly string[];
  /**
   * A detector trained by netspec: which head output stands for which of the dataset's category ids, so that eval
   * reports in the dataset's own ids. Checked entry by entry where it is read (restoreCategoryMapping).
   */
  readonly categories?: {
    readonly kind: 'identity' | 'contiguous';
    readonly categories: readonly { readonly id: number; readonly name: string; readonly output: number }[];
  };
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: readonly { readonly name: string; readonly shape: readonly number[]; readonly dtype: 'float32' }[];
  }[];
}

/** How the weights want images prepared (see the image pipeline's ImageTransform): saved by netspec train and imports. */
export interface InputNormalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** For classifiers: the share of the resized side the centre crop keeps; netspec train saves 1 (whole frames). */
  readonly cropFraction?: number;
  readonly interpolation?: 'bilinear' | 'bicubic';
}

export interface NamedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export const MANIFEST_FILE = 'model.json';

/**
 * Weights that cannot be loaded as given: a folder whose manifest or shards are not what they should be or that
 * cannot be fetched, or weights that do not fit the model. The caller's to fix, not a fault of the runtime.
 */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}

/** A weights folder read and checked against its manifest: every weight by its name in the folder. */
export interface WeightsFolder {
  /** The folder's path or URL, as messages name it. */
  readonly location: string;
  readonly manifest: WeightsFolderManifest;
  readonly weights: Map<string, NamedWeight>;
}

/** The largest weights manifest read: names and shapes of 5,000 layers take well under a megabyte. */
export const MAX_MANIFEST_BYTES = 16 * 2 ** 20;
/** The most bytes of weights a group of shards may describe: 2^32, the largest buffer Node allocates, above the 10^9 parameters the compiler admits. */
export const MAX_GROUP_BYTES = 2 ** 32;

/**
 * Bytes a read may still take. Shards read side by side share one budget, so that together they never take more
 * than the manifest describes, however much a server or a file would give.
 */
export class ByteBudget {
  constructor(public remaining: number) {}

  /** Counts `bytes` against the budget; false once it is overspent. */
  spend(bytes: number): boolean {
    this.remaining -= bytes;
    return this.remaining >= 0;
  }
}

/** How a platform reads the files of one weights folder (Node's file system, fetch, …). */
export interface FolderFiles {
  /**
   * A file of the folder, read once, never past what `budget` allows: more bytes than it has left throw a
   * WeightsError naming the file. Devices, pipes and folders are refused without waiting on them.
   */
  read(file: string, budget: ByteBudget): Promise<Uint8Array>;
  /** The files' sizes, when they can be known without reading them (a folder on disk): compared with the manifest first. */
  sizes?(files: readonly string[]): Promise<number[]>;
}

/**
 * Reads a weights folder through `files`, checking it against its manifest: the manifest first (at most
 * MAX_MANIFEST_BYTES), every shard listed once, the shards' sizes against the weights they must hold before any is
 * read when the platform can tell them, no read past that, and every weight finite. `location` names the folder
 * in messages.
 */
export async function readWeightsFolderFrom(location: string, files: FolderFiles): Promise<WeightsFolder> {
  const manifest = parseManifest(location, new TextDecoder().decode(await files.read(MANIFEST_FILE, new ByteBudget(MAX_MANIFEST_BYTES))));
  const groups = manifest.weightsManifest.map((group) => ({ paths: group.paths, weights: group.weights, bytes: groupBytes(group) }));
  if (files.sizes) {
    for (const group of groups) {
      const sizes = await files.sizes(group.paths);
      const total = sizes.reduce((sum, size) => sum + size, 0);
      if (total !== group.bytes) throw shardsDisagree(location, group.paths, total, group.bytes);
    }
  }
  const weights = new Map<string, NamedWeight>();
  const problems: string[] = [];
  for (const group of groups) {
    const budget = new ByteBudget(group.bytes);
    const shards = await Promise.all(group.paths.map((path) => files.read(path, budget)));
    const total = shards.reduce((sum, shard) => sum + shard.length, 0);
    if (total !== group.bytes) throw shardsDisagree(location, group.paths, total, group.bytes);
    const bytes = shards.length === 1 && shards[0]!.byteOffset === 0 ? shards[0]! : concatenate(shards, total);
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(bytes.buffer, offset, count);
      const problem = weightProblem(w.name, data);
      if (problem) problems.push(`${location}: ${problem}`);
      weights.set(w.name, { name: w.name, shape: w.shape, data });
      offset += 4 * count;
    }
  }
  if (problems.length > 0) throw new WeightsError(problems.join('\n'));
  return { location, manifest, weights };
}

const groupBytes = (group: WeightsFolderManifest['weightsManifest'][number]) =>
  group.weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);

function shardsDisagree(location: string, paths: readonly string[], total: number, expected: number): WeightsError {
  return new WeightsError(`${location}: shards ${paths.join(', ')} hold ${total} bytes, the manifest describes ${expected}`);
}

function concatenate(shards: readonly Uint8Array[], total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const shard of shards) {
    bytes.set(shard, at);
    at += shard.length;
  }
  return bytes;
}

function parseManifest(folder: string, text: string): WeightsFolderManifest {
  // A folder URL ends in a slash, a path need not.
  const file = `${folder.replace(/\/$/, '')}/${MANIFEST_FILE}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WeightsError(`${file} is not a netspec weights manifest: it is not JSON`);
  }
  const why = manifestProblem(parsed);
  if (why !== undefined) throw new WeightsError(`${file} is not a netspec weights manifest: ${why}`);
  return parsed as WeightsFolderManifest;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What makes a parsed manifest unusable, or undefined: every field a reader relies on is checked, so nothing later meets a null. */
function manifestProblem(manifest: unknown): string | undefined {
  if (!isObject(manifest) || manifest.format !== 'netspec-weights' || manifest.version !== 1) return 'unknown format or version';
  const { weightsManifest: groups, skipped, input, classes, categories } = manifest;
  if (!Array.isArray(groups) || !Array.isArray(skipped)) return 'weightsManifest or skipped is missing';
  if (!skipped.every((name) => typeof name === 'string')) return 'skipped is not a list of layer names';
  const shardCounts = new Map<string, number>();
  const names = new Set<string>();
  for (const [i, group] of groups.entries()) {
    if (!isObject(group)) return `weightsManifest[${i}] is not an object of paths and weights`;
    const { paths, weights } = group;
    if (!Array.isArray(paths)) return `weightsManifest[${i}].paths is not a list of shard file names`;
    if (!Array.isArray(weights)) return `weightsManifest[${i}].weights is not a list of weights`;
    // Shard paths come from the file: only plain file names, so reading stays inside the folder.
    if (paths.some((path) => typeof path !== 'string' || !/^[\w-][\w.-]*$/.test(path))) return 'a shard path is not a plain file name';
    for (const path of paths as string[]) shardCounts.set(path, (shardCounts.get(path) ?? 0) + 1);
    const validShape = (shape: unknown) => Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    for (const w of weights) {
      if (!isObject(w)) return 'a weight is not an object of name, shape and dtype';
      if (typeof w.name !== 'string') return 'a weight name is not a string';
      if (w.dtype !== 'float32' || !validShape(w.shape)) return 'a weight is not float32 or has an invalid shape';
      if (names.has(w.name)) return `it lists the weight ${w.name} twice`;
      names.add(w.name);
    }
    const bytes = (weights as { shape: number[] }[]).reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (bytes > MAX_GROUP_BYTES) return `the weights take ${bytes} bytes, more than the ${MAX_GROUP_BYTES} bytes one buffer holds`;
  }
  const repeated = [...shardCounts].find(([, count]) => count > 1);
  if (repeated) return `it lists the shard ${repeated[0]} ${repeated[1]} times; each shard is read once`;
  if (input !== undefined) {
    const problem = normalizationProblem(input);
    if (problem) return `input, the normalisation, is unusable: ${problem}`;
  }
  if (classes !== undefined && !(Array.isArray(classes) && classes.every((name) => typeof name === 'string'))) return 'classes is not a list of names';
  if (categories !== undefined && !(isObject(categories) && Array.isArray(categories.categories))) return 'categories is not a category mapping';
  return undefined;
}

/**
 * What a trained model needs beside its weights, as string pairs for a model file's metadata (ONNX metadata_props):
 * `netspec.input.mean` and `netspec.input.std` (JSON lists per channel, for pixels scaled to [0, 1]) and
 * `netspec.classes` (a JSON list of names in label order), each only when the folder records it.
 */
export function deploymentMetadata(manifest: Pick<WeightsFolderManifest, 'input' | 'classes'>): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (manifest.input) {
    metadata['netspec.input.mean'] = JSON.stringify(manifest.input.mean);
    metadata['netspec.input.std'] = JSON.stringify(manifest.input.std);
  }
  if (manifest.classes) metadata['netspec.classes'] = JSON.stringify(manifest.classes);
  return metadata;
}
