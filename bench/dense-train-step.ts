// The time of one training step of a small RetinaNet and a small FCN at 256×256, batch 8: netspec on the tfjs wasm
// backend (one replica, and two replicas in two threads splitting the batch) against PyTorch on the CPU with 2
// threads, channels_last and contiguous, running the very network netspec emits for PyTorch. A step is the forward
// pass, torchvision's loss (RetinaNet.compute_loss; cross-entropy with ignore index 255 on out + 0.5 · aux), the
// backward pass and one SGD update (momentum 0.9, weight decay 1e-4, the detector's gradients clipped to norm 10:
// netspec's dense recipes). Peers alternate a step at a time after warm-up steps; PyTorch stays one process, driven
// over stdin/stdout (bench/pytorch-dense-step.py), and times its own steps. Then the streaming batch loader
// (decoding, augmentation, targets) is timed on the scene dataset, per image, beside the step with batches in memory.
// Appends a section to bench/results.md.
//
//   npx tsx bench/dense-train-step.ts [ROUNDS]    (7 by default; fewer is a trial, printed and not appended)
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { writeSceneDataset } from '../scripts/scenes.js';
import { openDetectionSource } from '../src/data/annotated-source.js';
import { categoryMapping } from '../src/data/categories.js';
import { openMaskFolder } from '../src/data/mask-folder.js';
import { compileSpec } from '../src/compile.js';
import { detectionConfig } from '../src/emit/detection-constant.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { mulberry32 } from '../src/random/mulberry32.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { imageTransformFor } from '../src/runtime/images/pipeline.js';
import { generateAnchors } from '../src/runtime/tasks/detection.js';
import { anchorTargets, type AnchorTargets } from '../src/train/dense/anchor-matching.js';
import { detectionBatch, segmentationBatch } from '../src/train/dense/dense-batches.js';
import type { OptimizerConfig } from '../src/train/optimizer.js';
import { ReplicaWorkers, type TrainingBatch } from '../src/train/parallel.js';
import { Replica } from '../src/train/replica.js';
import { trainStep } from '../src/train/train.js';
import { fastest, median } from './peers.js';

const PYTHON = '/usr/bin/python3';
const BATCH = 8;
const SIZE = 256;
const WARM_UP = 2;
const ROUNDS = Number(process.argv[2] ?? 7);
const LOADER_ROUNDS = 3;
/** The dense recipes' rates scaled to batch 8 (detection 0.01 per 16 images, segmentation 0.02 per 32): 0.005 both. */
const RATE = 0.005;
const CLIP = { detection: 10, segmentation: undefined } as const;
/** netspec's dense optimiser (train-dense.ts DENSE_OPTIMIZER), as PyTorch's side builds it too. */
const OPTIMIZER: OptimizerConfig = { name: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 1e-4, betas: [0.9, 0.999], epsilon: 1e-8 };

const stem = { type: 'conv', width: 32, kernelSize: 7, stride: 2, pool: 'max' } as const;
const SPECS = {
  detection: {
    name: 'bench_retinanet',
    input: { height: SIZE, width: SIZE, channels: 3 },
    stem,
    block: { type: 'basic' },
    stages: { widths: [32, 64, 128, 256], depths: [1, 1, 1, 1], strides: [1, 2, 2, 2] },
    neck: { type: 'fpn', channels: 64, from: ['C3', 'C4', 'C5'], extra: 'p6p7' },
    head: { type: 'retinanet', classes: 3, anchors: { sizes: [[32], [64], [128], [256], [512]], ratios: [[0.5, 1, 2]] } },
  },
  segmentation: {
    name: 'bench_fcn',
    input: { height: SIZE, width: SIZE, channels: 3 },
    stem,
    block: { type: 'bottleneck', expansion: 4 },
    stages: { widths: [16, 32, 64, 128], depths: [1, 1, 1, 1], strides: [1, 2, 2, 2], dilate: [false, false, true, true] },
    head: { type: 'fcn', classes: 4, aux: true },
  },
} as const;
type Kind = keyof typeof SPECS;

const work = mkdtempSync(join(tmpdir(), 'netspec-dense-step-'));

interface Compiled {
  readonly graph: AnalyzedGraph;
  readonly module: string;
  /** Multiply-accumulates of one image's forward pass, as the emitted module states them. */
  readonly macs: number;
}

function compile(kind: Kind): Compiled {
  const compiled = compileSpec(`${SPECS[kind].name}.json`, new TextEncoder().encode(JSON.stringify(SPECS[kind])));
  if (!compiled.ok) throw new Error(`${SPECS[kind].name} does not compile: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
  const module = join(work, `${SPECS[kind].name}.py`);
  writeFileSync(module, compiled.pytorchModule);
  return { graph: compiled.graph, module, macs: Number(/^MACS = (\d+)$/m.exec(compiled.pytorchModule)?.[1] ?? Number.NaN) };
}

/** PyTorch's process, one JSON line each way per request. */
class TorchPeer {
  private readonly child = spawn(PYTHON, ['bench/pytorch-dense-step.py'], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly waiting: ((line: string) => void)[] = [];
  readonly ready: Promise<{ torch: string; threads: number }>;

  constructor() {
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
    this.child.on('exit', (code) => {
      for (const resolve of this.waiting.splice(0)) resolve(JSON.stringify({ error: `PyTorch exited with ${code}` }));
    });
    this.ready = this.answer();
  }

  private answer<T>(): Promise<T> {
    return new Promise((resolve, reject) =>
      this.waiting.push((line) => {
        const reply = JSON.parse(line) as T & { error?: string };
        if (reply.error) reject(new Error(`PyTorch: ${reply.error}`));
        else resolve(reply);
      }),
    );
  }

  request<T>(command: object): Promise<T> {
    const reply = this.answer<T>();
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    return reply;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** All levels' anchors on the input, in the order of the head's outputs, as dense-train.ts lays them out. */
function anchorsOf(graph: AnalyzedGraph): Float32Array {
  const config = detectionConfig(graph);
  const levels = config.levels.map(([height, width]) => ({ height, width }));
  const perLevel = generateAnchors(SIZE, SIZE, levels, config.anchors);
  const anchors = new Float32Array(perLevel.reduce((n, level) => n + level.length, 0));
  perLevel.reduce((at, level) => (anchors.set(level, at), at + level.length), 0);
  return anchors;
}

interface BenchBatch {
  readonly batch: TrainingBatch;
  /** What PyTorch's side needs to build the same targets. */
  readonly torch: object;
  /** Seconds of netspec's target making for the batch (anchor matching; nothing for masks, which are the targets). */
  readonly targetSeconds: number;
}

/** A batch of random images with 1–4 random boxes of 3 classes per image, matched to the anchors as detectionBatch does. */
function detectionBench(graph: AnalyzedGraph, random: () => number): BenchBatch {
  const anchors = anchorsOf(graph);
  const images = Float32Array.from({ length: BATCH * SIZE * SIZE * 3 }, () => random() * 4 - 2);
  const drawn = Array.from({ length: BATCH }, () => {
    const count = 1 + Math.floor(random() * 4);
    const boxes = new Float32Array(count * 4);
    for (let i = 0; i < count; i++) {
      const [w, h] = [16 + random() * 144, 16 + random() * 144];
      const [x, y] = [random() * (SIZE - w), random() * (SIZE - h)];
      boxes.set([x, y, x + w, y + h], 4 * i);
    }
    return { boxes, labels: Int32Array.from({ length: count }, () => Math.floor(random() * 3)) };
  });
  // Timed warm: the fastest of three makings of the batch's targets.
  let targetSeconds = Number.POSITIVE_INFINITY;
  let targets: AnchorTargets[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    targets = drawn.map(({ boxes, labels }) => anchorTargets(anchors, boxes, labels));
    targetSeconds = Math.min(targetSeconds, (performance.now() - started) / 1000);
  }
  return {
    batch: { images, targets: { kind: 'detection', images: targets } },
    torch: { anchors: [...anchors], boxes: drawn.map((d) => [...d.boxes]), labels: drawn.map((d) => [...d.labels]) },
    targetSeconds,
  };
}

/** A batch of random images with masks of random classes (0–3), a tenth of the pixels 255 (not scored). */
function segmentationBench(random: () => number): BenchBatch {
  const images = Float32Array.from({ length: BATCH * SIZE * SIZE * 3 }, () => random() * 4 - 2);
  const masks = Uint8Array.from({ length: BATCH * SIZE * SIZE }, () => (random() < 0.1 ? 255 : Math.floor(random() * 4)));
  const path = join(work, 'masks.bin');
  writeFileSync(path, masks);
  return { batch: { images, targets: { kind: 'segmentation', count: BATCH, masks } }, torch: { masks: path }, targetSeconds: 0 };
}

interface Step {
  readonly seconds: number;
  readonly cpu: number;
  readonly loss: number;
}

interface Runner {
  readonly name: string;
  readonly side: 'netspec' | 'PyTorch';
  readonly step: () => Promise<Step>;
  readonly close: () => Promise<void>;
  readonly steps: Step[];
}

async function netspecRunner(name: string, graph: AnalyzedGraph, replicas: number, batch: TrainingBatch, clip: number | undefined): Promise<Runner> {
  const main = new Replica(graph, OPTIMIZER);
  main.initialise(graph, 0);
  const workers = replicas > 1 ? await ReplicaWorkers.start(replicas - 1, { graph, optimizer: OPTIMIZER, backend: 'wasm' }) : undefined;
  workers?.broadcast({ kind: 'weights', weights: main.weights() });
  const step = async (): Promise<Step> => {
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const results = await trainStep(main, workers, batch, RATE, clip);
    const cpu = process.cpuUsage(cpuStart);
    const seconds = (performance.now() - started) / 1000;
    const loss = results.reduce((s, r) => s + r.lossSum, 0) / results.reduce((n, r) => n + r.count, 0);
    return { seconds, cpu: (cpu.user + cpu.system) / 1e6, loss };
  };
  const close = async () => {
    await workers?.close();
    main.dispose();
  };
  return { name, side: 'netspec', step, close, steps: [] };
}

async function torchRunner(peer: TorchPeer, kind: Kind, compiled: Compiled, format: 'channels_last' | 'contiguous', bench: BenchBatch): Promise<Runner> {
  const name = `${kind}-${format}`;
  await peer.request({ op: 'load', name, module: compiled.module, kind, format, batch: BATCH, lr: RATE, clip: CLIP[kind] ?? null, seed: 0, ...bench.torch });
  return { name: `PyTorch 2 threads, ${format}`, side: 'PyTorch', step: () => peer.request<Step>({ op: 'step', name }), close: async () => {}, steps: [] };
}

interface ModelResult {
  readonly kind: Kind;
  readonly compiled: Compiled;
  readonly runners: readonly Runner[];
  readonly targetSeconds: number;
}

/** Warm-up steps, then rounds of one step per runner in turn (netspec and PyTorch alternating). */
async function timeModel(peer: TorchPeer, kind: Kind): Promise<ModelResult> {
  const compiled = compile(kind);
  const random = mulberry32(kind === 'detection' ? 1 : 2);
  const bench = kind === 'detection' ? detectionBench(compiled.graph, random) : segmentationBench(random);
  const clip = CLIP[kind];
  const runners = [
    await netspecRunner('netspec, tfjs wasm, 1 replica', compiled.graph, 1, bench.batch, clip),
    await torchRunner(peer, kind, compiled, 'channels_last', bench),
    await netspecRunner('netspec, tfjs wasm, 2 replicas in 2 threads', compiled.graph, 2, bench.batch, clip),
    await torchRunner(peer, kind, compiled, 'contiguous', bench),
  ];
  try {
    for (let round = -WARM_UP; round < ROUNDS; round++) {
      for (const runner of runners) {
        const step = await runner.step();
        if (round >= 0) runner.steps.push(step);
        process.stderr.write(
          `${kind} ${round < 0 ? 'warm-up' : `round ${round + 1}`}: ${runner.name} ${step.seconds.toFixed(3)} s, loss ${step.loss.toFixed(4)}\n`,
        );
      }
    }
  } finally {
    for (const runner of runners) await runner.close();
  }
  return { kind, compiled, runners, targetSeconds: bench.targetSeconds };
}

interface LoaderResult {
  readonly kind: Kind;
  /** Seconds per image of each pass over the dataset. */
  readonly perImage: number[];
}

/** Passes over the scene dataset's training images in batches of 8, detection and segmentation alternating. */
async function timeLoaders(): Promise<{ results: LoaderResult[]; images: number }> {
  const scenes = writeSceneDataset(join(work, 'scenes'), { train: 64, val: 8, width: 320, height: 240 });
  const detection = openDetectionSource({ kind: 'coco', imagesDir: undefined, annotations: scenes.coco.train.replace(/^coco:/, '') });
  const segmentation = openMaskFolder(scenes.masks.replace(/^masks:/, ''), { split: 'train' });
  const graphs = { detection: compile('detection').graph, segmentation: compile('segmentation').graph };
  const anchors = anchorsOf(graphs.detection);
  const detectionBatching = {
    dataset: detection,
    mapping: categoryMapping(detection.categories, 3, detection.source),
    anchorsAt: () => anchors,
    // The detection recipe's default (--augment flip); segmentation takes torchvision's reference recipe.
    augmentation: { horizontalFlip: true, scaleRange: [1, 1] as const },
  };
  const segmentationBatching = { dataset: segmentation, classes: 4, augment: true };
  const count = detection.length;
  const loaders: Record<Kind, (indices: Int32Array, random: () => number) => Promise<TrainingBatch>> = {
    detection: (indices, random) => detectionBatch(detectionBatching, indices, imageTransformFor(graphs.detection), random),
    segmentation: (indices, random) => segmentationBatch(segmentationBatching, indices, imageTransformFor(graphs.segmentation), random),
  };
  const results: LoaderResult[] = [
    { kind: 'detection', perImage: [] },
    { kind: 'segmentation', perImage: [] },
  ];
  // One pass each first to warm up (the decoders' code compiled), then the timed rounds.
  for (let round = -1; round < LOADER_ROUNDS; round++) {
    for (const result of results) {
      const random = mulberry32(round + 10);
      const started = performance.now();
      for (let at = 0; at < count; at += BATCH)
        await loaders[result.kind](
          Int32Array.from({ length: Math.min(BATCH, count - at) }, (_, i) => at + i),
          random,
        );
      const perImage = (performance.now() - started) / 1000 / count;
      if (round >= 0) result.perImage.push(perImage);
      process.stderr.write(`loader ${result.kind} ${round < 0 ? 'warm-up' : `round ${round + 1}`}: ${(perImage * 1000).toFixed(1)} ms an image\n`);
    }
  }
  return { results, images: count };
}

const loadAtStart = loadavg();
const started = new Date();
await initBackend({ backend: 'wasm', log: () => {} });
tf.enableProdMode();
const peer = new TorchPeer();
const { torch: torchVersion } = await peer.ready;
let models: ModelResult[];
let loaders: Awaited<ReturnType<typeof timeLoaders>>;
try {
  models = [await timeModel(peer, 'detection'), await timeModel(peer, 'segmentation')];
  loaders = await timeLoaders();
} finally {
  peer.close();
}
const loadAtEnd = loadavg();
rmSync(work, { recursive: true, force: true });

const s = (x: number) => x.toFixed(3);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const title = { detection: 'RetinaNet', segmentation: 'FCN' } as const;
const lines = [
  '',
  `## Dense training step against PyTorch: a small RetinaNet and a small FCN, 256×256, batch 8 (${started.toISOString().slice(0, 10)})`,
  '',
  `\`npx tsx bench/dense-train-step.ts\`: one step = forward, torchvision's loss (RetinaNet.compute_loss; cross-entropy with ignore index 255 on out + 0.5 · aux), ` +
    `backward and an SGD update (momentum 0.9, weight decay 1e-4, lr ${RATE}; the detector's gradients clipped to norm 10), the network netspec emits on both sides ` +
    `(tfjs for netspec, its PyTorch module for PyTorch ${torchVersion}). ${WARM_UP} warm-up steps each, then ${ROUNDS} rounds of one step per runner in turn ` +
    `(netspec, PyTorch channels_last, netspec 2 replicas, PyTorch contiguous); PyTorch is one process driven over stdin/stdout and times its own step. ` +
    `RetinaNet: conv 7×7/2 stem of 32 with max pool, basic blocks [32, 64, 128, 256], FPN of 64 on C3–C5 with P6/P7, 3 classes, ` +
    `3 anchors a location (one size, three ratios) on 5 levels, 4,092 in all; 1–4 random boxes an image. FCN: the same stem, bottleneck blocks ×4 of [16, 32, 64, 128], ` +
    `last two stages dilated, 4 classes with aux; random masks, a tenth 255.`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}; Node ${process.version}, tfjs ${tf.version.tfjs} (wasm). Load average (1, 5, 15 min) ` +
    `${loadAtStart.map((l) => l.toFixed(2)).join(', ')} at the start, ${loadAtEnd.map((l) => l.toFixed(2)).join(', ')} at the end, on 2 cores shared with other work.`,
  '',
  '| model | runner | fastest s | median s | images/s (fastest) | processor s (median) | fastest ÷ PyTorch channels_last fastest |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
];
for (const model of models) {
  const reference = fastest(model.runners[1]!.steps.map((x) => x.seconds));
  for (const runner of model.runners) {
    const wall = runner.steps.map((x) => x.seconds);
    lines.push(
      `| ${title[model.kind]} (${(model.compiled.macs / 1e9).toFixed(2)} GMACs an image) | ${runner.name} | ${s(fastest(wall))} | ${s(median(wall))} | ` +
        `${(BATCH / fastest(wall)).toFixed(1)} | ${s(median(runner.steps.map((x) => x.cpu)))} | ${ratio(fastest(wall), reference)} |`,
    );
  }
}
lines.push('');
const summaries = models.map((model) => {
  const best = (name: string) => fastest(model.runners.find((r) => r.name === name)!.steps.map((x) => x.seconds));
  const one = best('netspec, tfjs wasm, 1 replica');
  const two = best('netspec, tfjs wasm, 2 replicas in 2 threads');
  const last = best('PyTorch 2 threads, channels_last');
  const contiguous = best('PyTorch 2 threads, contiguous');
  const torchBest = Math.min(last, contiguous);
  const losses = model.runners.map((r) => `${r.steps[0]!.loss.toFixed(3)}→${r.steps.at(-1)!.loss.toFixed(3)}`).join(', ');
  return (
    `${title[model.kind]}, fastest against fastest: netspec 1 replica ${ratio(one, torchBest)} and 2 replicas ${ratio(two, torchBest)} PyTorch's best ` +
    `(${last <= contiguous ? 'channels_last' : 'contiguous'}); speed-up of 2 replicas over 1: ${ratio(one, two)}; PyTorch contiguous against channels_last: ${ratio(contiguous, last)}. ` +
    `Losses over the timed rounds (first→last, in the table's order): ${losses}.` +
    (model.kind === 'detection'
      ? ` netspec makes its anchor targets in the loader, outside the step (${((model.targetSeconds / BATCH) * 1000).toFixed(1)} ms an image here); PyTorch's step matches the anchors itself.`
      : '')
  );
});
lines.push(...summaries.flatMap((text) => [text, '']));

const stepPerImage = (kind: Kind, name: string) =>
  median(
    models
      .find((m) => m.kind === kind)!
      .runners.find((r) => r.name === name)!
      .steps.map((x) => x.seconds),
  ) / BATCH;
lines.push(
  `The streaming batch loader (src/train/dense/dense-batches.ts) over the scene dataset, ${loaders.images} training images of 320×240 (a third PNG, the rest JPEG) ` +
    `written by scripts/scenes.ts, in batches of ${BATCH}: reading, decoding, augmenting (detection: flips; segmentation: torchvision's reference recipe), ` +
    `normalising and making targets; one warm-up pass, then ${LOADER_ROUNDS} passes, alternating the tasks. Beside it, the step with its batch in memory ` +
    `(the same Float32Array every step: the medians above, per image). dense-train.ts awaits each batch before its step, so the load adds to the step.`,
  '',
  '| task | loader ms an image (fastest) | (median) | loader images/s (median) | step ms an image, 1 replica | 2 replicas | loader ÷ 2-replica step |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const loader of loaders.results) {
  const one = stepPerImage(loader.kind, 'netspec, tfjs wasm, 1 replica');
  const two = stepPerImage(loader.kind, 'netspec, tfjs wasm, 2 replicas in 2 threads');
  const load = median(loader.perImage);
  lines.push(
    `| ${loader.kind} (${title[loader.kind]}) | ${(fastest(loader.perImage) * 1000).toFixed(1)} | ${(load * 1000).toFixed(1)} | ${(1 / load).toFixed(0)} | ` +
      `${(one * 1000).toFixed(0)} | ${(two * 1000).toFixed(0)} | ${((100 * load) / two).toFixed(1)}% |`,
  );
}
lines.push('');
// A trial of fewer rounds than the method asks for is printed only.
if (ROUNDS >= 7) appendFileSync('bench/results.md', lines.join('\n'));
process.stdout.write(lines.join('\n'));
