// The PyTorch engine: torchrun trains the emitted module; two processes (gloo, global BatchNorm) and two machines
// on 127.0.0.1 (c10d rendezvous) end with the weights one process ends with; a resumed run ends where an
// uninterrupted one does; the weights load into the generated tfjs module and classify as they did in PyTorch.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpecFile } from '../src/project/compile-files.js';
import type { ImageSet } from '../src/data/image-set.js';
import { defaultFashionMnistDir, loadFashionMnist } from '../src/data/fashion-mnist.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../src/train/config.js';
import type { ProgressReporter } from '../src/train/progress.js';
import { isExecutable, TorchEngineError, torchRunFiles, trainWithTorch, type TorchLaunch } from '../src/train/torch-engine.js';
import { readSafetensors } from '../src/weights/safetensors.js';

const SPEC = 'specs/fashion/resnet20.json';
const haveTorch = isExecutable('torchrun');
const haveData = existsSync(defaultFashionMnistDir());
const define = haveTorch && haveData ? test : test.skip;
if (!haveTorch || !haveData) console.log(`\n  torch-engine.test.ts skipped: it needs torchrun (python3-torch) and Fashion-MNIST (dataset-fashion-mnist)\n`);

const folder = mkdtempSync(join(tmpdir(), 'netspec-torch-'));
// Two epochs of one step each: 128 images in a batch of 128, augmentation on, so that crops and flips are shared too.
const config: TrainConfig = {
  ...DEFAULT_CONFIG,
  epochs: 2,
  batchSize: 128,
  trainLimit: 128,
  learningRate: 0.02,
  schedule: 'constant',
  augmentation: { cropPadding: 2, horizontalFlip: true },
};
/**
 * Processes sum a batch's gradients in another order than one process does, and training amplifies rounding: after
 * these two steps two processes part from one by 1.1e-4 of the largest weight, where one process on one thread
 * parts from itself on two by 4.2e-5 already (measured). Statistics per process instead of per global batch, or
 * gradients scaled by the wrong count, part them by more than 1e-2.
 */
const DISTRIBUTED_TOLERANCE = 1e-3;
let graph: AnalyzedGraph;
let data: { train: ImageSet; test: ImageSet; classNames: readonly string[] };

const TEST_IMAGES = 100;
const subset = (set: ImageSet, count: number): ImageSet => ({
  ...set,
  count,
  images: set.images.subarray(0, count * 784),
  labels: set.labels.subarray(0, count),
});

test.before(async () => {
  if (!haveTorch || !haveData) return;
  await initBackend({ backend: 'wasm', log: () => {} });
  const compiled = compileSpecFile(SPEC);
  if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
  graph = compiled.graph;
  const fashion = loadFashionMnist();
  data = { train: subset(fashion.train, 128), test: subset(fashion.test, TEST_IMAGES), classNames: fashion.classNames };
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

const quiet: ProgressReporter = { step() {}, end() {} };

async function run(
  name: string,
  launch: Partial<TorchLaunch>,
  extra: { resume?: boolean; stopAfterEpochs?: number; progress?: ProgressReporter; log?: (line: string) => void } = {},
) {
  const compiled = compileSpecFile(SPEC);
  if (!compiled.ok) throw new Error('no module');
  return trainWithTorch({
    graph,
    module: compiled.pytorchModule,
    data,
    config,
    out: join(folder, name),
    launch: { nproc: 1, nnodes: 1, nodeRank: 0, ...launch },
    log: () => {},
    progress: quiet,
    ...extra,
  });
}

/** The largest difference between two state dicts' float tensors, relative to the largest value. */
function stateDifference(a: string, b: string): number {
  const [left, right] = [a, b].map((name) => readSafetensors(name, readFileSync(torchRunFiles(join(folder, name)).state)).tensors);
  let difference = 0;
  let scale = 0;
  for (const [key, tensor] of left!) {
    const other = right!.get(key)!.data;
    tensor.data.forEach((value, i) => {
      difference = Math.max(difference, Math.abs(value - other[i]!));
      scale = Math.max(scale, Math.abs(value));
    });
  }
  return difference / scale;
}

/** Rewrites a checkpoint's JSON state, as someone editing the run folder would. */
const EDIT_METADATA = `import json, struct, sys
raw = open(sys.argv[1], "rb").read()
length = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8 : 8 + length])
header["__metadata__"]["netspec.checkpoint"] = sys.argv[2]
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + length :])`;

/** A resume that must be refused before torchrun starts, with one line matching `message`. */
async function refused(name: string, message: RegExp, model = graph): Promise<void> {
  const compiled = compileSpecFile(SPEC);
  if (!compiled.ok) throw new Error('no module');
  try {
    await trainWithTorch({
      graph: model,
      module: compiled.pytorchModule,
      data,
      config,
      out: join(folder, name),
      resume: true,
      launch: { nproc: 1, nnodes: 1, nodeRank: 0 },
      log: () => {},
      progress: quiet,
    });
  } catch (error) {
    assert.instance(error, TorchEngineError);
    assert.match((error as Error).message, message, (error as Error).message);
    assert.not.match((error as Error).message, /\n/);
    return;
  }
  assert.unreachable(`resuming ${name} was not refused`);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

define(
  "one process trains, showing each step and epoch as netspec's trainer does, and its weights load into the generated tfjs module and classify as in PyTorch",
  async () => {
    const steps: Parameters<ProgressReporter['step']>[0][] = [];
    const lines: string[] = [];
    const result = await run('single', {}, { progress: { step: (step) => void steps.push(step), end() {} }, log: (line) => lines.push(line) });
    assert.ok(result.written);
    const files = torchRunFiles(join(folder, 'single'));
    const history = (JSON.parse(readFileSync(files.metrics, 'utf8')) as { history: { trainLoss: number; trainAccuracy: number }[] }).history;
    // Two epochs of one step of 128 images: each step's running figures are its epoch's.
    assert.equal(
      steps.map(({ epoch, epochs, done, total }) => ({ epoch, epochs, done, total })),
      [1, 2].map((epoch) => ({ epoch, epochs: 2, done: 128, total: 128 })),
    );
    assert.equal(
      steps.map((step) => [step.loss, step.accuracy]),
      history.map((record) => [record.trainLoss, record.trainAccuracy]),
    );
    assert.ok(steps.every((step) => step.imagesPerSecond > 0));
    assert.match(
      lines.filter((line) => line.startsWith('epoch ')).join('\n'),
      /^epoch 1\/2 {2}train loss \d\.\d{4} acc \d+\.\d\d% {2}test loss \d+\.\d{4} acc \d+\.\d\d% {2}\d+:\d\d\nepoch 2\/2 {2}/,
    );
    const metrics = JSON.parse(readFileSync(files.metrics, 'utf8')) as Record<string, unknown> & { testAccuracy: number; history: unknown[]; config: object };
    assert.equal(
      { engine: metrics.engine, device: metrics.device, processes: metrics.processes, machines: metrics.machines },
      { engine: 'torch', device: 'cpu', processes: 1, machines: 1 },
    );
    assert.not.ok('replicas' in metrics.config, 'no replica count of the other engine');
    assert.is(metrics.history.length, 2);
    assert.ok(readFileSync(files.curves, 'utf8').includes('<svg'));
    const generated = (await import('../generated/fashion/resnet20.ts')) as { createModel(options: { weights: string }): Promise<tf.LayersModel> };
    const model = await generated.createModel({ weights: files.weights });
    const manifest = JSON.parse(readFileSync(join(files.weights, 'model.json'), 'utf8')) as { input: { mean: number[]; std: number[] }; classes: string[] };
    assert.equal(manifest.classes, [...data.classNames]);
    const { mean, std } = manifest.input;
    const logits = tf.tidy(
      () => model.predict(tf.tensor4d(data.test.images, [TEST_IMAGES, 28, 28, 1], 'int32').toFloat().div(255).sub(mean[0]!).div(std[0]!)) as tf.Tensor,
    );
    const predicted = (await logits.argMax(1).data()) as Int32Array;
    const correct = predicted.reduce((n, label, i) => n + (label === data.test.labels[i] ? 1 : 0), 0);
    // The same images, classified by the same weights in two libraries: the same count correct.
    assert.is(correct / TEST_IMAGES, metrics.testAccuracy);
    tf.dispose(logits);
    model.dispose();
  },
);

define('two processes (DistributedDataParallel, gloo) end with the weights of one process with the same global batch', async () => {
  await run('two-processes', { nproc: 2 });
  const difference = stateDifference('single', 'two-processes');
  assert.ok(difference <= DISTRIBUTED_TOLERANCE, `relative max |Δ| ${difference.toExponential(2)}`);
  const metrics = JSON.parse(readFileSync(torchRunFiles(join(folder, 'two-processes')).metrics, 'utf8')) as Record<string, unknown>;
  assert.equal({ engine: metrics.engine, processes: metrics.processes, machines: metrics.machines }, { engine: 'torch', processes: 2, machines: 1 });
  // The model is channels_last like its inputs, so DDP's gradient buckets match every gradient's strides (the 1×1
  // downsample kernels' among them) and PyTorch has no layout warning to give; torchrun keeps each process's stderr.
  const logs = spawnSync('grep', ['-rl', 'Grad strides do not match', join(folder, 'two-processes', 'torchrun-logs')], { encoding: 'utf8' });
  assert.is(logs.stdout, '', `warned in ${logs.stdout}`);
});

define('two machines of one process each, meeting through a c10d rendezvous on 127.0.0.1, agree too', async () => {
  const endpoint = `127.0.0.1:${await freePort()}`;
  const [first, second] = await Promise.all([
    run('node0', { nnodes: 2, nodeRank: 0, rdzvEndpoint: endpoint }),
    run('node1', { nnodes: 2, nodeRank: 1, rdzvEndpoint: endpoint }),
  ]);
  assert.is(Number(first.written) + Number(second.written), 1, 'exactly one machine writes the weights');
  const difference = stateDifference('single', first.written ? 'node0' : 'node1');
  assert.ok(difference <= DISTRIBUTED_TOLERANCE, `relative max |Δ| ${difference.toExponential(2)}`);
  const metrics = JSON.parse(readFileSync(torchRunFiles(join(folder, first.written ? 'node0' : 'node1')).metrics, 'utf8')) as Record<string, unknown>;
  assert.equal({ processes: metrics.processes, machines: metrics.machines }, { processes: 2, machines: 2 });
});

const marker = join(folder, 'payload-ran');

// One stopped run serves both resume tests, for each torchrun start costs seconds of importing PyTorch.
define(
  "a run stopped after its first epoch and resumed ends with the uninterrupted run's weights, running no model.py it finds in the run folder",
  async () => {
    const stopped = await run('resumed', {}, { stopAfterEpochs: 1 });
    assert.not.ok(stopped.written);
    const files = torchRunFiles(join(folder, 'resumed'));
    assert.ok(existsSync(files.checkpoint));
    // A module that would leave a marker when imported: the resumed run must import the spec's module instead.
    appendFileSync(files.module, `\nopen(${JSON.stringify(marker)}, "w").close()\n`);
    const resumed = await run('resumed', {}, { resume: true });
    assert.ok(resumed.written);
    assert.is(stateDifference('single', 'resumed'), 0);
    assert.not.ok(existsSync(marker), 'the module found in the run folder was imported');
    const compiled = compileSpecFile(SPEC);
    if (!compiled.ok) throw new Error(`${SPEC} does not compile`);
    assert.is(readFileSync(files.module, 'utf8'), compiled.pytorchModule);
  },
);

define('resume refuses, before torchrun starts, a checkpoint that calls code, numbers that cannot be trained with, and another spec', async () => {
  const files = torchRunFiles(join(folder, 'resumed'));
  // The checkpoint is safetensors with JSON metadata, never a pickle: one that calls os.system is refused unread.
  const checkpoint = readFileSync(files.checkpoint);
  const write = spawnSync('/usr/bin/python3', [
    '-c',
    `import os, pickle\nclass Payload:\n    def __reduce__(self):\n        return (os.system, ("touch ${marker}",))\npickle.dump({"model": Payload()}, open(${JSON.stringify(files.checkpoint)}, "wb"))`,
  ]);
  assert.is(write.status, 0, String(write.stderr));
  await refused('resumed', /checkpoint\.safetensors cannot be resumed from: the header length \d+ (is above|runs past)/);
  // Numbers that parse but cannot be trained with, and another spec's checkpoint, are one line each before torchrun starts.
  const edited = (state: string) => {
    writeFileSync(files.checkpoint, checkpoint);
    const edit = spawnSync('/usr/bin/python3', ['-c', EDIT_METADATA, files.checkpoint, state], { encoding: 'utf8' });
    assert.is(edit.status, 0, edit.stderr);
  };
  edited('{"epoch": 1, "history": [{}], "param_groups": [{"lr": NaN, "params": [0]}]}');
  await refused('resumed', /cannot be resumed from: its state is not valid JSON/);
  edited('{"epoch": 1, "history": [{}], "param_groups": [{"lr": -0.1, "params": [0]}]}');
  await refused('resumed', /cannot be resumed from: the optimiser's lr is -0\.1/);
  edited('{"epoch": 7, "history": [{}], "param_groups": [{"lr": 0.1, "params": [0]}]}');
  await refused('resumed', /cannot be resumed from: its epoch 7 is not one of this run's 1 to 2/);
  writeFileSync(files.checkpoint, checkpoint);
  const spec = JSON.parse(readFileSync(SPEC, 'utf8')) as { stages: { widths: number[] } };
  spec.stages.widths[2] = 128;
  writeFileSync(join(folder, 'widened.json'), JSON.stringify(spec));
  const widened = compileSpecFile(join(folder, 'widened.json'));
  assert.ok(widened.ok);
  await refused(
    'resumed',
    /cannot be resumed from: it does not hold resnet20_fashion: layer3\.0\.conv1\.weight is \[64, 32, 3, 3\] but layer3\.0\.conv1 expects \[128, 32, 3, 3\] \(and \d+ more\)/,
    widened.graph,
  );
  assert.not.ok(existsSync(marker), "the checkpoint's payload ran");
});

define('a second start into a folder with a PyTorch checkpoint is refused, naming --resume', async () => {
  try {
    await run('single', {});
    assert.unreachable('started over a finished run');
  } catch (error) {
    assert.match((error as Error).message, /holds a PyTorch run already; continue it with --resume/);
  }
});

const netspec = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', env });

test('the command line: options of one engine refused with the other, in one line with status 2', () => {
  const cases: [string[], RegExp][] = [
    [['--engine', 'torch', '--workers', '2'], /^netspec: --engine torch does not take --workers\n/],
    [['--engine', 'torch', '--augment', 'resized-crop'], /^netspec: --engine torch takes --augment none, crop or crop-flip\n/],
    [['--nproc', '2'], /^netspec: --nproc set up --engine torch\n/],
    [['--engine', 'torch', '--nnodes', '2'], /^netspec: --nnodes above 1 needs --rdzv-endpoint HOST:PORT/],
    [
      ['--engine', 'torch', '--nnodes', '2', '--node-rank', '2', '--rdzv-endpoint', '127.0.0.1:29400'],
      /^netspec: --node-rank must be below --nnodes \(2\), got 2\n/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = netspec(['train', SPEC, '--data', 'fashion-mnist', ...args]);
    assert.is(result.status, 2, args.join(' '));
    assert.match(result.stderr, message);
  }
});

(haveData ? test : test.skip)('without torchrun, one line says how to get PyTorch', () => {
  // The command runs by node's absolute path; a PATH of an empty folder finds no torchrun.
  const emptyPath = mkdtempSync(join(folder, 'path-'));
  const result = netspec(['train', SPEC, '--data', 'fashion-mnist', '--engine', 'torch', '--out', join(folder, 'no-torch')], {
    ...process.env,
    PATH: emptyPath,
  });
  assert.is(result.status, 1);
  assert.match(
    result.stderr,
    /^netspec: --engine torch runs torchrun, which is not installed; install PyTorch \(Debian: apt-get install python3-torch; elsewhere: pip install torch\), which provides torchrun\n$/,
  );
});

test.run();
