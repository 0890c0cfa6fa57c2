// The fuzz campaign: mutants of every spec in specs/, each compiled in process and held to the compiler's promises
// (test/support/mutate.ts). Prints a report and appends it to bench/results.md; on any crash or broken promise it
// prints the mutant and exits 1 without recording. `npm run fuzz -- --runs 100000 --seed 7`.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { findSpecs } from '../src/project/paths.js';
import { compileMutant, describeMutant, mutant, OPERATORS, TIME_LIMIT_MS } from '../test/support/mutate.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string', default: String(Date.now() % 2 ** 31) } },
  strict: true,
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed) || seed < 0) {
  process.stderr.write('usage: npm run fuzz -- [--runs N (default 10000)] [--seed S (default: from the clock)]\n');
  process.exit(2);
}

const sources = findSpecs('specs').map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const count = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);
const diagnostics = new Map<string, number>();
const mutantsWithCode = new Map<string, number>();
const applied = new Map<string, number>();
const appliedCompiled = new Map<string, number>();
let compiled = 0;
let slowest = { ms: 0, index: -1 };
const started = performance.now();

for (let i = 0; i < runs; i++) {
  const m = mutant(sources, seed, i);
  const outcome = compileMutant(m);
  if (outcome.problems.length > 0) {
    process.stderr.write(`${describeMutant(m, seed)}\n${outcome.problems.join('\n')}\n`);
    process.stderr.write(`${outcome.crash ? 'CRASH' : 'BROKEN PROMISE'} at case ${i} of seed ${seed}; nothing recorded\n`);
    process.exit(1);
  }
  const result = outcome.result!;
  if (result.ok) compiled++;
  for (const d of result.diagnostics) count(diagnostics, d.code);
  for (const code of new Set(result.diagnostics.map((d) => d.code))) count(mutantsWithCode, code);
  for (const name of m.operators) {
    count(applied, name);
    if (result.ok) count(appliedCompiled, name);
  }
  if (outcome.elapsedMs > slowest.ms) slowest = { ms: outcome.elapsedMs, index: i };
  if ((i + 1) % Math.max(1, Math.floor(runs / 10)) === 0) process.stderr.write(`${i + 1} / ${runs}\n`);
}

const seconds = (performance.now() - started) / 1000;
const git = (args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
const commit = `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) === '' ? '' : ' with local changes to src/'}`;
const n = (value: number) => value.toLocaleString('en-US');
const table = [
  `## Fuzzing — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}. Compiler at ${commit}.`,
  `\`npm run fuzz -- --runs ${runs} --seed ${seed}\`: 1–3 mutations each of the ${sources.length} specs in specs/, compiled in process.`,
  '',
  '| result | count |',
  '| --- | ---: |',
  `| cases run | ${n(runs)} |`,
  `| compiled successfully | ${n(compiled)} |`,
  `| refused with diagnostics | ${n(runs - compiled)} |`,
  '| crashes (thrown exceptions) | 0 |',
  '| broken promises (positions, codes, messages, time) | 0 |',
  `| slowest case (#${slowest.index}), limit ${n(TIME_LIMIT_MS)} ms | ${slowest.ms.toFixed(1)} ms |`,
  `| time taken | ${seconds.toFixed(1)} s (${((seconds * 1000) / runs).toFixed(2)} ms per case) |`,
  '',
  '| code | diagnostics | mutants reporting it |',
  '| --- | ---: | ---: |',
  ...[...diagnostics.keys()].sort().map((code) => `| ${code} | ${n(diagnostics.get(code)!)} | ${n(mutantsWithCode.get(code)!)} |`),
  '',
  '| mutation | applied | in mutants that compiled |',
  '| --- | ---: | ---: |',
  ...OPERATORS.map((name) => `| ${name} | ${n(applied.get(name) ?? 0)} | ${n(appliedCompiled.get(name) ?? 0)} |`),
  '',
];
appendFileSync('bench/results.md', `${table.join('\n')}\n`);
process.stdout.write(`${table.join('\n')}\n`);
