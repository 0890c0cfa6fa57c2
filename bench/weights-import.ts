// Importing resnet50's weights (a 98 MiB safetensors file) with `netspec weights import`: wall time and peak
// resident memory of the whole process, beside a process that only reads the file, in the same run.
// Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpec } from '../src/compile.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { checkpointFor } from '../test/support/checkpoint.js';

const RUNS = 5;
const spec = 'specs/imagenet/resnet50.json';
const folder = mkdtempSync(join(tmpdir(), 'netspec-bench-'));
const checkpoint = join(folder, 'resnet50.safetensors');
const compiled = compileSpec(spec, readFileSync(spec));
if (!compiled.ok) throw new Error(`${spec} does not compile`);
writeFileSync(checkpoint, writeSafetensors(checkpointFor(compiled.graph)));
const fileBytes = statSync(checkpoint).size;

/** Median wall seconds and peak resident MiB of a command, measured by GNU time. */
function measure(args: string[]): { seconds: number; peakMiB: number } {
  const runs = Array.from({ length: RUNS }, () => {
    const run = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...args], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${args.join(' ')} failed:\n${run.stderr}`);
    const [seconds, kib] = run.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return { seconds: seconds!, peakMiB: kib! / 1024 };
  }).sort((a, b) => a.seconds - b.seconds);
  return runs[Math.floor(RUNS / 2)]!;
}

const rows = [
  { what: 'node reading the file only (peer)', ...measure(['-e', `require('fs').readFileSync(${JSON.stringify(checkpoint)})`]) },
  { what: '`netspec weights import` resnet50', ...measure(['dist/cli.js', 'weights', 'import', spec, checkpoint, '--out', join(folder, 'weights')]) },
];
rmSync(folder, { recursive: true, force: true });

const fileMiB = fileBytes / 2 ** 20;
const table = [
  `## Weights import — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}. resnet50 checkpoint of ${fileMiB.toFixed(1)} MiB (F32); whole processes, median of ${RUNS} by wall time, peak resident memory from GNU time. Targets: under 2 s, peak under 3× the file.`,
  '',
  '| what | wall s | peak RSS MiB | peak / file size |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.what} | ${r.seconds.toFixed(2)} | ${r.peakMiB.toFixed(0)} | ${(r.peakMiB / fileMiB).toFixed(2)}× |`),
  '',
];
appendFileSync('bench/results.md', `${table.join('\n')}\n`);
console.log(table.join('\n'));
