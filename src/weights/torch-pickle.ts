/**
 * What `torch.load(path, weights_only=True)` rebuilds from a `torch.save` pickle, as the pickle reader's host:
 * dicts and OrderedDicts, tensors from storages (`_rebuild_tensor_v2` and its relatives, `Parameter`),
 * `torch.Size`, dtypes, and the storage types that persistent ids name. Any other global is refused as soon as
 * the pickle names it. Nothing is looked up by a name read from the file except in the one fixed table below,
 * whose entries are data or functions of this module that build data.
 */
import { printable } from '../files/display-path.js';
import { describe, HostValue, ONLY_DATA, PickleDict, PickleError, PickleTuple, type PickleHost, type PickleValue } from './pickle-values.js';

export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const DTYPE_BYTES: Readonly<Record<TorchDtype, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** A storage class, as persistent ids name it (`torch.FloatStorage`). */
class StorageType extends HostValue {
  constructor(
    readonly description: string,
    readonly dtype: TorchDtype,
  ) {
    super();
  }
}

/** A function of the allow-list: what it builds from its arguments. */
class TorchFunction extends HostValue {
  constructor(
    readonly description: string,
    readonly call: (args: readonly PickleValue[]) => PickleValue,
  ) {
    super();
  }
}

/** A value torch pickles by name and that is only ever data here (a dtype such as `torch.float32`). */
class TorchConstant extends HostValue {
  constructor(readonly description: string) {
    super();
  }
}

/** A storage a persistent id refers to: the bytes come from the file's container, by key. */
export class StorageRef extends HostValue {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    /** Elements of `dtype`, as the pickle declares them. */
    readonly numel: number,
  ) {
    super();
  }
  get description(): string {
    return `storage ${this.key}`;
  }
}

/** A tensor as `_rebuild_tensor_v2` describes it: a view of a storage. Its values are read only when needed. */
export class TensorRef extends HostValue {
  readonly description = 'a tensor';
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
  ) {
    super();
  }
}

const malformed = (what: string): never => {
  throw new PickleError(`the pickle is malformed: ${what}`);
};
const refuse = (what: string): never => {
  throw new PickleError(`refuses ${what}; ${ONLY_DATA}`);
};

const isCount = (value: PickleValue): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A size or stride: a tuple or list of non-negative integers. */
function countsOf(value: PickleValue): number[] | undefined {
  const items = value instanceof PickleTuple ? value.items : Array.isArray(value) ? value : undefined;
  return items?.every(isCount) ? (items as number[]) : undefined;
}

function tensorOf(name: string, [storage, offset, size, stride]: readonly PickleValue[]): TensorRef {
  const shape = countsOf(size ?? null);
  const strides = countsOf(stride ?? null);
  if (!(storage instanceof StorageRef) || !isCount(offset ?? null) || !shape || !strides || shape.length !== strides.length) {
    const got = [storage, offset, size, stride].map((value) => (value === undefined ? 'nothing' : describe(value))).join(', ');
    return malformed(`${name} takes a storage, an offset, and a size and strides of as many non-negative integers; it was given ${got}`);
  }
  return new TensorRef(storage, offset as number, shape, strides);
}

/** The tensor a Parameter wraps. */
function parameterData(name: string, data: PickleValue | undefined): TensorRef {
  return data instanceof TensorRef ? data : malformed(`${name} wraps ${data === undefined ? 'nothing' : describe(data)}, not a tensor`);
}

function orderedDict(args: readonly PickleValue[]): PickleDict {
  const dict = new PickleDict('collections.OrderedDict');
  const [pairs] = args;
  if (pairs === undefined) return dict;
  if (!Array.isArray(pairs)) return malformed(`collections.OrderedDict is given ${describe(pairs)}, not a list of pairs`);
  for (const pair of pairs) {
    const items = pair instanceof PickleTuple ? pair.items : Array.isArray(pair) ? pair : [];
    if (items.length !== 2) return malformed(`collections.OrderedDict is given ${describe(pair)}, not a pair`);
    dict.entries.set(items[0]!, items[1]!);
  }
  return dict;
}

const PARAMETER = new TorchFunction('torch.nn.parameter.Parameter', ([data]) => parameterData('torch.nn.parameter.Parameter', data));

const STORAGE_DTYPES: readonly (readonly [string, TorchDtype])[] = [
  ['Float', 'float32'],
  ['Half', 'float16'],
  ['BFloat16', 'bfloat16'],
  ['Double', 'float64'],
  ['Long', 'int64'],
  ['Int', 'int32'],
  ['Short', 'int16'],
  ['Char', 'int8'],
  ['Byte', 'uint8'],
  ['Bool', 'bool'],
];

/** The globals a checkpoint may name, by `module.name`. */
const GLOBALS: ReadonlyMap<string, HostValue> = new Map<string, HostValue>([
  ['collections.OrderedDict', new TorchFunction('collections.OrderedDict', orderedDict)],
  ['torch._utils._rebuild_tensor_v2', new TorchFunction('torch._utils._rebuild_tensor_v2', (args) => tensorOf('_rebuild_tensor_v2', args))],
  ['torch._utils._rebuild_tensor', new TorchFunction('torch._utils._rebuild_tensor', (args) => tensorOf('_rebuild_tensor', args))],
  ['torch._utils._rebuild_parameter', new TorchFunction('torch._utils._rebuild_parameter', ([data]) => parameterData('_rebuild_parameter', data))],
  [
    'torch._utils._rebuild_parameter_with_state',
    new TorchFunction('torch._utils._rebuild_parameter_with_state', ([data]) => parameterData('_rebuild_parameter_with_state', data)),
  ],
  ['torch.nn.parameter.Parameter', PARAMETER],
  [
    'torch.Size',
    new TorchFunction('torch.Size', ([sizes]) => new PickleTuple(countsOf(sizes ?? null) ?? malformed(`torch.Size is given ${describe(sizes ?? null)}`))),
  ],
  // Checkpoints saved from CUDA by PyTorch before 1.10 name the CUDA storage classes; the bytes are the same.
  ...STORAGE_DTYPES.flatMap(([prefix, dtype]) =>
    ['torch', 'torch.cuda'].map((module): [string, HostValue] => [`${module}.${prefix}Storage`, new StorageType(`${module}.${prefix}Storage`, dtype)]),
  ),
  ...['torch.UntypedStorage', 'torch.storage.UntypedStorage', 'torch.storage._UntypedStorage'].map((name): [string, HostValue] => [
    name,
    new StorageType(name, 'uint8'),
  ]),
  ...['complex32', 'complex64', 'complex128', 'float16', 'float32', 'float64', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool'].map(
    (dtype): [string, HostValue] => [`torch.${dtype}`, new TorchConstant(`torch.${dtype}`)],
  ),
]);

/** Text from the file, shown in a message on one line whatever it holds. */
/** A name read from the pickle, cut at 80 characters and made printable, for a message. */
const shown = (text: string) => printable(text.length > 80 ? `${text.slice(0, 80)}…` : text);

const asText = (value: PickleValue | undefined): string | undefined =>
  typeof value === 'string' ? value : value instanceof Uint8Array ? new TextDecoder('latin1').decode(value) : undefined;

/**
 * The host for one file. Persistent ids are `('storage', type, key, location, numel)` in the zip format and carry
 * a sixth field, a view of another storage (always None since PyTorch 1.0), in the legacy format.
 */
export function torchPickleHost(format: 'zip' | 'legacy'): PickleHost & { readonly storages: ReadonlyMap<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const fields = format === 'zip' ? 5 : 6;
  return {
    storages,
    global: (module, name) => GLOBALS.get(`${module}.${name}`) ?? refuse(`the pickle global ${shown(`${module}.${name}`)}`),
    reduce: (callable, args) => {
      if (!(callable instanceof TorchFunction)) return refuse(`to call ${describe(callable)} (REDUCE)`);
      if (!(args instanceof PickleTuple)) return malformed(`REDUCE gives ${callable.description} ${describe(args)}, not a tuple of arguments`);
      return callable.call(args.items);
    },
    newObject: (cls, args) => {
      if (cls !== PARAMETER) return refuse(`NEWOBJ of ${describe(cls)}`);
      if (!(args instanceof PickleTuple)) return malformed(`NEWOBJ gives ${PARAMETER.description} ${describe(args)}, not a tuple of arguments`);
      return PARAMETER.call(args.items);
    },
    // An OrderedDict's state is its attributes (state_dict() sets `_metadata`), never its items: nothing to keep.
    build: (target) => {
      if (!(target instanceof PickleDict) || target.className !== 'collections.OrderedDict') refuse(`BUILD on ${describe(target)}`);
    },
    persistentLoad: (id) => {
      if (!(id instanceof PickleTuple)) return refuse(`the persistent id ${describe(id)}; torch.save's are ('storage', …) tuples`);
      const [kind, type, key, location, numel, view] = id.items;
      const kindText = asText(kind);
      if (kindText === 'module') return refuse('a persistent id of kind module: a whole model saved with torch.save(model); save model.state_dict() instead');
      if (kindText !== 'storage')
        return refuse(`a persistent id of kind ${kindText === undefined ? describe(kind ?? null) : shown(kindText)}; torch.save's are ('storage', …)`);
      if (id.items.length !== fields) return refuse(`a storage persistent id of ${id.items.length} fields; the ${format} format of torch.save has ${fields}`);
      if (!(type instanceof StorageType)) return refuse(`the storage type ${describe(type!)}`);
      const keyText = asText(key);
      if (keyText === undefined || asText(location) === undefined || !isCount(numel!)) {
        return malformed(
          `a storage persistent id holds ${[key, location, numel].map((v) => describe(v!)).join(', ')} where a key, a location and a size belong`,
        );
      }
      if (format === 'legacy' && view !== null) return refuse('a view of another storage (a persistent id of PyTorch before 1.0)');
      return storageRef(storages, keyText, type.dtype, numel as number);
    },
  };
}

function storageRef(storages: Map<string, StorageRef>, key: string, dtype: TorchDtype, numel: number): StorageRef {
  const known = storages.get(key);
  if (!known) {
    const ref = new StorageRef(key, dtype, numel);
    storages.set(key, ref);
    return ref;
  }
  if (known.dtype !== dtype || known.numel !== numel) {
    return malformed(`storage ${shown(key)} is declared as ${known.numel} ${known.dtype} values and as ${numel} ${dtype} values`);
  }
  return known;
}
