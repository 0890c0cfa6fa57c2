// test/hostile-inputs.md lists the bad inputs and faults netspec must survive: every line of its compiler sections (spec
// files, spec content, text that reaches generated code, output files) is mapped here to the tests that cover it. The
// map is checked both ways: each line of those sections must be in it, and each test it names must exist in its file.
// The list lives in the repository so that these tests pass on a clone of it alone.
// The tests at the end cover what no other file did.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { formatDiagnostic } from '../src/errors/diagnostics.js';
import { InternalError } from '../src/errors/internal-error.js';
import { emitTfjs } from '../src/emit/tfjs.js';
import { analyze } from '../src/ir/analyze.js';
import type { Graph, Op } from '../src/ir/graph.js';
import { lower } from '../src/spec/lower.js';
import { normalize } from '../src/spec/normalize.js';
import { read } from '../src/spec/read.js';
import { validate } from '../src/spec/validate.js';
import { baseSpec, withLine } from './support/base-spec.js';

type Covered = readonly [what: string, file: string, title: string][];

const THIS = 'checklist.test.ts';
const checklist: Record<string, Covered> = {
  // Spec files (parsing)
  'Input that is not JSON, JSON cut off part-way, trailing commas, comments, a zero-byte file, a leading UTF-8 BOM, bytes that are not valid UTF-8, and CRLF line ends or tabs (reported positions must stay exact).':
    [
      ['not JSON', 'diagnostics.test.ts', 'not JSON at all'],
      ['truncated', 'diagnostics.test.ts', 'truncated JSON'],
      [
        'truncated at every kind of byte',
        'fuzz.test.ts',
        'mutants of every spec compile, or are refused with positioned errors; never throw, never take over 1 s',
      ],
      ['trailing commas', 'diagnostics.test.ts', 'trailing comma'],
      ['comments', 'diagnostics.test.ts', 'a comment'],
      ['an empty file', 'diagnostics.test.ts', 'an empty file'],
      ['a UTF-8 BOM', 'diagnostics.test.ts', 'a UTF-8 byte-order mark keeps positions'],
      ['invalid UTF-8 bytes', 'diagnostics.test.ts', 'invalid UTF-8 bytes'],
      ['CRLF and tabs', 'diagnostics.test.ts', 'CRLF line endings and tabs keep positions'],
      [
        'any formatting, BOM and CRLF compile alike',
        'property.test.ts',
        'the summary is a fixed point: the spec re-serialised by JSON.stringify compiles to the same summary and code',
      ],
    ],
  'The same key twice in one object: `JSON.parse` quietly keeps the later value, so the compiler reports the duplicate.': [
    ['a duplicate key', 'diagnostics.test.ts', 'a duplicate key'],
    ['with schema errors at once', 'diagnostics.test.ts', 'duplicate keys are reported with schema errors at once'],
  ],
  'Keys named `__proto__`, `constructor` or `prototype` at any nesting depth: no prototype is polluted, and user-keyed data never lives in plain `{}` objects.':
    [
      ['__proto__', 'diagnostics.test.ts', '__proto__ as a key'],
      ['constructor, prototype', 'diagnostics.test.ts', 'constructor and prototype as nested keys'],
      ['no pollution', 'diagnostics.test.ts', '__proto__ in a spec does not pollute Object.prototype'],
      ['at any depth', 'fuzz.test.ts', '__proto__, constructor and prototype keys at every depth of every spec are refused and pollute nothing'],
      ['no plain {} maps', THIS, 'the reader keeps user-keyed objects without a prototype, at every depth'],
    ],
  'Integers past 2^53, `1e400`, `-0`, widths with a fraction, and sizes that are zero or negative.': [
    ['beyond 2^53', 'diagnostics.test.ts', 'an integer beyond 2^53'],
    ['1e400', 'diagnostics.test.ts', '1e400'],
    ['-0', 'diagnostics.test.ts', '-0 as a width'],
    ['fractional widths', 'diagnostics.test.ts', 'a fractional width'],
    ['zero sizes', 'diagnostics.test.ts', 'depth 0'],
    ['negative sizes', THIS, 'negative sizes are refused, naming the value'],
    ['every bound on both sides', 'schema-suite.test.ts', 'every bound, choice, required field and closed object of the schema is tested on both sides'],
  ],
  'Nesting 100,000 levels deep and oversized files: a size and depth limit refuses them before anything walks the tree recursively.': [
    ['100,000 levels', 'diagnostics.test.ts', '100,000 levels of nesting'],
    ['very large files', 'diagnostics.test.ts', 'a file over the size limit'],
  ],
  // Spec content (validation and semantics)
  'Values of the wrong type, required fields left out, fields the schema does not know (name the field and suggest the closest valid one), and block or stem types that do not exist.':
    [
      ['wrong types', 'diagnostics.test.ts', 'a wrong type'],
      ['missing required fields', 'diagnostics.test.ts', 'a missing required field'],
      ['unknown fields, suggested', 'diagnostics.test.ts', 'an unknown field with a suggestion'],
      ['unknown block type', 'diagnostics.test.ts', 'an unknown block type'],
      ['unknown stem type', 'diagnostics.test.ts', 'an unknown stem type'],
      ['every field of the schema', 'schema-suite.test.ts', 'the suite holds at least 80 cases, with descriptions unique within each group'],
    ],
  'Stage lists whose lengths differ, no stages at all, a depth of 0, and a width that the group count does not divide.': [
    ['unequal length', 'diagnostics.test.ts', 'stage lists of unequal length'],
    ['zero stages', 'diagnostics.test.ts', 'zero stages'],
    ['depth 0', 'diagnostics.test.ts', 'depth 0'],
    ['not divisible by groups', 'diagnostics.test.ts', 'groups that do not divide the bottleneck width'],
  ],
  'Strides or pooling that reduce the feature map to nothing (the message names the stage and the sizes).': [
    ['strides', 'diagnostics.test.ts', 'strides that outrun the input'],
    ['pools', THIS, 'a stem max-pool that meets a map smaller than its stride is refused, naming the pool and the sizes'],
  ],
  'Sizes out of all proportion (a width worth a billion parameters, 10,000 blocks): refused by a limit with a plain message instead of running out of memory, and parameter counts computed without losing precision.':
    [
      ['billions of parameters', 'diagnostics.test.ts', 'a model of hundreds of billions of parameters'],
      ['10,000 blocks', 'diagnostics.test.ts', '10,000 blocks'],
      ['a feature map past memory', 'diagnostics.test.ts', 'an input too large to hold in memory'],
      [
        'the largest model the schema allows; precision',
        THIS,
        'the largest model the schema allows is refused within a second, naming counts past 2^53 as approximations',
      ],
    ],
  'A residual add of two different shapes, or two layers with one name: bugs in the compiler itself, which an internal check catches before any code is emitted.':
    [
      ['both', THIS, 'mismatched residual shapes and duplicate layer names are compiler bugs, caught by the analysis before emission'],
      ['no input reaches them', 'fuzz.test.ts', 'mutants of every spec compile, or are refused with positioned errors; never throw, never take over 1 s'],
    ],
  // Text that reaches generated code
  'Names and descriptions holding `*/`, `/*`, `//`, single, double or back quotes, `${`, backslashes, line breaks, U+2028 or U+2029, unpaired surrogates, or emoji.':
    [
      ['type-checks', 'hostile.test.ts', 'every hostile module type-checks under tsc --strict'],
      ['carried unchanged', 'hostile.test.ts', 'each module carries its text unchanged, injects nothing, and builds a working model'],
      ['string literals', 'hostile.test.ts', 'stringLiteral round-trips any text'],
      ['comments', 'hostile.test.ts', 'comments cannot be closed or broken out of'],
      ['names refused', 'diagnostics.test.ts', 'a name that would close a comment'],
      ['generated descriptions', 'property.test.ts', 'the emitted TypeScript type-checks under tsc --strict (40 generated modules, one tsc run)'],
    ],
  'Names that are reserved words (`class`, `default`, `delete`), begin with a digit, are empty, become equal once sanitised (`resnet-34` and `resnet_34`), or shadow an import of the generated file (`tf`).':
    [
      ['identifiers', 'hostile.test.ts', 'identifiers: reserved words, leading digits, empty names and collisions after sanitising'],
      ['as model names', 'hostile.test.ts', 'each module carries its text unchanged, injects nothing, and builds a working model'],
      ['empty', 'diagnostics.test.ts', 'an empty name'],
    ],
  'Each of these specs is either compiled to code that type-checks and works, or refused by validation; none ever injects a statement.': [
    ['hostile texts', 'hostile.test.ts', 'every hostile module type-checks under tsc --strict'],
    ['generated specs type-check', 'property.test.ts', 'the emitted TypeScript type-checks under tsc --strict (40 generated modules, one tsc run)'],
    ['and behave', 'property.test.ts', 'the built tfjs model equals the analysis and runs (wasm backend)'],
    ['or are rejected', 'diagnostics.test.ts', 'a name with a path'],
  ],
  // Output files
  'Writes are atomic (a temporary file in the same folder as the target, then a rename), so killing the compiler mid-run leaves the earlier output whole.': [
    ['a failed write', 'cli.test.ts', 'an atomic write that fails leaves no temporary file and the old target intact'],
    ['a killed compiler', 'cli.test.ts', 'a compiler killed mid-write leaves every output complete, old or new, and only its own temporary files'],
  ],
  'Everything is validated and rendered in memory before the first file is written; a single bad spec in a batch means nothing is written.': [
    ['one bad spec', 'cli.test.ts', 'one bad spec in a batch writes nothing and overwrites nothing'],
    ['the whole table', 'diagnostics.test.ts', 'through the CLI, the whole table is reported at once, exits 1 and writes nothing'],
    ['refused mutants', 'fuzz.test.ts', 'through the CLI, a refused mutant in a batch writes nothing, overwrites nothing, and prints no stack trace'],
  ],
  'Output paths built from spec data cannot leave the output folder (`../../x`, absolute paths, Windows device names such as `CON`, names that differ only in letter case).':
    [
      ['../../x as a name', 'diagnostics.test.ts', 'a name with a path'],
      [
        '"..", absolute paths, CON',
        'cli.test.ts',
        'output paths stay inside the output folder: specs named with "..", reached through "..", absolute, or Windows device names',
      ],
      ['outside the specs folder', 'cli.test.ts', 'a spec outside the specs folder compiles to its base name inside the output folder'],
      ['the file-system root', 'cli.test.ts', 'an output folder at the file-system root is a folder like any other (regression: the containment check threw)'],
      ['case-only collisions', 'cli.test.ts', 'outputs that differ only in letter case are refused'],
    ],
  'A check mode renders in memory and fails when the committed output is out of date.': [
    ['--check', 'cli.test.ts', 'compile mirrors the specs folder, then --check passes until output goes stale or extra'],
    ['generated/ is current', 'golden.test.ts', 'compiling specs/ reproduces generated/ byte for byte, with no extra files'],
  ],
};

const SECTIONS = ['Spec files (parsing)', 'Spec content (validation and semantics)', 'Text that reaches generated code', 'Output files'];

/** The bullet points of the compiler's sections of the list, each joined onto one line. */
function compilerLines(markdown: string): string[] {
  const lines: string[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    else if (!SECTIONS.includes(section)) continue;
    else if (line.startsWith('- ')) lines.push(line.slice(2).trim());
    else if (/^\s+\S/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
  }
  return lines;
}

test('every compiler line of test/hostile-inputs.md is mapped, and nothing else', () => {
  const markdown = readFileSync(join('test', 'hostile-inputs.md'), 'utf8');
  for (const section of SECTIONS) assert.ok(markdown.includes(`## ${section}\n`), section);
  assert.equal(Object.keys(checklist).sort(), compilerLines(markdown).sort());
});

test('every test the map names exists in its file', () => {
  const sources = new Map<string, string>();
  const source = (file: string) => sources.get(file) ?? sources.set(file, readFileSync(join('test', file), 'utf8')).get(file)!;
  for (const [line, covered] of Object.entries(checklist)) {
    assert.ok(covered.length > 0, line);
    for (const [what, file, title] of covered) {
      const text = source(file);
      const quoted = [`'${title.replace(/'/g, "\\'")}'`, `"${title}"`, `\`${title}\``];
      assert.ok(
        quoted.some((q) => text.includes(q)),
        `${what}: no test "${title}" in ${file}`,
      );
    }
  }
});

test('every test the readers section of test/hostile-inputs.md names exists in its file', () => {
  const markdown = readFileSync(join('test', 'hostile-inputs.md'), 'utf8');
  const section = markdown.slice(markdown.indexOf('## Every file, URL and checkpoint'));
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && line.includes(' › '));
  assert.ok(rows.length >= 40, `${rows.length} cases`);
  for (const row of rows) {
    const cell = row.slice(row.lastIndexOf(' | ') + 3).replace(/ \|$/, '');
    const [, file, title] = /^`([\w-]+\.test\.ts)` › (.+)$/.exec(cell) ?? [];
    assert.ok(file && title, `a case without its test: ${row}`);
    const text = readFileSync(join('test', file!), 'utf8');
    const quoted = [`'${title!.replace(/'/g, "\\'")}'`, `"${title}"`, `\`${title}\``];
    assert.ok(
      quoted.some((q) => text.includes(q)),
      `no test "${title}" in ${file}`,
    );
  }
});

// ---- The lines no other test covered --------------------------------------------------------------------------------

const diagnose = (text: string) => compileSpec('specs/x.json', new TextEncoder().encode(text)).diagnostics.map(formatDiagnostic);

test('negative sizes are refused, naming the value', () => {
  assert.equal(diagnose(withLine(6, '  "stages": { "widths": [-16, 32], "depths": [1, -1], "strides": [1, 2] },')), [
    'specs/x.json:6:26: error NS104: stages.widths[0] must be >= 1, got -16',
    'specs/x.json:6:50: error NS104: stages.depths[1] must be >= 1, got -1',
  ]);
});

test('a stem max-pool that meets a map smaller than its stride is refused, naming the pool and the sizes', () => {
  const text = withLine(3, '  "input": { "height": 1, "width": 1, "channels": 3 },')
    .replace('"stride": 1 }', '"stride": 1, "pool": "max" }')
    .replace('"strides": [1, 2]', '"strides": [1, 1]');
  assert.equal(diagnose(text), [
    "specs/x.json:4:80: error NS202: the stem max-pool has stride 2 but receives a 1×1 feature map, which it cannot reduce; the 1×1 input is too small for this model's strides",
  ]);
});

test('the largest model the schema allows is refused within a second, naming counts past 2^53 as approximations', () => {
  // Every field at its schema maximum: 8 stages of 100 bottlenecks, 256 groups of 1024 channels per group at width
  // 8192, on a 4096×4096×64 input. Its 3.5e16 parameters and 5.9e23 MACs are past 2^53, where a double is only an
  // approximation; the limits message used to print them digit for digit (…931,870 for the exact …931,872).
  const text = withLine(3, '  "input": { "height": 4096, "width": 4096, "channels": 64 },')
    .replace('{ "type": "conv", "width": 16, "kernelSize": 3, "stride": 1 }', '{ "type": "conv", "width": 8192, "kernelSize": 7, "stride": 1 }')
    .replace('{ "type": "basic" }', '{ "type": "bottleneck", "groups": 256, "widthPerGroup": 1024, "expansion": 8 }')
    .replace(
      '"widths": [16, 32], "depths": [1, 1], "strides": [1, 2]',
      `"widths": [${Array(8).fill(8192)}], "depths": [${Array(8).fill(100)}], "strides": [${Array(8).fill(1)}]`,
    )
    .replace('"classes": 10', '"classes": 100000');
  const started = performance.now();
  const diagnostics = diagnose(text);
  assert.ok(performance.now() - started < 1000, 'refused within a second');
  assert.equal(diagnostics, [
    'specs/x.json:3:12: error NS301: the model has 562,949,953,421,312 values in its largest feature map (layer1.0.conv1, 4096×4096×33554432), above the limit of 268,435,456',
    'specs/x.json:6:13: error NS301: the model has about 5.90e+23 multiply-accumulates per image, above the limit of 10,000,000,000,000',
    'specs/x.json:6:25: error NS301: the model has about 3.52e+16 trainable parameters, above the limit of 1,000,000,000',
    'specs/x.json:6:78: error NS301: the model has 8,008 layers, above the limit of 5,000',
  ]);
});

test('the reader keeps user-keyed objects without a prototype, at every depth', () => {
  const { document } = read('specs/x.json', new TextEncoder().encode(withLine(2, '  "name": "tiny", "x": { "y": [{ "__proto__": { "z": 1 } }] },')));
  const objects: object[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === 'object' && value !== null) {
      objects.push(value);
      Object.values(value).forEach(visit);
    }
  };
  visit(document!.value);
  assert.ok(objects.length >= 9, `${objects.length} objects`);
  for (const object of objects) assert.is(Object.getPrototypeOf(object), null);
  // `__proto__` stayed an ordinary key holding the user's object.
  const inner = (document!.value as { x: { y: Record<string, unknown>[] } }).x.y[0]!;
  assert.equal(Object.keys(inner), ['__proto__']);
});

test('mismatched residual shapes and duplicate layer names are compiler bugs, caught by the analysis before emission', () => {
  const graph = lower(normalize(validate(read('specs/x.json', new TextEncoder().encode(baseSpec)).document!).valid!));
  assert.ok(emitTfjs(analyze(graph)).length > 0, 'the untouched graph analyses and emits');
  const tampered = (change: (ops: Op[]) => Op[]): Graph => ({ ...graph, ops: change([...graph.ops]) });
  const expectBug = (broken: Graph, message: RegExp) => {
    try {
      analyze(broken);
    } catch (error) {
      assert.instance(error, InternalError);
      assert.match((error as Error).message, message);
      return;
    }
    assert.unreachable(`analyze accepted a graph with ${message}`);
  };
  // Stage 2's first add reads the block's input (16 channels at 32×32) in place of its projection (32 at 16×16).
  expectBug(
    tampered((ops) => ops.map((op) => (op.name === 'layer2.0.add' && op.kind === 'add' ? { ...op, inputs: [op.inputs[0]!, 'layer1.0.relu2'] } : op))),
    /layer2\.0\.add adds 16×16×32 to 32×32×16/,
  );
  expectBug(
    tampered((ops) => ops.map((op) => (op.name === 'layer1.0.bn2' ? { ...op, name: 'layer1.0.bn1' } : op))),
    /duplicate op name layer1\.0\.bn1/,
  );
});

test.run();
