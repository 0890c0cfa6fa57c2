import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { assertWritable } from '../files/output-guard.js';
import { MANIFEST_FILE, type NamedWeight, type WeightsFolderManifest } from '../runtime/weights/folder.js';

/** TensorFlow.js' shard size, so that browsers can cache the files. */
export const SHARD_BYTES = 4 * 1024 * 1024;

/**
 * Writes a weights folder: shards of the weights' bytes in order, then model.json. The folder is written
 * beside the target and renamed into place, so a failure never leaves a half-written folder behind. Anything at the
 * target but an empty folder or a netspec weights folder is refused (OutputError).
 */
export function writeWeightsFolder(
  folder: string,
  model: string,
  weights: readonly NamedWeight[],
  skipped: readonly string[],
  trainedWith: Pick<WeightsFolderManifest, 'input' | 'classes' | 'categories'> = {},
): void {
  const bytes = concatenate(weights);
  const total = bytes.byteLength;
  const count = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const manifest: WeightsFolderManifest = {
    format: 'netspec-weights',
    version: 1,
    model,
    ...trainedWith,
    skipped,
    weightsManifest: [{ paths, weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
  };

  // Replacing a folder deletes it, so only netspec's own weights folders are replaced.
  assertWritable([{ path: folder, kind: 'weights-folder' }]);
  mkdirSync(dirname(folder), { recursive: true });
  const staging = join(dirname(folder), `.${basename(folder)}.${process.pid}.tmp`);
  const previous = join(dirname(folder), `.${basename(folder)}.${process.pid}.old`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    paths.forEach((path, i) => writeFileSync(join(staging, path), bytes.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES)));
    writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    if (existsSync(folder)) renameSync(folder, previous);
    renameSync(staging, folder);
    rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** The weights' bytes in order; weights that already lie back to back in one buffer (as imported) are not copied. */
function concatenate(weights: readonly NamedWeight[]): Uint8Array {
  const total = weights.reduce((sum, w) => sum + w.data.byteLength, 0);
  const first = weights[0]?.data;
  let expected = first?.byteOffset ?? 0;
  const contiguous = weights.every((w) => w.data.buffer === first?.buffer && w.data.byteOffset === expected && (expected += w.data.byteLength) > -1);
  if (first && contiguous) return new Uint8Array(first.buffer, first.byteOffset, total);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    at += w.data.byteLength;
  }
  return bytes;
}
