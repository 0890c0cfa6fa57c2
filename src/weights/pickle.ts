/**
 * A reader of Python pickles that rebuilds data and nothing else. A pickle is a program for Python's unpickler:
 * GLOBAL names any importable callable and REDUCE calls it, which is how a checkpoint runs code when it is loaded.
 * This reader interprets every opcode of protocols 0–5 itself. Those that make plain data (numbers, strings,
 * bytes, lists, tuples, dicts, sets, the memo and the stack) are handled here; those that name or call Python
 * (GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, persistent ids) go to a host that holds a fixed allow-list and
 * turns what it allows into plain values; INST, OBJ, NEWOBJ_EX, the EXT opcodes and out-of-band buffers are
 * refused outright. Nothing read from a pickle is ever looked up by name outside the host's list.
 */
import { describe, ONLY_DATA, PickleDict, PickleError, PickleSet, PickleTuple, type PickleHost, type PickleValue } from './pickle-values.js';

/** The highest pickle protocol, Python 3.8's 5. */
const HIGHEST_PROTOCOL = 5;
/** Python refuses to convert integers of more digits than this from text; so does this reader. */
const MAX_INT_DIGITS = 4300;
/** The longest binary integer read (LONG4): as many bytes as those digits need, and a little more. */
const MAX_INT_BYTES = 2048;
/** The longest string read: far beyond any checkpoint's, and within what a JavaScript string holds. */
const MAX_STRING_BYTES = 2 ** 28;

/** Reads the pickle that starts at `start` (a file may hold several in a row); `name` is how messages call it. */
export function readPickle(bytes: Uint8Array, start: number, host: PickleHost, name = 'the pickle'): { value: PickleValue; end: number } {
  const machine = new Machine(bytes, start, host, name);
  for (;;) {
    machine.opcode = '';
    machine.opcodeAt = machine.pos;
    const code = machine.byte('an opcode');
    const opcode = OPCODES.get(code);
    if (!opcode) throw new PickleError(`${name} holds the unknown opcode 0x${code.toString(16).padStart(2, '0')} at byte ${machine.opcodeAt}`);
    machine.opcode = opcode[0];
    if (opcode[1](machine) === STOP) return { value: machine.pop(), end: machine.pos };
  }
}

const STOP = Symbol('stop');

class Machine {
  stack: PickleValue[] = [];
  readonly metastack: PickleValue[][] = [];
  readonly memo = new Map<number, PickleValue>();
  opcode = '';
  opcodeAt = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly host: PickleHost,
    readonly name: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  malformed(what: string): never {
    throw new PickleError(`${this.name} is malformed: ${this.opcode} at byte ${this.opcodeAt} ${what}`);
  }

  /** Moves past `count` bytes, which must be there; returns where they start. */
  take(count: number, what: string): number {
    if (count < 0) this.malformed(`gives ${what} the negative length ${count}`);
    if (this.pos + count > this.bytes.length) {
      const missing =
        this.opcode === ''
          ? `it ends at byte ${this.pos}, before STOP`
          : `${this.opcode} at byte ${this.opcodeAt} needs ${what} past its end (byte ${this.bytes.length})`;
      throw new PickleError(`${this.name} is truncated: ${missing}`);
    }
    const at = this.pos;
    this.pos += count;
    return at;
  }

  byte(what = 'a byte'): number {
    return this.bytes[this.take(1, what)]!;
  }
  uint16(): number {
    return this.view.getUint16(this.take(2, '2 bytes'), true);
  }
  int32(): number {
    return this.view.getInt32(this.take(4, '4 bytes'), true);
  }
  uint32(): number {
    return this.view.getUint32(this.take(4, '4 bytes'), true);
  }
  /** BINFLOAT's double, big-endian. */
  float64(): number {
    return this.view.getFloat64(this.take(8, '8 bytes'), false);
  }
  /** A 64-bit length; one past 2^53 cannot fit in the file anyway. */
  uint64(): number {
    const at = this.take(8, '8 bytes');
    return this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 2 ** 32;
  }
  slice(length: number, what: string): Uint8Array {
    const at = this.take(length, what);
    return this.bytes.subarray(at, at + length);
  }
  /** The bytes up to the next newline, which is skipped. */
  line(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.take(this.bytes.length - this.pos + 1, 'a line ending');
    const line = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return line;
  }
  textLine(): string {
    return this.utf8(this.line());
  }
  utf8(raw: Uint8Array): string {
    if (raw.length > MAX_STRING_BYTES) this.malformed(`holds a string of ${raw.length} bytes; at most ${MAX_STRING_BYTES} are read`);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      return this.malformed('holds text that is not valid UTF-8');
    }
  }

  push(value: PickleValue): void {
    this.stack.push(value);
  }
  pop(): PickleValue {
    if (this.stack.length === 0) this.malformed('finds the stack empty');
    return this.stack.pop()!;
  }
  top(): PickleValue {
    if (this.stack.length === 0) this.malformed('finds the stack empty');
    return this.stack[this.stack.length - 1]!;
  }
  setTop(value: PickleValue): void {
    this.top();
    this.stack[this.stack.length - 1] = value;
  }
  mark(): void {
    this.metastack.push(this.stack);
    this.stack = [];
  }
  /** The values pushed since the last MARK, which is removed. */
  popMark(): PickleValue[] {
    const items = this.stack;
    const below = this.metastack.pop();
    if (!below) this.malformed('finds no MARK');
    this.stack = below;
    return items;
  }
  remember(index: number): void {
    this.memo.set(index, this.top());
  }
  recall(index: number): void {
    if (!this.memo.has(index)) this.malformed(`recalls memo entry ${index}, which was never stored`);
    this.push(this.memo.get(index)!);
  }
}

// biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing; STOP is the one value that matters
type Handler = (m: Machine) => void | typeof STOP;

/** An int from its decimal text: a number when it is exactly one, else a bigint. */
function intFromText(m: Machine, text: string): number | bigint {
  if (!/^[+-]?\d+$/.test(text)) m.malformed(`holds ${JSON.stringify(text.slice(0, 40))}, not an integer`);
  if (text.replace(/^[+-]/, '').length > MAX_INT_DIGITS) m.malformed(`holds an integer of more than ${MAX_INT_DIGITS} digits`);
  return narrow(BigInt(text));
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** LONG1 and LONG4: a little-endian two's-complement integer of `length` bytes. */
function longFromBytes(raw: Uint8Array): number | bigint {
  if (raw.length === 0) return 0;
  let hex = '';
  for (let i = raw.length - 1; i >= 0; i--) hex += raw[i]!.toString(16).padStart(2, '0');
  let value = BigInt(`0x${hex}`);
  if (raw[raw.length - 1]! >= 0x80) value -= 1n << BigInt(8 * raw.length);
  return narrow(value);
}

function floatFromText(m: Machine, text: string): number {
  if (/^[+-]?inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(text)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) m.malformed(`holds ${JSON.stringify(text.slice(0, 40))}, not a float`);
  return Number(text);
}

const ESCAPES: ReadonlyMap<string, number> = new Map(
  Object.entries({ '\\': 0x5c, "'": 0x27, '"': 0x22, n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b }),
);

/** STRING: a quoted Python string literal with backslash escapes, decoded to bytes and then as UTF-8. */
function stringLiteral(m: Machine, raw: Uint8Array): string {
  const text = new TextDecoder('latin1').decode(raw);
  const quote = text[0];
  if (text.length < 2 || (quote !== "'" && quote !== '"') || text.at(-1) !== quote) m.malformed('holds a string that is not quoted');
  const body = text.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      out.push(body.charCodeAt(i));
      continue;
    }
    const next = body[++i] ?? '';
    const hex = /^x([0-9a-f]{2})/i.exec(body.slice(i, i + 3));
    const octal = /^[0-7]{1,3}/.exec(body.slice(i, i + 3));
    if (ESCAPES.has(next)) out.push(ESCAPES.get(next)!);
    else if (hex) {
      out.push(parseInt(hex[1]!, 16));
      i += 2;
    } else if (octal) {
      out.push(parseInt(octal[0], 8) & 0xff);
      i += octal[0].length - 1;
    } else if (next !== '\n') m.malformed(`holds the unknown escape \\${next} in a string`);
  }
  return m.utf8(Uint8Array.from(out));
}

/** UNICODE: raw-unicode-escape, Latin-1 text with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicode(m: Machine, raw: Uint8Array): string {
  return new TextDecoder('latin1').decode(raw).replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, short: string | undefined, long: string | undefined) => {
    const code = parseInt(short ?? long!, 16);
    if (code > 0x10ffff) m.malformed(`holds the escape \\U${long}, past the last Unicode character`);
    return String.fromCodePoint(code);
  });
}

function appendTo(m: Machine, items: PickleValue[]): void {
  const list = m.top();
  if (!Array.isArray(list)) m.malformed(`appends to ${describe(list)}, not a list`);
  for (const item of items) list.push(item);
}

function setItems(m: Machine, items: PickleValue[]): void {
  const dict = m.top();
  if (!(dict instanceof PickleDict)) m.malformed(`sets items of ${describe(dict)}, not a dict`);
  if (items.length % 2 !== 0) m.malformed('finds a key without a value');
  for (let i = 0; i < items.length; i += 2) dict.entries.set(items[i]!, items[i + 1]!);
}

function dictOf(m: Machine, items: PickleValue[]): PickleDict {
  const dict = new PickleDict();
  m.push(dict);
  setItems(m, items);
  return m.pop() as PickleDict;
}

function refuse(what: string): never {
  throw new PickleError(`refuses ${what}; ${ONLY_DATA}`);
}

const ops: Record<string, [code: string | number, handler: Handler]> = {
  // Protocol 0: text.
  MARK: ['(', (m) => m.mark()],
  STOP: ['.', () => STOP],
  POP: ['0', (m) => void (m.stack.length > 0 ? m.pop() : m.popMark())],
  POP_MARK: ['1', (m) => void m.popMark()],
  DUP: ['2', (m) => m.push(m.top())],
  FLOAT: ['F', (m) => m.push(floatFromText(m, m.textLine()))],
  // Protocol 0 spells True and False as INT 01 and 00.
  INT: [
    'I',
    (m) => {
      const text = m.textLine();
      m.push(text === '01' ? true : text === '00' ? false : intFromText(m, text));
    },
  ],
  LONG: ['L', (m) => m.push(intFromText(m, m.textLine().replace(/L$/, '')))],
  NONE: ['N', (m) => m.push(null)],
  PERSID: ['P', (m) => m.push(m.host.persistentLoad(m.textLine()))],
  REDUCE: [
    'R',
    (m) => {
      const args = m.pop();
      m.setTop(m.host.reduce(m.top(), args));
    },
  ],
  STRING: ['S', (m) => m.push(stringLiteral(m, m.line()))],
  UNICODE: ['V', (m) => m.push(rawUnicode(m, m.line()))],
  APPEND: ['a', (m) => appendTo(m, [m.pop()])],
  BUILD: [
    'b',
    (m) => {
      const state = m.pop();
      m.host.build(m.top(), state);
    },
  ],
  GLOBAL: [
    'c',
    (m) => {
      const module = m.textLine();
      m.push(m.host.global(module, m.textLine()));
    },
  ],
  DICT: ['d', (m) => m.push(dictOf(m, m.popMark()))],
  GET: ['g', (m) => m.recall(Number(intFromText(m, m.textLine())))],
  INST: ['i', (m) => refuse(`the pickle opcode INST (an instance of ${m.textLine()}.${m.textLine()})`)],
  LIST: ['l', (m) => m.push(m.popMark())],
  PUT: ['p', (m) => m.remember(Number(intFromText(m, m.textLine())))],
  SETITEM: [
    's',
    (m) => {
      const value = m.pop();
      setItems(m, [m.pop(), value]);
    },
  ],
  TUPLE: ['t', (m) => m.push(new PickleTuple(m.popMark()))],
  // Protocol 1: binary.
  BINFLOAT: ['G', (m) => m.push(m.float64())],
  BININT: ['J', (m) => m.push(m.int32())],
  BININT1: ['K', (m) => m.push(m.byte())],
  BININT2: ['M', (m) => m.push(m.uint16())],
  BINPERSID: ['Q', (m) => m.push(m.host.persistentLoad(m.pop()))],
  // Python 2 strings, decoded as UTF-8 as PyTorch asks its unpickler to.
  BINSTRING: ['T', (m) => m.push(m.utf8(m.slice(m.int32(), 'the string')))],
  SHORT_BINSTRING: ['U', (m) => m.push(m.utf8(m.slice(m.byte(), 'the string')))],
  BINUNICODE: ['X', (m) => m.push(m.utf8(m.slice(m.uint32(), 'the string')))],
  APPENDS: ['e', (m) => appendTo(m, m.popMark())],
  BINGET: ['h', (m) => m.recall(m.byte())],
  LONG_BINGET: ['j', (m) => m.recall(m.uint32())],
  EMPTY_DICT: ['}', (m) => m.push(new PickleDict())],
  EMPTY_LIST: [']', (m) => m.push([])],
  OBJ: ['o', (m) => refuse(`the pickle opcode OBJ (an instance of ${describe(m.popMark()[0] ?? null)})`)],
  BINPUT: ['q', (m) => m.remember(m.byte())],
  LONG_BINPUT: ['r', (m) => m.remember(m.uint32())],
  SETITEMS: ['u', (m) => setItems(m, m.popMark())],
  EMPTY_TUPLE: [')', (m) => m.push(new PickleTuple([]))],
  // Protocol 2.
  PROTO: [
    0x80,
    (m) => {
      const protocol = m.byte();
      if (protocol > HIGHEST_PROTOCOL) throw new PickleError(`${m.name} is pickle protocol ${protocol}; protocols 0 to ${HIGHEST_PROTOCOL} are read`);
    },
  ],
  NEWOBJ: [
    0x81,
    (m) => {
      const args = m.pop();
      m.push(m.host.newObject(m.pop(), args));
    },
  ],
  EXT1: [0x82, (m) => refuse(`the pickle opcode EXT1 (code ${m.byte()} of the copyreg extension registry)`)],
  EXT2: [0x83, (m) => refuse(`the pickle opcode EXT2 (code ${m.uint16()} of the copyreg extension registry)`)],
  EXT4: [0x84, (m) => refuse(`the pickle opcode EXT4 (code ${m.int32()} of the copyreg extension registry)`)],
  TUPLE1: [0x85, (m) => m.setTop(new PickleTuple([m.top()]))],
  TUPLE2: [
    0x86,
    (m) => {
      const second = m.pop();
      m.setTop(new PickleTuple([m.top(), second]));
    },
  ],
  TUPLE3: [
    0x87,
    (m) => {
      const third = m.pop();
      const second = m.pop();
      m.setTop(new PickleTuple([m.top(), second, third]));
    },
  ],
  NEWTRUE: [0x88, (m) => m.push(true)],
  NEWFALSE: [0x89, (m) => m.push(false)],
  LONG1: [0x8a, (m) => m.push(longFromBytes(m.slice(m.byte(), 'the integer')))],
  LONG4: [
    0x8b,
    (m) => {
      const length = m.int32();
      if (length > MAX_INT_BYTES) m.malformed(`holds an integer of ${length} bytes; at most ${MAX_INT_BYTES} are read`);
      m.push(longFromBytes(m.slice(length, 'the integer')));
    },
  ],
  // Protocol 3.
  BINBYTES: ['B', (m) => m.push(m.slice(m.uint32(), 'the bytes'))],
  SHORT_BINBYTES: ['C', (m) => m.push(m.slice(m.byte(), 'the bytes'))],
  // Protocol 4.
  SHORT_BINUNICODE: [0x8c, (m) => m.push(m.utf8(m.slice(m.byte(), 'the string')))],
  BINUNICODE8: [0x8d, (m) => m.push(m.utf8(m.slice(m.uint64(), 'the string')))],
  BINBYTES8: [0x8e, (m) => m.push(m.slice(m.uint64(), 'the bytes'))],
  EMPTY_SET: [0x8f, (m) => m.push(new PickleSet(false))],
  ADDITEMS: [
    0x90,
    (m) => {
      const items = m.popMark();
      const set = m.top();
      if (!(set instanceof PickleSet) || set.frozen) return m.malformed(`adds items to ${describe(set)}, not a set`);
      for (const item of items) set.items.push(item);
    },
  ],
  FROZENSET: [
    0x91,
    (m) => {
      const set = new PickleSet(true);
      for (const item of m.popMark()) set.items.push(item);
      m.push(set);
    },
  ],
  NEWOBJ_EX: [0x92, (m) => refuse(`the pickle opcode NEWOBJ_EX (an instance of ${describe(m.stack.at(-3) ?? null)})`)],
  STACK_GLOBAL: [
    0x93,
    (m) => {
      const name = m.pop();
      const module = m.pop();
      if (typeof module !== 'string' || typeof name !== 'string')
        return m.malformed(`names a global with ${describe(module)} and ${describe(name)}, not two strings`);
      m.push(m.host.global(module, name));
    },
  ],
  MEMOIZE: [0x94, (m) => m.remember(m.memo.size)],
  // A frame only tells a reader how much to buffer: its length is checked and its opcodes read as usual.
  FRAME: [
    0x95,
    (m) => {
      const length = m.uint64();
      m.take(length, `a frame of ${length} bytes`);
      m.pos -= length;
    },
  ],
  // Protocol 5.
  BYTEARRAY8: [0x96, (m) => m.push(m.slice(m.uint64(), 'the bytes'))],
  NEXT_BUFFER: [0x97, () => refuse('the pickle opcode NEXT_BUFFER (a buffer passed beside the pickle)')],
  // Marks a buffer read-only: bytes here are never written.
  READONLY_BUFFER: [0x98, (m) => void m.top()],
};

const OPCODES: ReadonlyMap<number, readonly [string, Handler]> = new Map(
  Object.entries(ops).map(([name, [code, handler]]) => [typeof code === 'number' ? code : code.charCodeAt(0), [name, handler] as const]),
);
