// Where a ResNet-20 training step's time goes on the wasm backend: one replica's forward and backward pass on
// half of a batch of 128 (each of the two replicas' share), timed kernel by kernel with tf.profile after a
// warm-up, summed per kernel name. Prints a table, biggest first; writes nothing.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { compileSpec } from '../src/compile.js';
import { registerWasmGradients } from '../src/runtime/training/wasm-gradients.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { Replica } from '../src/train/replica.js';

const SPEC = process.argv[2] ?? 'specs/fashion/resnet20.json';
const SHARE = Number(process.argv[3] ?? 64);
const compiled = compileSpec(SPEC, readFileSync(SPEC));
if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
const graph = compiled.graph;

tf.enableProdMode();
await tf.setBackend('wasm');
registerWasmGradients();
const replica = new Replica(graph, DEFAULT_CONFIG.optimizer);
replica.initialise(graph, 0);
const imageSize = graph.inputShape.reduce((a, b) => a * b, 1);
const images = Float32Array.from({ length: SHARE * imageSize }, () => Math.random() * 2 - 1);
const labels = Int32Array.from({ length: SHARE }, () => Math.floor(Math.random() * 10));
for (let i = 0; i < 2; i++) replica.gradients(images, labels);
const wall: number[] = [];
for (let i = 0; i < 3; i++) {
  const start = performance.now();
  replica.gradients(images, labels);
  wall.push(performance.now() - start);
}
const profile = await tf.profile(() => void replica.gradients(images, labels));
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of profile.kernels) {
  const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  entry.ms += k.kernelTimeMs as number;
  entry.calls += 1;
  byKernel.set(k.name, entry);
}
const total = [...byKernel.values()].reduce((a, b) => a + b.ms, 0);
const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
console.log(`${SPEC}, ${SHARE} images, one thread: gradients() wall ${wall.map((w) => w.toFixed(0)).join(', ')} ms; kernels sum ${total.toFixed(0)} ms`);
console.log('| kernel | calls | ms | share |\n| --- | ---: | ---: | ---: |');
for (const [name, { ms, calls }] of rows) console.log(`| ${name} | ${calls} | ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(1)}% |`);
if (process.env.PROFILE_SHAPES) {
  const detail = new Map<string, number>();
  for (const k of profile.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    detail.set(key, (detail.get(key) ?? 0) + (k.kernelTimeMs as number));
  }
  for (const [key, ms] of [...detail.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${ms.toFixed(1)}\t${key}`);
}
replica.dispose();
