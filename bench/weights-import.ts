// Importing resnet50's weights (98 MiB of float32) with `netspec weights import`, from safetensors and from the
// torch.save files PyTorch writes (the zip format and the legacy one): wall time and peak resident memory of the
// whole process, beside a process that only reads the file and beside torch.load(weights_only=True) of the same
// .pth, in the same run. Rounds alternate between the rows; each row's fastest and median are reported.
// Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpec } from '../src/compile.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { writeTorchFile } from '../src/weights/torch-save.js';
import { checkpointFor } from '../test/support/checkpoint.js';

const ROUNDS = 7;
const PYTHON = '/usr/bin/python3';
const spec = 'specs/imagenet/resnet50.json';
const folder = mkdtempSync(join(tmpdir(), 'netspec-bench-'));
const compiled = compileSpec(spec, readFileSync(spec));
if (!compiled.ok) throw new Error(`${spec} does not compile`);
const tensors = checkpointFor(compiled.graph);
const files = {
  safetensors: join(folder, 'resnet50.safetensors'),
  netspecPth: join(folder, 'netspec.pth'),
  zip: join(folder, 'resnet50.pth'),
  legacy: join(folder, 'resnet50-legacy.pth'),
};
writeFileSync(files.safetensors, writeSafetensors(tensors));
writeFileSync(files.netspecPth, writeTorchFile(files.netspecPth, tensors));

// The same tensors saved by PyTorch itself, in both of torch.save's formats.
const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (torchAvailable) {
  const save = `import sys, torch
state = torch.load(sys.argv[1], weights_only=True)
torch.save(state, sys.argv[2])
torch.save(state, sys.argv[3], _use_new_zipfile_serialization=False)`;
  const run = spawnSync(PYTHON, ['-c', save, files.netspecPth, files.zip, files.legacy], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`torch.save failed:\n${run.stderr}`);
}

interface Row {
  readonly what: string;
  readonly command: readonly string[];
  /** The time a process reports for its own work, when the row measures that rather than the whole process. */
  readonly reportsSeconds?: boolean;
  readonly runs: { seconds: number; peakMiB: number }[];
}

const importOf = (what: string, file: string): Row => ({
  what,
  command: [process.execPath, 'dist/cli.js', 'weights', 'import', spec, file, '--out', join(folder, 'weights')],
  runs: [],
});
const rows: Row[] = [
  {
    what: 'node reading the file only (peer)',
    command: [process.execPath, '-e', `require('fs').readFileSync(${JSON.stringify(files.safetensors)})`],
    runs: [],
  },
  importOf('`weights import` from safetensors', files.safetensors),
  ...(torchAvailable
    ? [
        importOf('`weights import` from .pth (torch.save, zip)', files.zip),
        importOf('`weights import` from .pth (torch.save, legacy)', files.legacy),
        {
          what: '`torch.load(weights_only=True)` of the zip .pth, in process (peer; its time excludes starting Python and `import torch`, its memory does not)',
          command: [
            PYTHON,
            '-c',
            `import sys, time, torch\nstart = time.perf_counter()\ntorch.load(sys.argv[1], weights_only=True)\nprint(time.perf_counter() - start)`,
            files.zip,
          ],
          reportsSeconds: true,
          runs: [],
        },
      ]
    : [importOf("`weights import` from .pth (netspec's writer, zip)", files.netspecPth)]),
];

/** Wall seconds (or the seconds the process reports) and peak resident MiB of one run, measured by GNU time. */
function measure(row: Row): { seconds: number; peakMiB: number } {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %M', ...row.command], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${row.command.join(' ')} failed:\n${run.stderr}`);
  const [seconds, kib] = run.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { seconds: row.reportsSeconds ? Number(run.stdout.trim()) : seconds!, peakMiB: kib! / 1024 };
}

const fileMiB = statSync(files.safetensors).size / 2 ** 20;
const loadAtStart = loadavg()[0]!;
for (let round = 0; round < ROUNDS; round++) for (const row of rows) row.runs.push(measure(row));
rmSync(folder, { recursive: true, force: true });

/** The CPU as lscpu names it, with the SIMD extensions it offers. */
function cpuText(): string {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout ?? '';
  const model = /^Model name:\s*(.+)$/m.exec(lscpu)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  const flags = (/^Flags:\s*(.+)$/m.exec(lscpu)?.[1] ?? '').split(' ');
  const simd = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512_vnni', 'avx512_bf16'].filter((flag) => flags.includes(flag));
  return `${cpus().length} × ${model} (${simd.join(', ') || 'no AVX'})`;
}

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const table = [
  `## Weights import, safetensors and .pth — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpuText()}; Node ${process.version}. resnet50's ${tensors.size} tensors, ${fileMiB.toFixed(1)} MiB of float32, ` +
    `as safetensors and as torch.save wrote them (PyTorch ${torchAvailable ? 'present' : "absent: the .pth is netspec's own"}). ` +
    `Whole processes unless said, ${ROUNDS} rounds alternating between the rows; fastest and median wall time, peak resident memory (of the fastest run) from GNU time. Targets: under 2 s, peak under 3× the file. Load average when the rounds began: ${loadAtStart.toFixed(1)} on ${cpus().length} cores shared with other work, which the median feels more than the fastest.`,
  '',
  '| what | fastest s | median s | peak RSS MiB | peak / file size |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map((row) => {
    const fastest = row.runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    return `| ${row.what} | ${fastest.seconds.toFixed(2)} | ${median(row.runs.map((r) => r.seconds)).toFixed(2)} | ${fastest.peakMiB.toFixed(0)} | ${(fastest.peakMiB / fileMiB).toFixed(2)}× |`;
  }),
  '',
];
appendFileSync('bench/results.md', `\n${table.join('\n')}\n`);
console.log(table.join('\n'));
