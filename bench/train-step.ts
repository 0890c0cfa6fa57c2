// The time of one training step of ResNet-20 for Fashion-MNIST (specs/fashion/resnet20.json): the wasm backend
// with netspec's gradient kernels (one replica, and two replicas in two threads splitting the batch), the pure-JS
// cpu backend, and PyTorch on the CPU with 1 and 2 threads, all in one run on this machine. A step is the forward
// and backward pass, the cross-entropy of a batch and one SGD update. Appends a table to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { compileSpec } from '../src/compile.js';
import { registerWasmGradients } from '../src/runtime/training/wasm-gradients.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { ReplicaWorkers } from '../src/train/parallel.js';
import { Replica } from '../src/train/replica.js';
import { trainStep } from '../src/train/train.js';

const SPEC = 'specs/fashion/resnet20.json';
const PYTHON = '/usr/bin/python3';
// 128 is netspec train's default batch (64 images per replica on two cores). `tsx bench/train-step.ts 128` times
// only the batches given; the cpu backend's step (minutes) is timed only when batch 32 is among them.
const BATCHES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [32, 128, 256];
const RUNS = 5;
const compiled = compileSpec(SPEC, readFileSync(SPEC));
if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
const graph = compiled.graph;
const optimizer = DEFAULT_CONFIG.optimizer;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function randomBatch(batch: number): { images: Float32Array; targets: Int32Array } {
  return {
    images: Float32Array.from({ length: batch * 28 * 28 }, () => Math.random() * 2 - 1),
    targets: Int32Array.from({ length: batch }, () => Math.floor(Math.random() * 10)),
  };
}

/** Times `runs` steps after two warm-up steps (the wasm heap grows and XNNPACK sets up its operators in the first). */
interface StepTimes {
  readonly wall: number[];
  /** Processor seconds of the whole process (every thread), which other load on the machine does not inflate. */
  readonly cpu: number[];
}

async function timeSteps(runs: number, step: () => Promise<void> | void, warmUp = true): Promise<StepTimes> {
  if (warmUp) for (let i = 0; i < 2; i++) await step();
  const times: StepTimes = { wall: [], cpu: [] };
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await step();
    const cpu = process.cpuUsage(cpuStart);
    times.wall.push((performance.now() - start) / 1000);
    times.cpu.push((cpu.user + cpu.system) / 1e6);
  }
  return times;
}

/** Steps of netspec train's own step function with `replicas` replicas (the extra ones in worker threads). */
async function stepTimes(backend: 'wasm' | 'cpu', replicas: number, batch: number, runs: number): Promise<StepTimes> {
  await tf.setBackend(backend);
  const main = new Replica(graph, optimizer);
  main.initialise(graph, 0);
  const workers = replicas > 1 ? await ReplicaWorkers.start(replicas - 1, { graph, optimizer, backend }) : undefined;
  workers?.broadcast({ kind: 'weights', weights: main.weights() });
  const data = randomBatch(batch);
  // The cpu backend has nothing to warm up and takes minutes a step: it is timed from its first step.
  const times = await timeSteps(runs, async () => void (await trainStep(main, workers, data, 0.1)), backend === 'wasm');
  await workers?.close();
  main.dispose();
  return times;
}

// Production mode keeps the cpu backend from printing its advice to install tfjs-node.
tf.enableProdMode();
await tf.ready();
registerWasmGradients();
const rows: { runner: string; batch: number; seconds: number; cpu: number }[] = [];
const row = (runner: string, batch: number, times: StepTimes) => rows.push({ runner, batch, seconds: median(times.wall), cpu: median(times.cpu) });
for (const batch of BATCHES) {
  row('tfjs wasm, 1 thread (netspec kernels)', batch, await stepTimes('wasm', 1, batch, RUNS));
  row('tfjs wasm, 2 replicas in 2 threads', batch, await stepTimes('wasm', 2, batch, RUNS));
}
// The cpu backend needs minutes a step: one step, at batch 32 only.
if (BATCHES.includes(32)) row('tfjs cpu (pure JavaScript)', 32, await stepTimes('cpu', 1, 32, 1));
const torch = spawnSync(PYTHON, ['bench/pytorch-train-step.py', BATCHES.join(','), '1,2', String(RUNS)], { encoding: 'utf8' });
if (torch.status === 0) {
  const measured = JSON.parse(torch.stdout) as { seconds: Record<string, Record<string, number[]>>; cpu: Record<string, Record<string, number[]>> };
  for (const [threads, byBatch] of Object.entries(measured.seconds)) {
    for (const [batch, wall] of Object.entries(byBatch))
      row(`PyTorch ${threads} thread${threads === '1' ? '' : 's'}`, Number(batch), { wall, cpu: measured.cpu[threads]![batch]! });
  }
} else {
  process.stderr.write(`PyTorch not measured: ${torch.stderr.trim().split('\n').at(-1)}\n`);
}

const find = (runner: string, batch: number) => rows.find((r) => r.runner.startsWith(runner) && r.batch === batch)?.seconds;
const findCpu = (runner: string, batch: number) => rows.find((r) => r.runner.startsWith(runner) && r.batch === batch)?.cpu;
const stated = (text: string, ...needed: (number | undefined)[]) => (needed.every((n) => n !== undefined) ? text : '');
const lines = [
  '',
  `## Training step, ResNet-20 for Fashion-MNIST (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()})`,
  '',
  `One step = forward, cross-entropy, backward and an SGD update; median of ${RUNS} after two warm-up steps (cpu: its one step); 31.0 M MACs per image forward.`,
  '',
  `Processor seconds are the whole process's (all threads) per step; the machine's load average was ${loadavg()[0]!.toFixed(1)} at the end.`,
  '',
  '| runner | batch | seconds per step | images per second | processor seconds per step |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.runner} | ${r.batch} | ${r.seconds.toFixed(3)} | ${(r.batch / r.seconds).toFixed(0)} | ${r.cpu.toFixed(3)} |`),
  '',
];
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : 'n/a');
const comparisons = [
  stated(`wasm vs cpu at batch 32: ${ratio(find('tfjs cpu', 32), find('tfjs wasm, 1 thread', 32))} faster.`, find('tfjs cpu', 32)),
  stated(
    `At batch 128, wasm 1 thread vs PyTorch 1 thread: ${ratio(find('tfjs wasm, 1 thread', 128), find('PyTorch 1 thread', 128))} slower;`,
    find('PyTorch 1 thread', 128),
  ),
  stated(
    `wasm 2 replicas vs PyTorch 2 threads: ${ratio(find('tfjs wasm, 2 replicas', 128), find('PyTorch 2 threads', 128))} slower (target ≤ 3×).`,
    find('PyTorch 2 threads', 128),
  ),
  stated(
    `In processor seconds at batch 128, wasm 1 thread vs PyTorch 1 thread: ${ratio(findCpu('tfjs wasm, 1 thread', 128), findCpu('PyTorch 1 thread', 128))}.`,
    findCpu('PyTorch 1 thread', 128),
  ),
  stated(
    `At batch 256, 2 replicas vs 1 thread: ${ratio(find('tfjs wasm, 1 thread', 256), find('tfjs wasm, 2 replicas', 256))} faster.`,
    find('tfjs wasm, 1 thread', 256),
  ),
];
lines.push(comparisons.filter((text) => text !== '').join(' '), '');
appendFileSync('bench/results.md', lines.join('\n'));
process.stdout.write(lines.join('\n'));
