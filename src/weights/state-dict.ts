/**
 * The state dict inside a `torch.save` checkpoint, as the importer takes it. Training scripts save more than the
 * weights — `{"model": …}`, `{"state_dict": …, "optimizer": …, "epoch": …}`, timm's `state_dict_ema` beside its
 * `state_dict` — and DistributedDataParallel prefixes every name with `module.`. The dict of tensors is found
 * when there is one, or one that fits the model, and chosen by name otherwise; only its tensors are read, each
 * checked against its storage, and their values are made when the importer asks for them.
 */
import { describe, PickleDict, type PickleValue } from './pickle-values.js';
import { toFloat32, type FloatTensor, type SafetensorsFile } from './safetensors.js';
import { TensorRef, type StorageRef, type TorchDtype } from './torch-pickle.js';
import type { TorchContents } from './torch-file.js';

export interface StateDictOptions {
  /** The checkpoint's entry that holds the state dict (`--key`). */
  readonly key?: string;
  /** Whether a state dict, as names and shapes (DDP's prefix removed), holds every tensor the model needs. */
  readonly fits?: (shapes: ReadonlyMap<string, readonly number[]>) => boolean;
}

const DDP_PREFIX = 'module.';

/** How the names of a state dict lose DDP's `module.`: only when every one of them has it. */
export function ddpPrefixRemover(names: readonly string[]): (name: string) => string {
  const prefixed = names.length > 0 && names.every((name) => name.startsWith(DDP_PREFIX));
  return (name) => (prefixed ? name.slice(DDP_PREFIX.length) : name);
}

/** A dict whose keys are all strings and whose values are all tensors, or undefined. */
function tensorsOf(value: PickleValue | undefined): Map<string, TensorRef> | undefined {
  if (!(value instanceof PickleDict) || value.entries.size === 0) return undefined;
  const entries = [...value.entries];
  if (!entries.every(([name, tensor]) => typeof name === 'string' && tensor instanceof TensorRef)) return undefined;
  const rename = ddpPrefixRemover(entries.map(([name]) => name as string));
  return new Map(entries.map(([name, tensor]) => [rename(name as string), tensor as TensorRef]));
}

/** Some of a list of names, enough to recognise them. */
function someKeys(keys: readonly PickleValue[]): string {
  const shown = keys.slice(0, 8).map((key) => (typeof key === 'string' ? JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key) : describe(key)));
  return keys.length > shown.length ? `${shown.join(', ')}, … (${keys.length} in all)` : shown.join(', ');
}

/** The checkpoint's state dict, or a sentence saying why none could be chosen. */
export function chooseStateDict(root: PickleValue, options: StateDictOptions): Map<string, TensorRef> | string {
  const { key, fits } = options;
  if (key !== undefined) {
    if (!(root instanceof PickleDict)) return `--key ${key}: the checkpoint holds ${describe(root)}, not a dict`;
    if (!root.entries.has(key))
      return `--key ${key}: the checkpoint has no entry ${JSON.stringify(key)}; its entries are ${someKeys([...root.entries.keys()])}`;
    return (
      tensorsOf(root.entries.get(key)) ??
      `--key ${key}: the checkpoint's entry ${JSON.stringify(key)} is ${describe(root.entries.get(key)!)}, not a dict of tensors`
    );
  }
  const top = tensorsOf(root);
  if (top) return top;
  if (!(root instanceof PickleDict)) return `holds ${describe(root)}, not a state dict (a dict of tensors)`;
  const nested = [...root.entries].flatMap(([name, value]) => {
    const tensors = typeof name === 'string' ? tensorsOf(value) : undefined;
    return tensors ? [{ name, tensors }] : [];
  });
  if (nested.length === 1) return nested[0]!.tensors;
  if (nested.length === 0)
    return `holds no state dict: neither the checkpoint nor any of its entries (${someKeys([...root.entries.keys()])}) is a dict of tensors`;
  const fitting = fits ? nested.filter(({ tensors }) => fits(new Map([...tensors].map(([name, tensor]) => [name, tensor.shape])))) : [];
  if (fitting.length === 1) return fitting[0]!.tensors;
  const names = someKeys(nested.map(({ name }) => name));
  const verdict =
    fitting.length === 0
      ? 'none of which holds every tensor of the model'
      : `${fitting.length === nested.length ? 'each' : someKeys(fitting.map(({ name }) => name))} of which holds every tensor of the model`;
  return `holds ${nested.length} state dicts (${names}), ${verdict}; choose one with --key NAME`;
}

const FLOAT_DTYPES: Partial<Record<TorchDtype, 'F32' | 'F16' | 'BF16' | 'F64'>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64' };
const OTHER_DTYPES: Partial<Record<TorchDtype, string>> = { int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL' };

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Why a tensor reaches past the end of its storage, or undefined when it does not (arithmetic in bigint: sizes are the file's). */
function extentProblem(name: string, tensor: TensorRef): string | undefined {
  const { storage, offset, shape, strides } = tensor;
  const empty = shape.some((size) => size === 0);
  const last = empty ? BigInt(offset) - 1n : shape.reduce((sum, size, i) => sum + BigInt(size - 1) * BigInt(strides[i]!), BigInt(offset));
  if (last < BigInt(storage.numel) && offset <= storage.numel) return undefined;
  return `${name}: a ${shapeText(shape)} tensor at offset ${offset} with strides ${shapeText(strides)} reaches element ${last} of ${storage.description}, which holds ${storage.numel} ${storage.dtype} values`;
}

/** Whether a view reads its elements in row-major order without gaps, so that it is a slice of its storage. */
function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** A view's elements in row-major order. */
function gather(source: Float32Array, { offset, shape, strides }: Pick<TensorRef, 'offset' | 'shape' | 'strides'>): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (isContiguous(shape, strides)) return source.subarray(offset, offset + count);
  const out = new Float32Array(count);
  const index = shape.map(() => 0);
  let at = offset;
  for (let i = 0; i < count; i++) {
    out[i] = source[at]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      at += strides[d]!;
      if (++index[d]! < shape[d]!) break;
      at -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** One past the last storage element a view reads (its offset when it is empty); valid once extentProblem passed. */
function viewEnd({ offset, shape, strides }: TensorRef): number {
  if (shape.some((size) => size === 0)) return offset;
  return shape.reduce((sum, size, i) => sum + (size - 1) * strides[i]!, offset) + 1;
}

/**
 * The chosen state dict as the importer takes it: float tensors and the names and dtypes of the others. A float
 * tensor's values are made when the importer reads them: a view of the file where a float32 storage lies 4-byte
 * aligned (as PyTorch's zip format aligns it), a view of its storage converted once to float32 for the other
 * float dtypes, and otherwise a copy of the elements it reads, made anew each time rather than kept, so that a
 * legacy file's unaligned storages never sit in memory twice.
 */
export function stateDictFile(tensors: ReadonlyMap<string, TensorRef>, contents: TorchContents): SafetensorsFile | string[] {
  const problems = [...tensors].flatMap(([name, tensor]) => extentProblem(name, tensor) ?? []);
  const storages = [...new Set([...tensors.values()].map((tensor) => tensor.storage))];
  const { bytes, problems: storageProblems } = contents.storageBytes(storages);
  problems.push(...storageProblems);
  if (problems.length > 0) return problems;

  const converted = new Map<StorageRef, Float32Array>();
  const floatsOf = (storage: StorageRef) => {
    let floats = converted.get(storage);
    if (!floats) converted.set(storage, (floats = toFloat32(FLOAT_DTYPES[storage.dtype]!, bytes.get(storage)!)));
    return floats;
  };
  const valuesOf = (tensor: TensorRef) => {
    const raw = bytes.get(tensor.storage)!;
    if (tensor.storage.dtype !== 'float32' || raw.byteOffset % 4 === 0) return gather(floatsOf(tensor.storage), tensor);
    const copy = new Float32Array(raw.slice(4 * tensor.offset, 4 * viewEnd(tensor)).buffer);
    return gather(copy, { offset: 0, shape: tensor.shape, strides: tensor.strides });
  };
  const floats = new Map<string, FloatTensor>();
  const others = new Map<string, string>();
  for (const [name, tensor] of tensors) {
    if (FLOAT_DTYPES[tensor.storage.dtype] === undefined) others.set(name, OTHER_DTYPES[tensor.storage.dtype]!);
    else {
      floats.set(name, {
        shape: tensor.shape,
        get data() {
          return valuesOf(tensor);
        },
      });
    }
  }
  return { tensors: floats, others, metadata: new Map() };
}
