// Schema conformance: test/schema-suite/*.json holds valid and invalid specs in the JSON-Schema-Test-Suite format
// (groups of { description, schema, tests: [{ description, data, valid }] }), always against schema/netspec.schema.json.
// Each case runs through the compiler's own reader and ajv validator; a last test walks the schema and requires every
// bound, choice, required field and closed object to be tested on both sides, so the corpus grows with the schema.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { read } from '../src/spec/read.js';
import { schemaPath, validate } from '../src/spec/validate.js';

interface Case {
  readonly description: string;
  readonly data: unknown;
  readonly valid: boolean;
}
interface Group {
  readonly description: string;
  readonly schema?: unknown;
  readonly tests: readonly Case[];
}

const suite = join('test', 'schema-suite');
const files = readdirSync(suite)
  .filter((file) => file.endsWith('.json'))
  .sort();
const groups = files.map((file) => ({ file, groups: JSON.parse(readFileSync(join(suite, file), 'utf8')) as Group[] }));
const cases = groups.flatMap(({ file, groups }) => groups.flatMap((group) => group.tests.map((c) => ({ file, group: group.description, ...c }))));

/** The compiler's verdict: read the spec's text as a file, then validate it against the schema. */
function verdict(data: unknown): { valid: boolean; codes: string[] } {
  const parsed = read('specs/case.json', new TextEncoder().encode(JSON.stringify(data)));
  assert.ok(parsed.document, 'the reader accepts every case');
  const checked = validate(parsed.document!);
  return { valid: checked.valid !== undefined, codes: checked.diagnostics.map((d) => d.code) };
}

for (const { file, groups: fileGroups } of groups) {
  test(`${file}: every case is valid or invalid as recorded`, () => {
    for (const group of fileGroups) {
      if (group.schema !== undefined) assert.equal(group.schema, { $ref: '../../schema/netspec.schema.json' }, group.description);
      for (const c of group.tests) {
        const { valid, codes } = verdict(c.data);
        assert.is(valid, c.valid, `${group.description}: ${c.description}`);
        // A refusal is reported with a schema code (NS101–NS107); an acceptance reports nothing.
        if (c.valid) assert.equal(codes, [], c.description);
        else assert.ok(codes.length > 0 && codes.every((code) => /^NS10[1-7]$/.test(code)), `${c.description}: ${codes.join(', ')}`);
      }
    }
  });
}

test('the suite holds at least 80 cases, with descriptions unique within each group', () => {
  assert.ok(cases.length >= 80, `${cases.length} cases`);
  for (const { groups: fileGroups } of groups) {
    for (const group of fileGroups) assert.is(new Set(group.tests.map((c) => c.description)).size, group.tests.length, group.description);
  }
});

// ---- Coverage of the schema ----------------------------------------------------------------------------------------

type Path = readonly string[];
/** A constraint of the schema at a path (`*` for every item); inside a oneOf, it holds where `type` picks its branch. */
interface Constraint {
  readonly path: Path;
  readonly branch?: { readonly path: Path; readonly tag: string };
  readonly keyword: string;
  readonly value: unknown;
  readonly integer: boolean;
  readonly name: string;
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean;
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  [keyword: string]: unknown;
}

const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'enum'];

function constraints(node: SchemaNode, path: Path = [], branch?: Constraint['branch']): Constraint[] {
  const found: Constraint[] = [];
  const add = (keyword: string, value: unknown) =>
    found.push({
      path,
      branch,
      keyword,
      value,
      integer: node.type === 'integer',
      name: `${branch ? `(${branch.tag}) ` : ''}${path.join('.') || 'the spec'} ${keyword} ${JSON.stringify(value)}`,
    });
  for (const keyword of BOUNDS) if (node[keyword] !== undefined) add(keyword, node[keyword]);
  // A branch's `type` is its tag; the discriminator's own entries below test it.
  for (const field of node.required ?? []) if (field !== 'type' || !branch) add('required', field);
  if (node.additionalProperties === false) add('additionalProperties', Object.keys(node.properties ?? {}));
  for (const [key, child] of Object.entries(node.properties ?? {})) if (!(branch && key === 'type')) found.push(...constraints(child, [...path, key], branch));
  if (node.items) found.push(...constraints(node.items, [...path, '*'], branch));
  if (node.oneOf) {
    const tags = node.oneOf.map((choice) => String(choice.properties?.type?.const));
    found.push({ path: [...path, 'type'], keyword: 'enum', value: tags, integer: false, name: `${path.join('.')}.type one of ${tags.join(', ')}` });
    found.push({ path, keyword: 'required', value: 'type', integer: false, name: `${path.join('.')} requires type` });
    for (const [i, choice] of node.oneOf.entries()) found.push(...constraints(choice, path, { path, tag: tags[i]! }));
  }
  return found;
}

/** The values at a path in a spec ('*' takes every item); none when the case does not take the constraint's oneOf branch. */
function valuesAt(data: unknown, c: Constraint): unknown[] {
  const step = (values: unknown[], key: string): unknown[] =>
    values.flatMap((value) => {
      if (key === '*') return Array.isArray(value) ? value : [];
      return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key) ? [(value as Record<string, unknown>)[key]] : [];
    });
  const at = (path: Path) => path.reduce(step, [data]);
  if (c.branch && !at(c.branch.path).some((o) => typeof o === 'object' && o !== null && (o as { type?: unknown }).type === c.branch!.tag)) return [];
  return at(c.path);
}

/** What a case must hold for each side of a constraint to count as tested. */
function sides(c: Constraint): { valid: (v: unknown) => boolean; invalid: (v: unknown) => boolean } {
  const n = c.value as number;
  const length = (v: unknown) => (typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : NaN);
  switch (c.keyword) {
    case 'minimum':
      return { valid: (v) => v === n, invalid: (v) => typeof v === 'number' && (c.integer ? v === n - 1 : v < n) };
    case 'maximum':
      return { valid: (v) => v === n, invalid: (v) => typeof v === 'number' && (c.integer ? v === n + 1 : v > n) };
    case 'exclusiveMinimum':
      return { valid: (v) => typeof v === 'number' && v > n, invalid: (v) => v === n };
    case 'exclusiveMaximum':
      return { valid: (v) => typeof v === 'number' && v < n, invalid: (v) => v === n };
    case 'minLength':
    case 'minItems':
      return { valid: (v) => length(v) === n, invalid: (v) => length(v) === n - 1 };
    case 'maxLength':
    case 'maxItems':
      return { valid: (v) => length(v) === n, invalid: (v) => length(v) === n + 1 };
    case 'uniqueItems':
      return { valid: (v) => Array.isArray(v) && v.length > 1 && new Set(v).size === v.length, invalid: (v) => Array.isArray(v) && new Set(v).size < v.length };
    case 'enum': {
      const members = c.value as unknown[];
      return { valid: (v) => members.includes(v), invalid: (v) => v !== undefined && !members.includes(v) };
    }
    default:
      throw new Error(`no sides for ${c.keyword}`);
  }
}

test('every bound, choice, required field and closed object of the schema is tested on both sides', () => {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as SchemaNode;
  const all = constraints(schema);
  const missing: string[] = [];
  const objectsAt = (data: unknown, c: Constraint) =>
    valuesAt(data, c).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
  for (const c of all) {
    if (c.keyword === 'required') {
      // Invalid side: the object is there but lacks the field; the valid side is every valid case.
      if (!cases.some((k) => !k.valid && objectsAt(k.data, c).some((o) => !Object.hasOwn(o, c.value as string))))
        missing.push(`${c.name}: no case leaves it out`);
    } else if (c.keyword === 'additionalProperties') {
      const known = c.value as string[];
      if (!cases.some((k) => !k.valid && objectsAt(k.data, c).some((o) => Object.keys(o).some((key) => !known.includes(key)))))
        missing.push(`${c.name}: no case adds an unknown field`);
    } else {
      const side = sides(c);
      // Enum members each need a valid case of their own.
      const validOnes = c.keyword === 'enum' ? (c.value as unknown[]).map((member) => (v: unknown) => v === member) : [side.valid];
      validOnes.forEach((holds, i) => {
        if (!cases.some((k) => k.valid && valuesAt(k.data, c).some(holds)))
          missing.push(`${c.name}: no valid case${c.keyword === 'enum' ? ` with ${JSON.stringify((c.value as unknown[])[i])}` : ''}`);
      });
      if (!cases.some((k) => !k.valid && valuesAt(k.data, c).some(side.invalid))) missing.push(`${c.name}: no invalid case`);
    }
  }
  assert.ok(all.length > 60, `${all.length} constraints found`);
  assert.equal(missing, []);
});

test.run();
