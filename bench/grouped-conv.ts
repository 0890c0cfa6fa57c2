// GroupedConv2D's depthwise-and-sum form against the plain per-group split → conv → concat, on the layer
// shapes of resnext50_32x4d, timed in the same run on each backend. Appends to bench/results.md.
import { appendFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../src/runtime/backends/node.js';
import { groupedConv2d } from '../src/runtime/ops/conv2d.js';
import { groupedConvReference } from '../test/reference/grouped-conv.js';

const RUNS = 9;
// [batch, size, channels, stride]: resnext50_32x4d's grouped 3×3 convolutions (32 groups) at 224×224.
const shapes = [
  [1, 56, 128, 1],
  [1, 56, 256, 2],
  [1, 28, 256, 1],
  [1, 14, 512, 1],
  [1, 7, 1024, 1],
  [8, 56, 128, 1],
] as const;
const GROUPS = 32;

function median(run: () => tf.Tensor): number {
  run().dispose();
  const times = Array.from({ length: RUNS }, () => {
    const started = performance.now();
    const output = run();
    output.dataSync();
    output.dispose();
    return performance.now() - started;
  }).sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)]!;
}

const lines: string[] = [];
for (const backend of ['wasm', 'cpu'] as BackendChoice[]) {
  await initBackend({ backend, log: () => {} });
  for (const [batch, size, channels, stride] of shapes) {
    if (backend === 'cpu' && batch > 1) continue;
    const x = tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const kernel = tf.randomNormal([3, 3, channels / GROUPS, channels], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    // Both with PyTorch's symmetric padding 1, applied explicitly as the generated code does at stride 2.
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]) as tf.Tensor4D;
    const ours = median(() => tf.tidy(() => groupedConv2d(padded, kernel, GROUPS, stride, 'valid', 1)));
    const split = median(() => groupedConvReference(x, kernel, GROUPS, stride, 1, 1));
    const macs = (Math.ceil(size / stride) ** 2 * 9 * (channels / GROUPS) * channels * batch) / 1e6;
    lines.push(
      `| ${backend} | ${batch}×${size}×${size}×${channels}, stride ${stride} | ${macs.toFixed(0)} | ${split.toFixed(1)} | ${ours.toFixed(1)} | ${(split / ours).toFixed(1)}× |`,
    );
    tf.dispose([x, kernel, padded]);
  }
}

const table = [
  `## Grouped convolution — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; tfjs ${tf.version.tfjs}. 3×3 kernels, ${GROUPS} groups, median of ${RUNS} runs after a warm-up.`,
  'GroupedConv2D (one depthwise convolution with multiplier out/groups, then a per-group sum) against per-group split → conv → concat.',
  '',
  '| backend | input | MMACs | split-conv-concat ms | GroupedConv2D ms | speed-up |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...lines,
  '',
];
appendFileSync('bench/results.md', `${table.join('\n')}\n`);
console.log(table.join('\n'));
