// Mutation fuzzing, a fixed-seed sample of the campaign `npm run fuzz` runs at length: mutants of every spec in specs/
// (keys deleted, duplicated, renamed; values retyped, pushed to extremes, made hostile; truncation, byte flips, deep
// nesting, junk) must each compile, or be refused with positioned errors: never a thrown exception, never over 1 s.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { findSpecs } from '../src/project/paths.js';
import { compileMutant, describeMutant, HOSTILE_KEYS, mutant, OPERATORS, type Mutant, type Outcome } from './support/mutate.js';
import { snapshot } from './support/files.js';

const SEED = 1;
const RUNS = 2000;
const sources = findSpecs('specs').map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const outcomes: { mutant: Mutant; outcome: Outcome }[] = [];

test('mutants of every spec compile, or are refused with positioned errors; never throw, never take over 1 s', () => {
  assert.ok(sources.length >= 4, 'specs to mutate');
  for (let i = 0; i < RUNS; i++) {
    const m = mutant(sources, SEED, i);
    const outcome = compileMutant(m);
    if (outcome.problems.length > 0) assert.unreachable(`${describeMutant(m, SEED)}\n${outcome.problems.join('\n')}`);
    outcomes.push({ mutant: m, outcome });
  }
});

test('the mutants are reproducible from (seed, index)', () => {
  for (const i of [0, 7, RUNS - 1]) assert.equal(mutant(sources, SEED, i), outcomes[i]!.mutant);
  assert.not.equal(mutant(sources, SEED + 1, 0).bytes, outcomes[0]!.mutant.bytes);
});

test('the sample applies every operator and reaches every phase: reading, schema, rules, limits, emission', () => {
  const applied = new Set(outcomes.flatMap((o) => o.mutant.operators));
  assert.equal(
    OPERATORS.filter((name) => !applied.has(name)),
    [],
  );
  // A mutant that compiles has passed the limits check and been emitted; refusals show the earlier phases.
  const compiled = outcomes.filter((o) => o.outcome.result?.ok).length;
  assert.ok(compiled >= RUNS * 0.05, `${compiled} of ${RUNS} compiled`);
  const codes = new Set<string>(outcomes.flatMap((o) => o.outcome.result?.diagnostics.map((d) => d.code) ?? []));
  const expected = [
    'NS002',
    'NS003',
    'NS004',
    'NS010',
    'NS011',
    'NS012',
    'NS101',
    'NS102',
    'NS103',
    'NS104',
    'NS105',
    'NS106',
    'NS107',
    'NS201',
    'NS202',
    'NS501',
  ];
  assert.equal(
    expected.filter((code) => !codes.has(code)),
    [],
  );
});

test('__proto__, constructor and prototype keys at every depth of every spec are refused and pollute nothing', () => {
  for (const { path, text } of sources) {
    const objects: Record<string, unknown>[] = [];
    const spec = JSON.parse(text, function collect(_key, value) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) objects.push(value);
      return value;
    });
    for (const [depth, object] of objects.entries()) {
      for (const key of HOSTILE_KEYS.slice(0, 3)) {
        // defineProperty, so that the key is an own field of the JSON text rather than a prototype change here.
        Object.defineProperty(object, key, { value: { polluted: true, type: 'basic' }, enumerable: true, configurable: true, writable: true });
        const result = compileSpec(path, new TextEncoder().encode(JSON.stringify(spec, null, 2)));
        delete object[key];
        assert.not.ok(result.ok, `${path}: ${key} in object ${depth}`);
        assert.ok(
          result.diagnostics.some((d) => d.code === 'NS103' && d.message.includes(`"${key}"`)),
          `${path}: ${key} in object ${depth}`,
        );
        assert.is(({} as Record<string, unknown>).polluted, undefined);
        assert.is(Object.hasOwn(Object.prototype, 'polluted'), false);
      }
    }
    assert.ok(objects.length >= 6, `${path}: ${objects.length} objects`);
  }
});

test('through the CLI, a refused mutant in a batch writes nothing, overwrites nothing, and prints no stack trace', () => {
  // One refused mutant for each of several first diagnostic codes, so the batch fails at different phases.
  const byCode = new Map<string, Mutant>();
  for (const { mutant: m, outcome } of outcomes) {
    const code = outcome.result?.diagnostics.find((d) => d.severity === 'error')?.code;
    if (code && !byCode.has(code) && m.bytes.length < 100_000) byCode.set(code, m);
  }
  const chosen = ['NS003', 'NS010', 'NS011', 'NS103', 'NS202'].map((code) => byCode.get(code)!);
  assert.is(chosen.filter(Boolean).length, 5);
  for (const m of chosen) {
    const root = mkdtempSync(join(tmpdir(), 'netspec-fuzz-'));
    mkdirSync(join(root, 'specs'));
    mkdirSync(join(root, 'generated'));
    writeFileSync(join(root, 'specs', 'a.json'), readFileSync('specs/resnet18.json'));
    writeFileSync(join(root, 'specs', 'mutant.json'), m.bytes);
    writeFileSync(join(root, 'generated', 'a.ts'), '// previous output\n');
    const before = snapshot(root);
    const run = spawnSync(process.execPath, [resolve('dist', 'cli.js'), 'compile'], { cwd: root, encoding: 'utf8' });
    const label = `${describeMutant(m, SEED)}\n${run.stderr}`;
    assert.is(run.status, 1, label);
    assert.match(run.stderr, /^specs\/mutant\.json:\d+:\d+: error NS\d{3}: /m, label);
    assert.match(run.stderr, /nothing was written/, label);
    assert.not.match(run.stderr, /\n\s+at /, label);
    assert.equal(snapshot(root), before, label);
    rmSync(root, { recursive: true });
  }
});

test.run();
