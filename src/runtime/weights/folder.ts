// The weights folder format, readable without loading TensorFlow.js (the CLI's import and export use it), and with
// no Node builtin: how the files are read is the caller's.

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

/**
 * Reads a weights folder through `read` (a file name in the folder to its bytes: Node's file system, fetch, …),
 * checking it against its manifest. `location` names the folder in messages.
 */
export async function readWeightsFolderFrom(location: string, read: (file: string) => Promise<Uint8Array>): Promise<WeightsFolder> {
  const manifest = parseManifest(location, new TextDecoder().decode(await read(MANIFEST_FILE)));
  const weights = new Map<string, NamedWeight>();
  for (const group of manifest.weightsManifest) {
    const shards = await Promise.all(group.paths.map(read));
    const total = shards.reduce((sum, shard) => sum + shard.length, 0);
    const expected = group.weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (total !== expected) throw new WeightsError(`${location}: shards ${group.paths.join(', ')} hold ${total} bytes, the manifest describes ${expected}`);
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
  return { location, manifest, weights };
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
  const manifest = parsed as Partial<Record<keyof WeightsFolderManifest, unknown>> | null;
  const bad = (why: string) => new WeightsError(`${file} is not a netspec weights manifest: ${why}`);
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
  if (manifest.input !== undefined && !isNormalization(manifest.input)) throw bad('input is not { mean, std } with one finite mean and one positive deviation per channel (and optionally a cropFraction in (0, 1] and an interpolation, bilinear or bicubic)');
  if (manifest.classes !== undefined && !(Array.isArray(manifest.classes) && manifest.classes.every((name) => typeof name === 'string'))) throw bad('classes is not a list of names');
  return manifest as unknown as WeightsFolderManifest;
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

function isNormalization(value: unknown): value is InputNormalization {
  const { mean, std, cropFraction, interpolation } = (value ?? {}) as Partial<Record<keyof InputNormalization, unknown>>;
  const numbers = (list: unknown): list is number[] => Array.isArray(list) && list.length > 0 && list.every(Number.isFinite);
  const fraction = cropFraction === undefined || (typeof cropFraction === 'number' && cropFraction > 0 && cropFraction <= 1);
  const filter = interpolation === undefined || interpolation === 'bilinear' || interpolation === 'bicubic';
  return numbers(mean) && numbers(std) && mean.length === std.length && std.every((s) => s > 0) && fraction && filter;
}
