// Mutants of spec files for fuzzing the compiler, shared by test/fuzz.test.ts and scripts/fuzz.ts. A mutant is a
// pure function of (seed, index, sources), so any case of a campaign can be rebuilt from the numbers it prints.
import { compileSpec, type CompileResult } from '../../src/compile.js';
import { diagnosticCodes } from '../../src/errors/diagnostics.js';
import { MAX_SPEC_BYTES, MAX_SPEC_DEPTH } from '../../src/spec/read.js';

export interface SourceSpec {
  readonly path: string;
  readonly text: string;
}

export interface Mutant {
  readonly index: number;
  /** The spec it was made from; also the path it is compiled as. */
  readonly path: string;
  /** The operators applied, in order. */
  readonly operators: readonly string[];
  readonly bytes: Uint8Array;
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(list: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: a small, fast, seeded generator; plenty for choosing mutations reproducibly. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)]!, chance: (p) => next() < p };
}

// A JSON tree that can hold what JSON.parse cannot: duplicate keys and raw (even invalid) token text.
type Node = { kind: 'object'; entries: [string, Node][] } | { kind: 'array'; items: Node[] } | { kind: 'raw'; text: string };

function toNode(value: unknown): Node {
  if (Array.isArray(value)) return { kind: 'array', items: value.map(toNode) };
  if (typeof value === 'object' && value !== null) return { kind: 'object', entries: Object.entries(value).map(([k, v]) => [k, toNode(v)]) };
  return { kind: 'raw', text: JSON.stringify(value) };
}

const clone = (node: Node): Node => structuredClone(node);
const raw = (text: string): Node => ({ kind: 'raw', text });
const isNumber = (node: Node) => node.kind === 'raw' && /^-?\d/.test(node.text);
const isString = (node: Node) => node.kind === 'raw' && node.text.startsWith('"');

interface Style {
  readonly indent: string;
  readonly newline: string;
}

function render(node: Node, style: Style, depth = 0): string {
  if (node.kind === 'raw') return node.text;
  const inner = style.indent === '' ? '' : style.newline + style.indent.repeat(depth + 1);
  const outer = style.indent === '' ? '' : style.newline + style.indent.repeat(depth);
  const parts =
    node.kind === 'array'
      ? node.items.map((item) => render(item, style, depth + 1))
      : node.entries.map(([key, value]) => `${JSON.stringify(key)}: ${render(value, style, depth + 1)}`);
  const [open, close] = node.kind === 'array' ? ['[', ']'] : ['{', '}'];
  return parts.length === 0 ? open + close : `${open}${inner}${parts.join(`,${inner}`)}${outer}${close}`;
}

/** A place in the tree: the value there, and how to replace it. */
interface Slot {
  readonly node: Node;
  replace(node: Node): void;
}

function slots(holder: { root: Node }): Slot[] {
  const found: Slot[] = [];
  const visit = (node: Node, replace: (n: Node) => void) => {
    found.push({ node, replace });
    if (node.kind === 'object') node.entries.forEach((entry) => visit(entry[1], (n) => (entry[1] = n)));
    if (node.kind === 'array') node.items.forEach((item, i) => visit(item, (n) => (node.items[i] = n)));
  };
  visit(holder.root, (n) => (holder.root = n));
  return found;
}

/** Numbers at and past every kind of edge: zero, signs, overflow, beyond 2^53, fractions, and JSON that is not JSON. */
export const EXTREME_NUMBERS = [
  '0',
  '-1',
  '-0',
  '1e308',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '9007199254740992',
  '12345678901234567890',
  '1.5',
  '0.5',
  '2.0',
  '1E2',
  '1e-5',
  '0.1',
  '4097',
  '8193',
  '100001',
  '257',
  '1025',
  '101',
  '9',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '01',
  '+1',
  '.5',
  '5.',
  '1e',
  '--1',
];

/** Text that must never reach generated code unescaped (test/hostile-inputs.md, "Text that reaches generated code"). */
export const HOSTILE_STRINGS = [
  '*/',
  '/*',
  '//',
  '${',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template syntax in plain text is the attack being tested
  '${process.exit(1)}',
  '"',
  "'",
  '`',
  '\\',
  'a\\u0041',
  '\n',
  '\r\n',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udfff',
  'x\ud83d',
  '🧠',
  '🏳️‍🌈',
  '\u0000',
  '\u001b[31m',
  '*/ export const pwned = 1; /*',
  '</script>',
  '',
  ' ',
  'class',
  'tf',
  'constructor',
  '__proto__',
  'x'.repeat(65),
  'y'.repeat(2001),
];

/** Keys that pollute a prototype if assigned into a plain object, or break a JSON pointer, a comment or a template. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: template syntax in plain text is the attack being tested
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '', '*/', '${a}', '\ud800', 'a\u2028b'];

/** Every key and word of the spec language, so that mutants also recombine valid parts. */
const KEYS = [
  '$schema',
  'name',
  'description',
  'input',
  'height',
  'width',
  'channels',
  'stem',
  'type',
  'kernelSize',
  'stride',
  'pool',
  'midWidth',
  'block',
  'expansion',
  'groups',
  'widthPerGroup',
  'strideOn',
  'preActivation',
  'zeroInitResidual',
  'shortcut',
  'stages',
  'widths',
  'depths',
  'strides',
  'dilate',
  'head',
  'classes',
  'dropout',
  'outputs',
  'batchNorm',
  'epsilon',
  'momentum',
];
const WORDS = ['conv', 'deep', 'none', 'max', 'basic', 'bottleneck', '3x3', '1x1', 'avgPool', 'classifier', 'pool', 'C2', 'C3', 'C4', 'C5', 'C6', 'C9', 'C1'];

/** Hostile strings as JSON text: escaped as JSON.stringify writes them (lone surrogates as \ud800), or raw. */
function hostileText(r: Random): string {
  const text = r.pick(HOSTILE_STRINGS);
  return r.chance(0.8) ? JSON.stringify(text) : `"${text}"`;
}

function randomValue(r: Random, from?: Node): Node {
  const choices: (() => Node)[] = [
    () => raw(String(r.int(20))),
    () => raw(r.pick(EXTREME_NUMBERS)),
    () => raw(JSON.stringify(r.pick(WORDS))),
    () => raw(hostileText(r)),
    () => raw(r.pick(['true', 'false', 'null'])),
    () => ({ kind: 'array', items: from ? [clone(from)] : [] }),
    () => ({ kind: 'array', items: Array.from({ length: r.int(10) }, () => raw(String(1 + r.int(4)))) }),
    () => ({ kind: 'object', entries: [] }),
    () => ({ kind: 'object', entries: [['type', raw(JSON.stringify(r.pick(WORDS)))]] }),
  ];
  return r.pick(choices)();
}

/** Values the schema accepts for a key, at its edges, so that mutants get past validation into rules, lowering and limits. */
function plausibleValue(key: string, r: Random): Node {
  const booleans = () => ({ kind: 'array' as const, items: Array.from({ length: 1 + r.int(8) }, () => raw(String(r.chance(0.5)))) });
  const integers = (values: readonly number[]) => ({ kind: 'array' as const, items: Array.from({ length: 1 + r.int(8) }, () => raw(String(r.pick(values)))) });
  const table: Record<string, () => Node> = {
    height: () => raw(String(r.pick([1, 2, 3, 7, 64, 4096]))),
    width: () => raw(String(r.pick([1, 2, 3, 17, 64, 4096, 8192]))),
    channels: () => raw(String(r.pick([1, 64]))),
    kernelSize: () => raw(String(r.pick([1, 3, 5, 7]))),
    stride: () => raw(String(r.pick([1, 2, 3, 4]))),
    midWidth: () => raw(String(r.pick([1, 3, 8192]))),
    expansion: () => raw(String(r.pick([1, 8]))),
    groups: () => raw(String(r.pick([1, 2, 3, 32, 256]))),
    widthPerGroup: () => raw(String(r.pick([1, 4, 6, 128, 1024]))),
    classes: () => raw(String(r.pick([1, 100000]))),
    dropout: () => raw(String(r.pick([0, 0.5, 0.999999]))),
    epsilon: () => raw(String(r.pick([1e-300, 0.1]))),
    momentum: () => raw(String(r.pick([1e-9, 0.999999]))),
    widths: () => integers([1, 3, 64, 8192]),
    depths: () => integers([1, 2, 100]),
    strides: () => integers([1, 2, 3, 4]),
    dilate: booleans,
    outputs: () => ({ kind: 'array', items: ['C2', 'C3', 'C4', 'C5', 'C9'].filter(() => r.chance(0.5)).map((c) => raw(JSON.stringify(c))) }),
    pool: () => raw(JSON.stringify(r.pick(['none', 'max']))),
    strideOn: () => raw(JSON.stringify(r.pick(['1x1', '3x3']))),
    shortcut: () => raw(JSON.stringify(r.pick(['conv', 'avgPool']))),
    preActivation: () => raw(String(r.chance(0.5))),
    zeroInitResidual: () => raw(String(r.chance(0.5))),
    head: () => r.pick<Node>([toNode({ type: 'none' }), toNode({ type: 'pool' }), toNode({ type: 'classifier', classes: 1 + r.int(5), dropout: 0.5 })]),
  };
  return Object.hasOwn(table, key) ? table[key]!() : randomValue(r);
}

function typo(key: string, r: Random): string {
  if (key === '') return 'x';
  const i = r.int(key.length);
  switch (r.int(4)) {
    case 0:
      return key.slice(0, i) + key.slice(i + 1);
    case 1: {
      const c = key[i]!;
      return key.slice(0, i) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + key.slice(i + 1);
    }
    case 2:
      return key.slice(0, i) + key[i] + key.slice(i);
    default:
      return key + 's';
  }
}

type TreeOperator = (holder: { root: Node }, r: Random) => void;

const objects = (holder: { root: Node }) => slots(holder).flatMap(({ node }) => (node.kind === 'object' ? [node] : []));
const entriesOf = (holder: { root: Node }) => objects(holder).flatMap((o) => o.entries.map((entry, i) => ({ object: o, entry, i })));
/** A slot, preferring ones that pass `prefer` when there are any. */
function pickSlot(holder: { root: Node }, r: Random, prefer?: (node: Node) => boolean): Slot {
  const all = slots(holder);
  const preferred = prefer ? all.filter((s) => prefer(s.node)) : [];
  return r.pick(preferred.length > 0 && r.chance(0.85) ? preferred : all);
}

const treeOperators: Record<string, TreeOperator> = {
  deleteKey: (holder, r) => {
    const all = entriesOf(holder);
    if (all.length === 0) return;
    const { object, i } = r.pick(all);
    object.entries.splice(i, 1);
  },
  duplicateKey: (holder, r) => {
    const all = entriesOf(holder);
    if (all.length === 0) return;
    const { object, entry } = r.pick(all);
    const copy: [string, Node] = [entry[0], r.chance(0.5) ? clone(entry[1]) : randomValue(r, entry[1])];
    object.entries.splice(r.int(object.entries.length + 1), 0, copy);
  },
  renameKey: (holder, r) => {
    const all = entriesOf(holder);
    if (all.length === 0) return;
    const { entry } = r.pick(all);
    entry[0] = r.chance(0.5) ? typo(entry[0], r) : r.chance(0.5) ? r.pick(KEYS) : r.pick(HOSTILE_KEYS);
  },
  addKey: (holder, r) => {
    const all = objects(holder);
    if (all.length === 0) return;
    const object = r.pick(all);
    const key = r.chance(0.7) ? r.pick(KEYS) : r.pick(HOSTILE_KEYS);
    object.entries.splice(r.int(object.entries.length + 1), 0, [key, randomValue(r)]);
  },
  retype: (holder, r) => {
    const slot = pickSlot(holder, r);
    const current = slot.node.kind === 'raw' ? (isNumber(slot.node) ? 'number' : isString(slot.node) ? 'string' : slot.node.text) : slot.node.kind;
    const forms: Record<string, () => Node> = {
      number: () => raw(String(r.int(64))),
      string: () => raw(slot.node.kind === 'raw' ? JSON.stringify(slot.node.text) : '"x"'),
      array: () => ({ kind: 'array', items: [clone(slot.node)] }),
      object: () => ({ kind: 'object', entries: r.chance(0.5) ? [] : [['value', clone(slot.node)]] }),
      null: () => raw('null'),
      true: () => raw('true'),
      false: () => raw('false'),
    };
    const other = Object.keys(forms).filter((kind) => kind !== current);
    slot.replace(forms[r.pick(other)]!());
  },
  /** A known key set to a value the schema accepts at its edges, where it belongs or anywhere. */
  plausibleValue: (holder, r) => {
    const all = entriesOf(holder);
    if (all.length === 0) return;
    if (r.chance(0.7)) {
      const { entry } = r.pick(all);
      entry[1] = plausibleValue(entry[0], r);
    } else {
      const { object } = r.pick(all);
      const key = r.pick(KEYS);
      const at = object.entries.findIndex(([k]) => k === key);
      if (at >= 0) object.entries[at]![1] = plausibleValue(key, r);
      else object.entries.push([key, plausibleValue(key, r)]);
    }
  },
  extremeNumber: (holder, r) => pickSlot(holder, r, isNumber).replace(raw(r.pick(EXTREME_NUMBERS))),
  nudgeNumber: (holder, r) => {
    const slot = pickSlot(holder, r, isNumber);
    if (!isNumber(slot.node)) return;
    const n = Number((slot.node as { text: string }).text);
    const nudged = r.pick([n + 1, n - 1, n * 2, Math.floor(n / 2), n * 64, n * 1000, -n, n + 0.5, 1, 2, 3, 4]);
    slot.replace(raw(String(nudged)));
  },
  swapWord: (holder, r) => pickSlot(holder, r, isString).replace(raw(JSON.stringify(r.pick(WORDS)))),
  hostileString: (holder, r) => pickSlot(holder, r, isString).replace(raw(hostileText(r))),
  hostileKey: (holder, r) => {
    const all = objects(holder);
    if (all.length === 0) return;
    const object = r.pick(all);
    object.entries.splice(r.int(object.entries.length + 1), 0, [r.pick(HOSTILE_KEYS), randomValue(r)]);
  },
  editList: (holder, r) => {
    const slot = pickSlot(holder, r, (node) => node.kind === 'array');
    if (slot.node.kind !== 'array') return;
    const items = slot.node.items;
    const i = r.int(Math.max(1, items.length));
    switch (r.int(5)) {
      case 0:
        items.splice(i, 1);
        break;
      case 1:
        if (items.length > 0) items.splice(i, 0, clone(items[i]!));
        break;
      case 2:
        items.push(randomValue(r));
        break;
      case 3:
        items.length = 0;
        break;
      default:
        while (items.length < 9) items.push(items.length > 0 ? clone(items[items.length - 1]!) : raw('1'));
    }
  },
  nest: (holder, r) => {
    const slot = pickSlot(holder, r);
    const depth = r.pick([1, 2, MAX_SPEC_DEPTH - 4, MAX_SPEC_DEPTH - 2, MAX_SPEC_DEPTH, MAX_SPEC_DEPTH + 1, 1000, 100_000]);
    const text = render(slot.node, { indent: '', newline: '' });
    slot.replace(r.chance(0.5) ? raw('['.repeat(depth) + text + ']'.repeat(depth)) : raw('{"a":'.repeat(depth) + text + '}'.repeat(depth)));
  },
};

type ByteOperator = (bytes: Uint8Array, r: Random) => Uint8Array;

const encoder = new TextEncoder();
const JUNK = [',', '}', ']', '{', '[', ':', '"', '\\', '// c\n', '/* c */', '/*', '\uFEFF', 'NaN', '\u0000', '\u2028', "'", '\t', '\r', ' ', 'true', '1e400'];

const byteOperators: Record<string, ByteOperator> = {
  truncate: (bytes, r) => bytes.slice(0, r.int(bytes.length + 1)),
  flipBytes: (bytes, r) => {
    const out = bytes.slice();
    for (let n = 1 + r.int(4); n > 0 && out.length > 0; n--) {
      const i = r.int(out.length);
      out[i] = r.chance(0.5) ? r.int(256) : out[i]! ^ (1 << r.int(8));
    }
    return out;
  },
  splice: (bytes, r) => {
    const at = r.int(bytes.length + 1);
    return new Uint8Array([...bytes.subarray(0, at), ...encoder.encode(r.pick(JUNK)), ...bytes.subarray(at)]);
  },
  /** Whitespace up to the size limit exactly, or one byte past it. */
  padToLimit: (bytes, r) => {
    const size = MAX_SPEC_BYTES + r.int(2);
    if (bytes.length >= size) return bytes;
    const out = new Uint8Array(size).fill(0x20);
    out.set(bytes);
    return out;
  },
};

export const OPERATORS = [...Object.keys(treeOperators), ...Object.keys(byteOperators)];
const TREE_WEIGHTED = [...Object.keys(treeOperators), 'plausibleValue', 'plausibleValue'];
const BYTE_WEIGHTED = ['truncate', 'truncate', 'flipBytes', 'flipBytes', 'splice', 'splice', 'splice', 'padToLimit'];

/** The per-case generator: distinct, well-mixed streams for neighbouring indices of one seed. */
function caseRandom(seed: number, index: number): Random {
  const mixed = seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0);
  mixed.next();
  return mixed;
}

/** Mutant number `index` of a campaign: one to three operators on one of the sources, chosen by (seed, index). */
export function mutant(sources: readonly SourceSpec[], seed: number, index: number): Mutant {
  const r = caseRandom(seed, index);
  const source = r.pick(sources);
  const holder = { root: toNode(JSON.parse(source.text)) };
  const count = 1 + (r.chance(0.4) ? 1 : 0) + (r.chance(0.15) ? 1 : 0);
  const operators: string[] = [];
  const bytesLater: string[] = [];
  for (let n = 0; n < count; n++) {
    if (r.chance(0.22)) bytesLater.push(r.pick(BYTE_WEIGHTED));
    else {
      const name = r.pick(TREE_WEIGHTED);
      treeOperators[name]!(holder, r);
      operators.push(name);
    }
  }
  const style = { indent: r.pick(['', '  ', '\t', '    ']), newline: r.chance(0.2) ? '\r\n' : '\n' };
  let bytes: Uint8Array = encoder.encode((r.chance(0.05) ? '\uFEFF' : '') + render(holder.root, style) + style.newline);
  for (const name of bytesLater) {
    bytes = byteOperators[name]!(bytes, r);
    operators.push(name);
  }
  return { index, path: source.path, operators, bytes };
}

export interface Outcome {
  readonly result?: CompileResult;
  /** Broken promises of the compiler: empty when the mutant was handled as it must be. */
  readonly problems: readonly string[];
  readonly elapsedMs: number;
  /** What compileSpec threw, if it threw. */
  readonly crash?: unknown;
}

/** A mutant may take at most this long to compile or be refused. */
export const TIME_LIMIT_MS = 1000;

/**
 * Compiles a mutant and checks the compiler's promises: it never throws; it succeeds with code, or returns at least
 * one error, each positioned inside the text (line ≥ 1, column ≥ 1, line ≤ lines + 1) with a known code and a
 * message; and it answers within TIME_LIMIT_MS.
 */
export function compileMutant(m: Mutant): Outcome {
  const started = performance.now();
  let result: CompileResult;
  try {
    result = compileSpec(m.path, m.bytes);
  } catch (crash) {
    return { crash, problems: [`compileSpec threw: ${(crash as Error).stack ?? String(crash)}`], elapsedMs: performance.now() - started };
  }
  const elapsedMs = performance.now() - started;
  const problems: string[] = [];
  const text = new TextDecoder().decode(m.bytes).replace(/^\uFEFF/, '');
  const lines = text.split(/\r\n|\r|\n/);
  const longest = Math.max(...lines.map((line) => line.length));
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (result.ok) {
    if (typeof result.code !== 'string' || result.code.length === 0) problems.push('ok without code');
    if (errors.length > 0) problems.push('ok with errors');
  } else if (errors.length === 0) problems.push('failed without an error diagnostic');
  for (const d of result.diagnostics) {
    const where = `${d.code} at ${d.line}:${d.column} (${d.message})`;
    if (d.file !== m.path) problems.push(`${where}: file ${d.file}`);
    if (!(d.code in diagnosticCodes)) problems.push(`${where}: unknown code`);
    if (!Number.isInteger(d.line) || !Number.isInteger(d.column) || d.line < 1 || d.column < 1) problems.push(`${where}: position below 1:1`);
    if (d.line > lines.length + 1) problems.push(`${where}: line past the ${lines.length} lines of the text`);
    if (d.column > longest + 1) problems.push(`${where}: column past the longest line (${longest})`);
    if (d.message.trim() === '' || /\bundefined\b|\[object /.test(d.message)) problems.push(`${where}: message does not name the value`);
  }
  if (elapsedMs > TIME_LIMIT_MS) problems.push(`took ${elapsedMs.toFixed(0)} ms`);
  return { result, problems, elapsedMs };
}

/** A mutant's text for a report: decoded leniently, with its bytes in base64 to rebuild it exactly. */
export function describeMutant(m: Mutant, seed: number): string {
  const text = new TextDecoder().decode(m.bytes);
  const shown = text.length > 2000 ? `${text.slice(0, 2000)}… (${m.bytes.length} bytes)` : text;
  return [
    `mutant ${m.index} of seed ${seed}: ${m.operators.join(' + ')} on ${m.path}`,
    `text: ${JSON.stringify(shown)}`,
    ...(m.bytes.length <= 4096 ? [`base64: ${Buffer.from(m.bytes).toString('base64')}`] : []),
  ].join('\n');
}
