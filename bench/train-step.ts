// The time of one training step of ResNet-20 for Fashion-MNIST (specs/fashion/resnet20.json): the wasm backend
// with netspec's gradient kernels (one replica, and two replicas in two threads splitting the batch), the pure-JS
// cpu backend, and PyTorch on the CPU with 1 and 2 threads in both memory layouts, taking turns in one run on this
// machine (bench/peers.ts). A step is the forward and backward pass, the cross-entropy of a batch and one SGD
// update. Appends a table to bench/results.md.
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
import { alternate, childPeer, fastest, localPeer, median, type Peer, type Timed } from './peers.js';

const SPEC = 'specs/fashion/resnet20.json';
const PYTHON = '/usr/bin/python3';
// 128 is netspec train's default batch (64 images per replica on two cores). `tsx bench/train-step.ts 128` times
// only the batches given; the cpu backend's step (minutes) is timed only when batch 32 is among them.
const BATCHES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [32, 128, 256];
const ROUNDS = 7;
const compiled = compileSpec(SPEC, readFileSync(SPEC));
if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
const graph = compiled.graph;
const optimizer = DEFAULT_CONFIG.optimizer;

function randomBatch(batch: number): { images: Float32Array; targets: Int32Array } {
  return {
    images: Float32Array.from({ length: batch * 28 * 28 }, () => Math.random() * 2 - 1),
    targets: Int32Array.from({ length: batch }, () => Math.floor(Math.random() * 10)),
  };
}

/**
 * netspec train's own step function with `replicas` replicas (the extra ones in worker threads), as a timing peer,
 * after two warm-up steps (the wasm heap grows and XNNPACK sets up its operators in the first).
 */
async function stepPeer(name: string, backend: 'wasm' | 'cpu', replicas: number, batch: number, warmups = 2): Promise<Peer> {
  await tf.setBackend(backend);
  const main = new Replica(graph, optimizer);
  main.initialise(graph, 0);
  const workers = replicas > 1 ? await ReplicaWorkers.start(replicas - 1, { graph, optimizer, backend }) : undefined;
  workers?.broadcast({ kind: 'weights', weights: main.weights() });
  const data = randomBatch(batch);
  const step = () => trainStep(main, workers, data, 0.1);
  for (let i = 0; i < warmups; i++) await step();
  return localPeer(name, step, async () => {
    await workers?.close();
    main.dispose();
  });
}

const pytorchPeer = (batch: number, threads: number, layout: 'contiguous' | 'channels_last') =>
  childPeer(`PyTorch, ${layout === 'contiguous' ? 'NCHW' : 'channels_last'}, ${threads} thread${threads === 1 ? '' : 's'}`, PYTHON, [
    'bench/pytorch-train-step.py',
    String(batch),
    String(threads),
    layout,
  ]);
const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

// Production mode keeps the cpu backend from printing its advice to install tfjs-node.
tf.enableProdMode();
await tf.ready();
registerWasmGradients();
const rows: (Timed & { batch: number })[] = [];
for (const batch of BATCHES) {
  const peers = [
    await stepPeer('tfjs wasm, 1 thread (netspec kernels)', 'wasm', 1, batch),
    await stepPeer('tfjs wasm, 2 replicas in 2 threads', 'wasm', 2, batch),
  ];
  if (torch) for (const threads of [1, 2]) for (const layout of ['contiguous', 'channels_last'] as const) peers.push(await pytorchPeer(batch, threads, layout));
  for (const timed of await alternate(peers, ROUNDS)) rows.push({ ...timed, batch });
}
if (!torch) process.stderr.write('PyTorch not measured: /usr/bin/python3 cannot import torch\n');
// The cpu backend needs minutes a step: one step from cold, at batch 32 only, outside the rounds.
if (BATCHES.includes(32)) rows.push({ ...(await alternate([await stepPeer('tfjs cpu (pure JavaScript), one step', 'cpu', 1, 32, 0)], 1))[0]!, batch: 32 });

/** The fastest step at `batch` of the runners whose names start with `prefix` and end with `suffix`: PyTorch at its best layout. */
const find = (prefix: string, batch: number, suffix = '') => {
  const times = rows.filter((r) => r.name.startsWith(prefix) && r.name.endsWith(suffix) && r.batch === batch).map((r) => fastest(r.seconds));
  return times.length > 0 ? Math.min(...times) : undefined;
};
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : 'n/a');
const lines = [
  '',
  `## Training step, ResNet-20 for Fashion-MNIST (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()})`,
  '',
  `One step = forward, cross-entropy, backward and an SGD update; 31.0 M MACs per image forward. \`npx tsx bench/train-step.ts\`:`,
  `each runner takes two warm-up steps, then the runners take turns, one step each per round, for ${ROUNDS} rounds; PyTorch`,
  'runs in both memory layouts and each thread count in a process of its own. Ratios are of fastest steps, against',
  `PyTorch's faster layout. Load average ${loadavg()[0]!.toFixed(1)} at the end.`,
  '',
  '| runner | batch | fastest s per step | median s per step | images per second (fastest) |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) => `| ${r.name} | ${r.batch} | ${fastest(r.seconds).toFixed(3)} | ${median(r.seconds).toFixed(3)} | ${(r.batch / fastest(r.seconds)).toFixed(0)} |`,
  ),
  '',
];
const comparisons: string[] = [];
if (find('tfjs cpu', 32)) comparisons.push(`wasm vs cpu at batch 32: ${ratio(find('tfjs cpu', 32), find('tfjs wasm, 1 thread', 32))} faster.`);
for (const batch of BATCHES) {
  if (find('PyTorch', batch) === undefined) continue;
  comparisons.push(
    `At batch ${batch}, wasm 1 thread takes ${ratio(find('tfjs wasm, 1 thread', batch), find('PyTorch', batch, ', 1 thread'))} PyTorch's 1-thread step and 2 replicas ${ratio(find('tfjs wasm, 2 replicas', batch), find('PyTorch', batch, ', 2 threads'))} its 2-thread step.`,
  );
}
lines.push(comparisons.join(' '), '');
appendFileSync('bench/results.md', lines.join('\n'));
process.stdout.write(lines.join('\n'));
