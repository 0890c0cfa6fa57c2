/**
 * What the pickle reader makes: Python's plain values, and the values a host makes for the globals it allows.
 * Lists are arrays, bytes are Uint8Arrays, ints are numbers when exact and bigints beyond.
 */

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A dict, or a dict subclass the host allowed (`collections.OrderedDict`), in insertion order. */
export class PickleDict {
  readonly entries = new Map<PickleValue, PickleValue>();
  constructor(readonly className = 'dict') {}
}

export class PickleSet {
  readonly items: PickleValue[] = [];
  constructor(readonly frozen: boolean) {}
}

/** A value only a host makes (a storage type, a tensor): inert data that says what it is. */
export abstract class HostValue {
  abstract readonly description: string;
}

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | PickleTuple | PickleDict | PickleSet | HostValue;

/** What the opcodes that involve Python code do: each allows a fixed set of things and throws PickleError for the rest. */
export interface PickleHost {
  /** The value GLOBAL and STACK_GLOBAL push for `module.name`. */
  global(module: string, name: string): PickleValue;
  /** REDUCE: `callable(*args)`. */
  reduce(callable: PickleValue, args: PickleValue): PickleValue;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  newObject(cls: PickleValue, args: PickleValue): PickleValue;
  /** BUILD: sets `target`'s state. */
  build(target: PickleValue, state: PickleValue): void;
  /** PERSID and BINPERSID: the object a persistent id stands for. */
  persistentLoad(id: PickleValue): PickleValue;
}

/** A pickle that is malformed or asks for something refused; the message is one sentence. */
export class PickleError extends Error {
  override name = 'PickleError';
}

/** The end of every refusal: what this reader does read. */
export const ONLY_DATA = 'only tensors, numbers, strings and containers are read';

/** How a value is named in messages. */
export function describe(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isInteger(value) ? `the int ${value}` : `the float ${value}`;
  if (typeof value === 'bigint') return value.toString().length > 40 ? `an int of ${value.toString().length} digits` : `the int ${value}`;
  if (typeof value === 'string') return `the str ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof PickleTuple) return `a tuple of ${value.items.length}`;
  if (value instanceof PickleDict) return value.className === 'dict' ? 'a dict' : `a ${value.className}`;
  if (value instanceof PickleSet) return value.frozen ? 'a frozenset' : 'a set';
  return value.description;
}
