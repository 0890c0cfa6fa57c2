// Runs every test/*.test.ts file with uvu, two files at a time (the machine has two cores and most test time is one
// thread of wasm or Node), each in a process of its own, longest first so the two lanes finish together. Prints each
// file's output when it ends, its time, and a closing "N passed, N failed, N skipped" line; exits 1 if any failed.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync } from 'node:fs';

/**
 * The files that take longest, started first so that the two lanes finish together (seconds measured on a fresh
 * 2-core machine, both lanes busy, in a whole run of 13 minutes: cli 62, browser-open-size 59, browser-models 57,
 * model 56, parity 54, timm 50, train 48, predict 47, torch-dense 45, eval-dense 45, torch-engine 43, train-dense 40,
 * web-app 40, train-cli 39, browser-onnx 37, engine-agreement 36, journey 35, pytorch-target 34, user-files 32,
 * dense-parity 32, open-size 29, exit-codes 27, pth 27, predict-dense 26, matrix 26); the rest, under 22 s each,
 * follow by name.
 */
const LONGEST_FIRST = [
  'cli.test.ts',
  'browser-open-size.test.ts',
  'browser-models.test.ts',
  'model.test.ts',
  'parity.test.ts',
  'timm.test.ts',
  'train.test.ts',
  'predict.test.ts',
  'torch-dense.test.ts',
  'eval-dense.test.ts',
  'torch-engine.test.ts',
  'train-dense.test.ts',
  'web-app.test.ts',
  'train-cli.test.ts',
  'browser-onnx.test.ts',
  'engine-agreement.test.ts',
  'journey.test.ts',
  'pytorch-target.test.ts',
  'user-files.test.ts',
  'dense-parity.test.ts',
  'open-size.test.ts',
  'exit-codes.test.ts',
  'pth.test.ts',
  'predict-dense.test.ts',
  'matrix.test.ts',
];

/**
 * glibc's allocator settings for every test process and what it starts (Node, Python, PyTorch): large blocks on
 * transparent huge pages, and freed memory kept for reuse rather than returned to the system. The tests allocate
 * and free gigabytes of tensors; in a virtual machine each first touch of a 4 KiB page is a costly trip to the
 * host, and on a 2-core VM these settings take parity.test.ts from 69 s to 30 s (2.3 million page faults to
 * 0.24 million). They change no result. A user's own GLIBC_TUNABLES come last, so they win.
 */
const MALLOC_TUNABLES = ['glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=4294967296:glibc.malloc.mmap_threshold=33554432', process.env.GLIBC_TUNABLES]
  .filter(Boolean)
  .join(':');

const pattern = process.argv[2] === undefined ? /\.test\.ts$/ : new RegExp(process.argv[2]);
const files = readdirSync('test').filter((file) => file.endsWith('.test.ts') && pattern.test(file));
const rank = (file: string) => (LONGEST_FIRST.includes(file) ? LONGEST_FIRST.indexOf(file) : LONGEST_FIRST.length);
const queue = files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const lanes = Math.max(1, Math.min(2, availableParallelism()));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failedFiles: string[] = [];

function runFile(file: string): Promise<void> {
  const started = performance.now();
  const escaped = file.replace(/[.]/g, '\\.');
  const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', `^${escaped}$`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((done) => {
    child.on('close', (code) => {
      // uvu's summary lines, without their colour codes.
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
      const count = (label: string) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);
      const [total, passed, skipped] = [count('Total'), count('Passed'), count('Skipped')];
      totals.passed += passed;
      totals.skipped += skipped;
      totals.failed += Math.max(total - passed - skipped, code === 0 ? 0 : 1);
      if (code !== 0 || total === 0) failedFiles.push(file);
      process.stdout.write(`${output.trimEnd()}\n  ${file}: ${((performance.now() - started) / 1000).toFixed(1)} s\n\n`);
      done();
    });
  });
}

async function lane(): Promise<void> {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runFile(file);
}

await Promise.all(Array.from({ length: lanes }, lane));
if (failedFiles.length > 0) process.stdout.write(`failed: ${failedFiles.join(', ')}\n`);
process.stdout.write(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exitCode = failedFiles.length > 0 ? 1 : 0;
