// Compiler speed: compiling every spec in process and through the CLI, and CLI start-up, each beside a bare
// `node` start in the same run so the ratios hold on a noisy shared machine. Appends to bench/results.md.
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { planCompile } from '../src/project/compile-files.js';

const RUNS = 15;

function measure(run: () => void): { median: number; min: number; max: number } {
  run();
  const times = Array.from({ length: RUNS }, () => {
    const started = performance.now();
    run();
    return performance.now() - started;
  }).sort((a, b) => a - b);
  return { median: times[Math.floor(RUNS / 2)]!, min: times[0]!, max: times[RUNS - 1]! };
}

const node = (args: string[]) => () => execFileSync(process.execPath, args, { stdio: 'ignore' });
const options = { specs: [], specRoot: 'specs', outDir: 'generated' };
const specCount = planCompile(options).outputs.length;

const rows = [
  { what: 'bare `node -e 0` start (peer)', ...measure(node(['-e', '0'])) },
  { what: '`netspec --help`', ...measure(node(['dist/cli.js', '--help'])) },
  { what: `\`netspec compile --check\` (${specCount} specs, whole process)`, ...measure(node(['dist/cli.js', 'compile', '--check'])) },
  { what: `compile ${specCount} specs in process (read → emit, no I/O of output)`, ...measure(() => planCompile(options)) },
];
const peer = rows[0]!.median;
const table = [
  `## Compiler speed — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}. Median of ${RUNS} runs after one warm-up.`,
  '',
  '| what | median ms | min–max ms | ratio to bare node start |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.what} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)}–${r.max.toFixed(1)} | ${(r.median / peer).toFixed(2)}× |`),
  '',
];
appendFileSync('bench/results.md', `${table.join('\n')}\n`);
console.log(table.join('\n'));
