// Properties of the whole compiler over generated specs. The generator spans the spec language (both stems, both
// blocks with every option, dilation, heads, outputs, BatchNorm settings, hostile descriptions), builds only what the
// semantic rules NS201–NS207 accept, and keeps widths ≤ 16 and inputs small so that models build in milliseconds.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { summarize } from '../src/emit/summary.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { assertForwardPass, assertModelMatchesAnalysis, type GeneratedModule } from './support/agreement.js';
import { seededRandom } from './support/mutate.js';
import { typeCheck } from './support/typecheck.js';

const SEED = 20261128;
const encode = (text: string) => new TextEncoder().encode(text);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Spec = { [key: string]: Json };

/** Keeps only the fields whose value is defined, so optional fields are absent rather than undefined. */
const present = (fields: Record<string, Json | undefined>): Spec =>
  Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, Json] => entry[1] !== undefined));
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

// Description text: any code point, and the pieces the checklist names (comment ends, `${`, quotes, backslashes,
// line breaks of every kind, U+2028/U+2029, lone surrogates, emoji).
const hostilePieces = ['*/', '/*', '//', '${', '"', "'", '`', '\\', '\n', '\r\n', '\r', '\u2028', '\u2029', '\ud800', '\udfff', '🧠', '\u0000', '</script>'];
const descriptionUnit = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom(...hostilePieces));
const description = fc.string({ unit: descriptionUnit, maxLength: 30 });
const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][-A-Za-z0-9._]{0,15}$/), fc.constantFrom('class', 'default', 'tf', 'layers', '0', 'x'.repeat(64)));

const stride = fc.constantFrom(1, 1, 1, 2, 2, 2, 3, 4);
const stem = fc.oneof(
  fc.record({
    type: fc.constant('conv'),
    width: fc.integer({ min: 1, max: 16 }),
    kernelSize: fc.constantFrom(1, 3, 5, 7),
    stride,
    pool: optional(fc.constantFrom('none', 'max')),
  }),
  fc.record({
    type: fc.constant('deep'),
    width: fc.integer({ min: 1, max: 16 }),
    midWidth: optional(fc.integer({ min: 1, max: 16 })),
    stride,
    pool: optional(fc.constantFrom('none', 'max')),
  }),
);

const common = {
  preActivation: optional(fc.boolean()),
  zeroInitResidual: optional(fc.boolean()),
  shortcut: optional(fc.constantFrom('conv', 'avgPool')),
};

/** A block and stage widths it can divide (NS203): ⌊width × widthPerGroup / 64⌋ must be a whole, positive number. */
const blockAndWidths = (stages: number) =>
  fc.oneof(
    fc.record({
      block: fc.record({ type: fc.constant('basic'), ...common }),
      widths: fc.array(fc.integer({ min: 1, max: 16 }), { minLength: stages, maxLength: stages }),
    }),
    fc.constantFrom(4, 8, 16, 24, 32, 48, 64, 96, 128).chain((widthPerGroup) => {
      // Widths must be multiples of 64 / gcd(64, widthPerGroup) for every stage to get whole channels per group.
      const unit = 64 / gcdWith64(widthPerGroup);
      return fc.record({
        block: fc.record({
          type: fc.constant('bottleneck'),
          expansion: optional(fc.constantFrom(1, 2, 4, 8)),
          groups: optional(fc.integer({ min: 1, max: 4 })),
          widthPerGroup: widthPerGroup === 64 ? optional(fc.constant(64)) : fc.constant(widthPerGroup),
          strideOn: optional(fc.constantFrom('3x3', '1x1')),
          ...common,
        }),
        widths: fc.array(
          fc.integer({ min: 1, max: Math.floor(16 / unit) }).map((m) => m * unit),
          { minLength: stages, maxLength: stages },
        ),
      });
    }),
  );

function gcdWith64(n: number): number {
  let [a, b] = [64, n];
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

// BatchNorm absent or at PyTorch's values in any spelling, or at any values the schema allows.
const batchNormDefaults = fc.constantFrom<Spec | undefined>(undefined, {}, { epsilon: 1e-5 }, { momentum: 0.1 }, { epsilon: 1e-5, momentum: 0.1 });
const batchNormAny = fc.record(
  {
    epsilon: fc.double({ min: 0, max: 0.1, minExcluded: true, noNaN: true }),
    momentum: fc.double({ min: 0, max: 1, minExcluded: true, maxExcluded: true, noNaN: true }),
  },
  { requiredKeys: [] },
);

/**
 * The smallest square input every stride can act on (NS202). Every window the compiler uses is odd and padded by half
 * its size, so a stride s takes n to ⌈n / s⌉, and may only meet n ≥ s.
 */
function smallestInput(strides: readonly number[]): number | undefined {
  for (let n = 1; n <= 24; n++) {
    let size = n;
    const fits = strides.every((s) => {
      if (s > 1 && size < s) return false;
      size = Math.ceil(size / s);
      return true;
    });
    if (fits) return n;
  }
  return undefined;
}

/** Valid specs across the whole spec language. */
function validSpec(): fc.Arbitrary<Spec> {
  return fc
    .integer({ min: 1, max: 4 })
    .chain((stages) =>
      fc.record({
        schema: optional(fc.constant('../schema/netspec.schema.json')),
        name,
        description: optional(description),
        channels: fc.integer({ min: 1, max: 4 }),
        extra: fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })),
        stem,
        blockAndWidths: blockAndWidths(stages),
        depths: fc.array(fc.constantFrom(1, 1, 2, 3), { minLength: stages, maxLength: stages }),
        strides: fc.array(stride, { minLength: stages, maxLength: stages }),
        // How many stages stay undilated, and whether the dilate list is written at all.
        undilated: fc.integer({ min: 0, max: stages }),
        writeDilate: fc.boolean(),
        head: fc.oneof(
          fc.record({
            type: fc.constant('classifier'),
            classes: fc.integer({ min: 1, max: 10 }),
            dropout: optional(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
          }),
          fc.constant({ type: 'pool' }),
          fc.constant({ type: 'none' }),
        ),
        outputs: optional(fc.shuffledSubarray(['C2', 'C3', 'C4', 'C5'].slice(0, stages), { minLength: 1 })),
        batchNorm: fc.oneof(batchNormDefaults, batchNormAny),
      }),
    )
    .map((g) => {
      const { block, widths } = g.blockAndWidths;
      const stem = { ...g.stem };
      const stages = widths.length;
      // Only bottleneck stages dilate (NS204), and only the last ones (NS205); basic blocks may still say false.
      const dilate = Array.from({ length: stages }, (_, i) => block.type === 'bottleneck' && i >= g.undilated);
      // The avgPool shortcut carries strides 1 and 2 only (NS207); dilated stages do not stride.
      const strides = g.strides.map((s, i) => (block.shortcut === 'avgPool' && !dilate[i] ? Math.min(s, 2) : s));
      // Shrink strides, last stage first, until a small input carries them all (NS202).
      const stemStrides = () => [stem.stride, ...(stem.pool === 'max' ? [2] : [])];
      const effective = () => [...stemStrides(), ...strides.map((s, i) => (dilate[i] ? 1 : s))];
      for (let i = stages - 1; smallestInput(effective()) === undefined; i--) {
        if (i >= 0) strides[i] = 1;
        else stem.stride = 1;
      }
      const side = smallestInput(effective())!;
      return present({
        $schema: g.schema,
        name: g.name,
        description: g.description,
        input: { height: side + g.extra[0], width: side + g.extra[1], channels: g.channels },
        stem: present(stem),
        block: present(block),
        stages: present({ widths, depths: g.depths, strides, dilate: g.writeDilate || dilate.some(Boolean) ? dilate : undefined }),
        head: present(g.head),
        outputs: g.outputs,
        batchNorm: g.batchNorm === undefined ? undefined : present(g.batchNorm),
      });
    });
}

/**
 * The same spec as JSON text written another way: keys shuffled, whitespace of every kind, integers spelt as 16.0 or
 * 160e-1, characters of strings as \u escapes, sometimes a byte-order mark.
 */
function respelt(spec: Spec, seed: number): string {
  const r = seededRandom(seed);
  const space = () => r.pick(['', ' ', '  ', '\t', '\n', '\r\n', '\n\t ']);
  const number = (n: number) =>
    Number.isInteger(n)
      ? r.pick([String(n), `${n}.0`, `${n}e0`, `${n}0e-1`, `${n}.000E+0`])
      : r.pick([String(n), n.toExponential(), n.toExponential().toUpperCase()]);
  // Each UTF-16 unit of a character as \uXXXX (both halves of an emoji), or the character as JSON.stringify writes it.
  const escaped = (c: string) => Array.from({ length: c.length }, (_, k) => `\\u${c.charCodeAt(k).toString(16).padStart(4, '0')}`).join('');
  const string = (s: string) => `"${[...s].map((c) => (r.chance(0.3) ? escaped(c) : JSON.stringify(c).slice(1, -1))).join('')}"`;
  const write = (value: Json): string => {
    if (typeof value === 'number') return number(value);
    if (typeof value === 'string') return string(value);
    if (Array.isArray(value)) return `[${value.map((v) => space() + write(v) + space()).join(',')}]`;
    if (value === null || typeof value === 'boolean') return String(value);
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    return `{${entries.map(([k, v]) => `${space()}${string(k)}${space()}:${space()}${write(v)}${space()}`).join(',')}}`;
  };
  return (r.chance(0.1) ? '\uFEFF' : '') + space() + write(spec) + space();
}

/** JSON with every object's keys sorted, to compare values whatever their key order. */
const canonical = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v));

function compileOk(text: string, path = 'specs/generated.json') {
  const result = compileSpec(path, encode(text));
  if (!result.ok) throw new Error(`${text}\n${result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join('\n')}`);
  return result;
}

test('every generated spec compiles, with no errors', () => {
  fc.assert(
    fc.property(validSpec(), (spec) => {
      const result = compileSpec('specs/generated.json', encode(JSON.stringify(spec)));
      assert.equal(
        result.diagnostics.filter((d) => d.severity === 'error'),
        [],
        JSON.stringify(spec),
      );
      assert.ok(result.ok && result.code.length > 0);
    }),
    { seed: SEED, numRuns: 600 },
  );
});

test('compiling twice gives byte-identical code', () => {
  fc.assert(
    fc.property(validSpec(), (spec) => {
      const text = JSON.stringify(spec, null, 2);
      assert.is(compileOk(text).code, compileOk(text).code);
    }),
    { seed: SEED + 1, numRuns: 200 },
  );
});

test('the summary is a fixed point: the spec re-serialised by JSON.stringify compiles to the same summary and code', () => {
  fc.assert(
    fc.property(validSpec(), fc.integer(), (spec, seed) => {
      const text = respelt(spec, seed);
      assert.is(canonical(JSON.parse(text.replace(/^\uFEFF/, ''))), canonical(spec), 'the respelt text holds the same spec');
      const first = compileOk(text);
      const again = compileOk(JSON.stringify(JSON.parse(text.replace(/^\uFEFF/, ''))));
      assert.equal(summarize(again.graph), summarize(first.graph), text);
      // Only the header's hash of the spec's bytes may differ.
      const withoutHash = (code: string) => code.replace(/^\/\/ Source sha256: [0-9a-f]{64}$/m, '');
      assert.is(withoutHash(again.code), withoutHash(first.code));
    }),
    { seed: SEED + 2, numRuns: 300 },
  );
});

test('BatchNorm settings change only the BatchNorm settings', () => {
  fc.assert(
    fc.property(validSpec(), (spec) => {
      const { batchNorm, ...rest } = spec;
      const custom = compileOk(JSON.stringify(spec));
      const plain = compileOk(JSON.stringify(rest));
      assert.equal(summarize(custom.graph), summarize(plain.graph));
      const settings = { epsilon: 1e-5, momentum: 0.1, ...(batchNorm as { epsilon?: number; momentum?: number } | undefined) };
      for (const op of custom.graph.ops) {
        if (op.kind === 'batchNorm') assert.equal([op.epsilon, op.momentum], [settings.epsilon, settings.momentum], op.name);
      }
    }),
    { seed: SEED + 3, numRuns: 200 },
  );
});

// One batch of generated modules: written to a folder inside the repository, so that "netspec/runtime" and
// "@tensorflow/tfjs" resolve as they do for users; type-checked in one tsc run; then each built on the wasm backend.
const folder = join('test', `.property-${process.pid}`);
const batch = fc.sample(validSpec(), { seed: SEED + 4, numRuns: 40 });
const modules: { spec: Spec; graph: AnalyzedGraph; file: string }[] = [];

const isDefaultBatchNorm = (spec: Spec) => {
  const settings = (spec.batchNorm ?? {}) as { epsilon?: number; momentum?: number };
  return (settings.epsilon ?? 1e-5) === 1e-5 && (settings.momentum ?? 0.1) === 0.1;
};

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});
test.after(() => rmSync(folder, { recursive: true, force: true }));

test('the emitted TypeScript type-checks under tsc --strict (40 generated modules, one tsc run)', () => {
  mkdirSync(folder, { recursive: true });
  batch.forEach((spec, i) => {
    const file = join(folder, `p${String(i).padStart(2, '0')}.ts`);
    const result = compileOk(JSON.stringify(spec), `specs/p${i}.json`);
    writeFileSync(file, result.code);
    modules.push({ spec, graph: result.graph, file });
  });
  assert.is(modules.length, 40);
  assert.is(typeCheck(modules.map((m) => m.file)), '');
});

test('the built tfjs model equals the analysis and runs (wasm backend)', async () => {
  assert.is(modules.length, 40, 'the batch compiled');
  // BatchNorm at PyTorch's values is what assertModelMatchesAnalysis expects; other settings are checked layer by layer.
  const defaults = modules.filter((m) => isDefaultBatchNorm(m.spec)).length;
  assert.ok(defaults >= 10 && modules.length - defaults >= 10, `${defaults} of ${modules.length} specs at the default BatchNorm`);
  for (const { spec, graph, file } of modules) {
    const generated = (await import(`./${file.slice('test/'.length)}`)) as GeneratedModule;
    const model = generated.createModel();
    try {
      if (isDefaultBatchNorm(spec)) assertModelMatchesAnalysis(model, graph);
      else assertBatchNormSettings(model, graph);
      await assertForwardPass(generated, model, graph, 1);
    } catch (error) {
      throw new Error(`${file}: ${JSON.stringify(spec)}\n${(error as Error).message}`);
    } finally {
      model.dispose();
    }
  }
});

/** Each BatchNorm layer carries the spec's settings (tfjs momentum = 1 − PyTorch momentum), and the counts hold. */
function assertBatchNormSettings(model: tf.LayersModel, graph: AnalyzedGraph): void {
  assert.is(model.countParams(), graph.params.total);
  for (const op of graph.ops) {
    if (op.kind !== 'batchNorm') continue;
    const config = model.getLayer(op.name).getConfig();
    assert.equal([config.epsilon, config.momentum], [op.epsilon, 1 - op.momentum], op.name);
  }
}

test('the generator spans the spec language', () => {
  const specs = fc.sample(validSpec(), { seed: SEED, numRuns: 400 });
  const seen = new Set<string>();
  for (const spec of specs) {
    const { stem, block, stages, head } = spec as { stem: Spec; block: Spec; stages: Spec; head: Spec };
    seen.add(`stem ${stem.type}`).add(`block ${block.type}`).add(`head ${head.type}`);
    if (stem.pool === 'max') seen.add('pool max');
    for (const key of ['groups', 'widthPerGroup', 'expansion', 'strideOn', 'preActivation', 'zeroInitResidual', 'shortcut', 'midWidth', 'dropout']) {
      if (key in block || key in stem || key in head) seen.add(key);
    }
    if ((block.groups as number) > 1) seen.add('grouped');
    if (block.shortcut === 'avgPool') seen.add('avgPool');
    if ((stages.dilate as boolean[] | undefined)?.some(Boolean)) seen.add('dilated');
    if ('outputs' in spec) seen.add(head.type === 'none' ? 'outputs without head' : 'outputs with head');
    if ('batchNorm' in spec) seen.add('batchNorm');
    if ((stages.widths as number[]).length === 4) seen.add('4 stages');
    if ((stages.strides as number[]).some((s) => s > 2)) seen.add('stride > 2');
  }
  const expected = [
    'stem conv',
    'stem deep',
    'block basic',
    'block bottleneck',
    'head classifier',
    'head pool',
    'head none',
    'pool max',
    'groups',
    'widthPerGroup',
    'expansion',
    'strideOn',
    'preActivation',
    'zeroInitResidual',
    'shortcut',
    'midWidth',
    'dropout',
    'grouped',
    'avgPool',
    'dilated',
    'outputs without head',
    'outputs with head',
    'batchNorm',
    '4 stages',
    'stride > 2',
  ];
  assert.equal(
    expected.filter((feature) => !seen.has(feature)),
    [],
  );
});

test('a features-only backbone ends at the last stage it returns (regression: it threw InternalError)', () => {
  // head "none" with outputs ["C2"] on two stages left stage 2 reaching no output, and analyze threw.
  const spec = {
    name: 'c2only',
    input: { height: 8, width: 8, channels: 1 },
    stem: { type: 'conv', width: 4, kernelSize: 3, stride: 1 },
    block: { type: 'basic' },
    stages: { widths: [4, 8], depths: [1, 1], strides: [1, 2] },
    head: { type: 'none' },
    outputs: ['C2'],
  };
  const result = compileOk(JSON.stringify(spec));
  assert.equal(result.graph.outputShapes, [[8, 8, 4]]);
  assert.not.ok(result.graph.ops.some((op) => op.name.startsWith('layer2')));
});

test.run();
