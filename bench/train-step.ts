// The time of one training step of ResNet-20 for Fashion-MNIST (specs/fashion/resnet20.json): the wasm backend
// with netspec's gradient kernels (one replica, and two replicas in two threads splitting the batch), the pure-JS
// cpu backend, and PyTorch on the CPU with 1 and 2 threads, all in one run on this machine. A step is the forward
// and backward pass, the cross-entropy of a batch and one SGD update. Appends a table to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { compileSpec } from '../src/compile.js';
import { registerWasmGradients } from '../src/runtime/wasm-gradients.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { ReplicaWorkers } from '../src/train/parallel.js';
import { Replica } from '../src/train/replica.js';
import { trainStep } from '../src/train/train.js';

const SPEC = 'specs/fashion/resnet20.json';
const PYTHON = '/usr/bin/python3';
// 256 is netspec train's default batch (128 images per replica on two cores).
const BATCHES = [32, 128, 256];
const RUNS = 5;
const compiled = compileSpec(SPEC, readFileSync(SPEC));
if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
const graph = compiled.graph;
const optimizer = DEFAULT_CONFIG.optimizer;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function randomBatch(batch: number): { images: Float32Array; labels: Int32Array } {
  return {
    images: Float32Array.from({ length: batch * 28 * 28 }, () => Math.random() * 2 - 1),
    labels: Int32Array.from({ length: batch }, () => Math.floor(Math.random() * 10)),
  };
}

/** Times `runs` steps after two warm-up steps (the wasm heap grows and XNNPACK sets up its operators in the first). */
async function timeSteps(runs: number, step: () => Promise<void> | void, warmUp = true): Promise<number[]> {
  if (warmUp) for (let i = 0; i < 2; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await step();
    times.push((performance.now() - start) / 1000);
  }
  return times;
}

/** Steps of netspec train's own step function with `replicas` replicas (the extra ones in worker threads). */
async function stepTimes(backend: 'wasm' | 'cpu', replicas: number, batch: number, runs: number): Promise<number[]> {
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
const rows: { runner: string; batch: number; seconds: number }[] = [];
for (const batch of BATCHES) {
  rows.push({ runner: 'tfjs wasm, 1 thread (netspec kernels)', batch, seconds: median(await stepTimes('wasm', 1, batch, RUNS)) });
  rows.push({ runner: 'tfjs wasm, 2 replicas in 2 threads', batch, seconds: median(await stepTimes('wasm', 2, batch, RUNS)) });
}
// The cpu backend needs minutes a step: one step, at the smaller batch only.
rows.push({ runner: 'tfjs cpu (pure JavaScript)', batch: BATCHES[0]!, seconds: median(await stepTimes('cpu', 1, BATCHES[0]!, 1)) });
const torch = spawnSync(PYTHON, ['bench/pytorch-train-step.py', BATCHES.join(','), '1,2', String(RUNS)], { encoding: 'utf8' });
if (torch.status === 0) {
  const measured = JSON.parse(torch.stdout) as { seconds: Record<string, Record<string, number[]>> };
  for (const [threads, byBatch] of Object.entries(measured.seconds)) {
    for (const [batch, times] of Object.entries(byBatch)) rows.push({ runner: `PyTorch ${threads} thread${threads === '1' ? '' : 's'}`, batch: Number(batch), seconds: median(times) });
  }
} else {
  process.stderr.write(`PyTorch not measured: ${torch.stderr.trim().split('\n').at(-1)}\n`);
}

const find = (runner: string, batch: number) => rows.find((r) => r.runner.startsWith(runner) && r.batch === batch)?.seconds;
const lines = [
  '',
  `## Training step, ResNet-20 for Fashion-MNIST (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()})`,
  '',
  `One step = forward, cross-entropy, backward and an SGD update; median of ${RUNS} after two warm-up steps (cpu: its one step); 31.0 M MACs per image forward.`,
  '',
  '| runner | batch | seconds per step | images per second |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.runner} | ${r.batch} | ${r.seconds.toFixed(3)} | ${(r.batch / r.seconds).toFixed(0)} |`),
  '',
];
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : 'n/a');
lines.push(
  `wasm vs cpu at batch ${BATCHES[0]}: ${ratio(find('tfjs cpu', BATCHES[0]!), find('tfjs wasm, 1 thread', BATCHES[0]!))} faster. ` +
    `At batch 128, wasm 1 thread vs PyTorch 1 thread: ${ratio(find('tfjs wasm, 1 thread', 128), find('PyTorch 1 thread', 128))} slower. ` +
    `At batch 256, wasm 2 replicas vs PyTorch 2 threads: ${ratio(find('tfjs wasm, 2 replicas', 256), find('PyTorch 2 threads', 256))} slower; ` +
    `2 replicas vs 1 thread: ${ratio(find('tfjs wasm, 1 thread', 256), find('tfjs wasm, 2 replicas', 256))} faster.`,
  '',
);
appendFileSync('bench/results.md', lines.join('\n'));
process.stdout.write(lines.join('\n'));
