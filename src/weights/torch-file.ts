/**
 * The two containers of `torch.save`. Since PyTorch 1.6 a checkpoint is a zip archive: `<folder>/data.pkl` (the
 * pickle), one entry `<folder>/data/<key>` per storage, `<folder>/version`, and since 2.1 `<folder>/byteorder`.
 * With `_use_new_zipfile_serialization=False` it is the legacy stream: five pickles in a row (a magic number, the
 * format version 1001, the saving machine's byte order and type sizes, the object, the list of storage keys),
 * then each storage as an 8-byte little-endian element count followed by its bytes. Both are read from bytes in
 * memory; a storage's bytes are views of the file wherever they are stored uncompressed.
 */
import { describe, PickleDict, PickleError, type PickleValue } from './pickle-values.js';
import { readPickle } from './pickle.js';
import { WeightFileError } from './safetensors.js';
import { DTYPE_BYTES, torchPickleHost, type StorageRef } from './torch-pickle.js';
import { readZipDirectory, ZipError, zipEntryBytes, type ZipEntry } from './zip.js';

/** A checkpoint's unpickled object, and the bytes of the storages its tensors view. */
export interface TorchContents {
  readonly root: PickleValue;
  /** Each storage's bytes (its elements × their size), and a sentence for each storage that cannot be read. */
  readonly storageBytes: (storages: readonly StorageRef[]) => { bytes: Map<StorageRef, Uint8Array>; problems: string[] };
}

/** torch.save's legacy magic number, the first pickle of a legacy file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_FORMAT_VERSION = 1001;
/** The most a checkpoint's deflated entries may inflate to, together: torch.save stores its entries uncompressed. */
export const MAX_INFLATED_BYTES = 2 ** 30;

const fail = (file: string, problem: string): never => {
  throw new WeightFileError(file, [problem]);
};

/** Runs a reader, turning its one-sentence errors into the file's one problem. */
function oneProblem<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof PickleError || error instanceof ZipError) return fail(file, error.message);
    throw error;
  }
}

/** The entries of a torch.save archive by name, and the folder they are in (`archive/`). */
function torchArchive(file: string, bytes: Uint8Array): { folder: string; entries: Map<string, ZipEntry> } {
  const list = oneProblem(file, () => readZipDirectory(bytes));
  const first = list[0] ?? fail(file, 'the zip archive is empty; a torch.save archive holds data.pkl and its storages');
  const folder = first.name.slice(0, first.name.indexOf('/') + 1);
  if (folder === '') fail(file, `the archive's first entry, ${JSON.stringify(first.name)}, is in no folder: not a torch.save archive`);
  const entries = new Map<string, ZipEntry>();
  for (const entry of list) {
    if (entries.has(entry.name)) fail(file, `the zip archive holds ${JSON.stringify(entry.name)} twice`);
    entries.set(entry.name, entry);
  }
  if (entries.has(`${folder}constants.pkl`)) {
    fail(file, "is a TorchScript archive (torch.jit.save), whose code netspec does not run; save the model's state_dict() with torch.save and import that");
  }
  if (!entries.has(`${folder}data.pkl`)) fail(file, `the zip archive holds no ${folder}data.pkl: not a torch.save archive`);
  return { folder, entries };
}

/** Reads a zip-format torch.save checkpoint's pickle; storages are read when asked for. */
export function readTorchZip(file: string, bytes: Uint8Array): TorchContents {
  const { folder, entries } = torchArchive(file, bytes);
  let inflateBudget = MAX_INFLATED_BYTES;
  const read = (entry: ZipEntry) => {
    const data = oneProblem(file, () => zipEntryBytes(bytes, entry, inflateBudget));
    if (entry.method !== 0) inflateBudget -= data.length;
    return data;
  };
  const byteOrder = entries.get(`${folder}byteorder`);
  if (byteOrder) {
    const order = new TextDecoder('latin1').decode(read(byteOrder)).trim();
    if (order !== 'little')
      fail(
        file,
        `stores its tensors ${order === 'big' ? 'big-endian' : `in the byte order ${JSON.stringify(order.slice(0, 20))}`} (its byteorder record); little-endian checkpoints are read`,
      );
  }
  const host = torchPickleHost('zip');
  const root = oneProblem(file, () => readPickle(read(entries.get(`${folder}data.pkl`)!), 0, host, `${folder}data.pkl`).value);
  return {
    root,
    storageBytes: (storages) => {
      const found = new Map<StorageRef, Uint8Array>();
      const problems: string[] = [];
      for (const storage of storages) {
        const name = `${folder}data/${storage.key}`;
        const entry = entries.get(name);
        const expected = storage.numel * DTYPE_BYTES[storage.dtype];
        if (!entry) problems.push(`the pickle refers to ${name}, which the archive lacks`);
        else if (entry.size !== expected)
          problems.push(`${name} holds ${entry.size} bytes where the pickle declares ${storage.numel} ${storage.dtype} values (${expected} bytes)`);
        else found.set(storage, read(entry));
      }
      return { bytes: found, problems };
    },
  };
}

/** Whether the file starts as a legacy torch.save file does: a pickle (protocol 2 or later) of a long integer. */
export function looksLikeLegacyTorch(bytes: Uint8Array): boolean {
  return bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5;
}

/** Reads a legacy (non-zip) torch.save checkpoint: its pickles, and where each storage's bytes lie. */
export function readTorchLegacy(file: string, bytes: Uint8Array): TorchContents {
  const host = torchPickleHost('legacy');
  let at = 0;
  const next = (name: string) =>
    oneProblem(file, () => {
      const { value, end } = readPickle(bytes, at, host, name);
      at = end;
      return value;
    });
  const magic = next('the magic number');
  if (magic !== LEGACY_MAGIC) fail(file, `starts with a pickle of ${describe(magic)}, not torch.save's magic number: not a checkpoint`);
  const version = next('the format version');
  if (version !== LEGACY_FORMAT_VERSION) fail(file, `declares the legacy format version ${describe(version)}; torch.save writes ${LEGACY_FORMAT_VERSION}`);
  const system = next('the system information');
  if (system instanceof PickleDict && system.entries.get('little_endian') === false) {
    fail(file, 'was saved on a big-endian machine (its system information says so); little-endian checkpoints are read');
  }
  const root = next('the pickle');
  const keys = next('the storage list');
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) fail(file, `lists its storages as ${describe(keys)}, not a list of keys`);
  const located = locateStorages(file, bytes, at, keys as string[], host.storages);
  return {
    root,
    storageBytes: (storages) => {
      const found = new Map<StorageRef, Uint8Array>();
      const problems: string[] = [];
      for (const storage of storages) {
        const place = located.get(storage.key);
        if (!place) problems.push(`storage ${storage.key} is missing from the file's list of storages`);
        else if (place.count !== storage.numel)
          problems.push(`storage ${storage.key} holds ${place.count} ${storage.dtype} values where the pickle declares ${storage.numel}`);
        else found.set(storage, bytes.subarray(place.start, place.start + place.count * DTYPE_BYTES[storage.dtype]));
      }
      return { bytes: found, problems };
    },
  };
}

/** Where each listed storage's bytes start and how many elements it has, each checked to lie inside the file. */
function locateStorages(
  file: string,
  bytes: Uint8Array,
  start: number,
  keys: readonly string[],
  storages: ReadonlyMap<string, StorageRef>,
): Map<string, { start: number; count: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const located = new Map<string, { start: number; count: number }>();
  let at = start;
  for (const key of keys) {
    const storage = storages.get(key) ?? fail(file, `lists storage ${JSON.stringify(key.slice(0, 40))}, which no tensor of the pickle refers to`);
    if (at + 8 > bytes.length) fail(file, `the file ends at byte ${bytes.length}, before storage ${key}: it is truncated`);
    const count = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
    const length = count * DTYPE_BYTES[storage.dtype];
    if (at + 8 + length > bytes.length) {
      fail(
        file,
        `storage ${key} declares ${count} ${storage.dtype} values (${length} bytes) from byte ${at + 8}, past the end of the ${bytes.length}-byte file: it is truncated`,
      );
    }
    located.set(key, { start: at + 8, count });
    at += 8 + length;
  }
  return located;
}
