// `netspec train` as a user runs it (dist/cli.js, so `npm run build` first): usage errors, a missing dataset, a spec the
// dataset does not fit, Ctrl-C saving a checkpoint that --resume completes, and the help.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultFashionMnistDir } from '../src/data/fashion-mnist.js';
import { writeCheckpoint, type CheckpointState } from '../src/train/checkpoint.js';
import type { TrainConfig } from '../src/train/config.js';
import { TINY_FASHION_SPEC } from './support/tiny-fashion.js';

const cli = resolve('dist', 'cli.js');
const env = (extra: Record<string, string> = {}) => ({ ...process.env, NETSPEC_BACKEND: 'wasm', ...extra });

function netspec(args: string[], extraEnv: Record<string, string> = {}, cwd = process.cwd()) {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: env(extraEnv) });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const noStackTrace = (text: string) => assert.not.match(text, /\n\s+at /);

let root: string;
let tinySpec: string;
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'netspec-train-cli-'));
  tinySpec = join(root, 'tiny_fashion.json');
  writeFileSync(tinySpec, JSON.stringify(TINY_FASHION_SPEC, null, 2));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

test('usage errors exit 2 with a reason naming the problem', () => {
  const cases: [string[], RegExp][] = [
    [['train', tinySpec], /^netspec: train needs --data SOURCE: fashion-mnist, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR or an image folder DIR\n/],
    [['train', tinySpec, '--data', 'cifar10:'], /^netspec: --data cifar10: needs the folder of the CIFAR binary files after the colon\n/],
    [['train', tinySpec, '--data', 'x', '--val-split', '0.95'], /^netspec: --val-split takes a number above 0 to 0\.9, got "0\.95"\n/],
    [['train', tinySpec, '--data', 'fashion-mnist', '--lr=-1'], /^netspec: --lr takes a number above 0 to 100, got "-1"\n/],
    [['train', tinySpec, '--data', 'fashion-mnist', '--lr', '0'], /^netspec: --lr takes a number above 0 to 100, got "0"\n/],
    // Written with a space, -1 looks like an option to Node's parser, which refuses it as ambiguous and says how to write it.
    [['train', tinySpec, '--data', 'fashion-mnist', '--lr', '-1'], /^netspec: Option '--lr' argument is ambiguous\. Did you forget .* use '--lr=-XYZ'\.\n/],
    [['train', tinySpec, '--data', 'fashion-mnist', '--epochs', '1.5'], /^netspec: --epochs takes an integer from 1 to 10000, got "1\.5"\n/],
    [['train', tinySpec, '--data', 'fashion-mnist', '--resume', '--lr', '0.1'], /^netspec: --resume continues with the checkpoint's own settings; drop --lr\n/],
    [
      ['train', tinySpec, '--data', 'fashion-mnist', '--resume', '--epochs', '2', '--workers', '1'],
      /^netspec: --resume continues with the checkpoint's own settings; drop --epochs, --workers\n/,
    ],
    [['train', tinySpec, tinySpec, '--data', 'fashion-mnist'], /^netspec: train takes exactly one spec file, got 2\n/],
    [['train', '--data', 'fashion-mnist'], /^netspec: train takes exactly one spec file, got 0\n/],
    [
      ['train', tinySpec, '--data', 'fashion-mnist', '--schedule', 'linear'],
      /^netspec: --schedule takes onecycle, cosine, constant, poly, steps, got "linear"\n/,
    ],
    [['train', tinySpec, '--data', 'fashion-mnist', '--frobnicate'], /^netspec: .*--frobnicate/],
  ];
  for (const [args, message] of cases) {
    const run = netspec(args);
    assert.is(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.match(run.stderr, /\nRun 'netspec --help' for usage\.\n$/);
    assert.is(run.stdout, '');
    noStackTrace(run.stderr);
  }
});

test('a missing dataset exits 1 saying how to install it', () => {
  const run = netspec(['train', tinySpec, '--data', 'fashion-mnist', '--out', join(root, 'never')], { NETSPEC_FASHION_MNIST: '/nonexistent' });
  assert.is(run.status, 1, run.stderr);
  assert.match(run.stderr, /^netspec: \/nonexistent: the Fashion-MNIST folder does not exist; install it with `apt-get install dataset-fashion-mnist`/m);
  noStackTrace(run.stderr);
  assert.not.ok(existsSync(join(root, 'never')), 'nothing written');
});

test("--resume without a usable checkpoint exits 1 naming the file: missing, not a safetensors file, another model's", () => {
  const out = join(root, 'resume');
  mkdirSync(out);
  const path = join(out, 'checkpoint.safetensors');
  const resume = () => netspec(['train', tinySpec, '--data', 'fashion-mnist', '--out', out, '--resume']);
  const missing = resume();
  assert.is(missing.status, 1, missing.stderr);
  assert.is(missing.stderr, `netspec: cannot resume: ${path} does not exist\n`);
  writeFileSync(path, 'not a checkpoint');
  const garbage = resume();
  assert.is(garbage.status, 1, garbage.stderr);
  assert.match(garbage.stderr, new RegExp(`^netspec: ${path.replace(/[.]/g, '\\.')}: `));
  noStackTrace(garbage.stderr);
  const config: TrainConfig = {
    epochs: 1,
    batchSize: 8,
    optimizer: { name: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0, betas: [0.9, 0.999], epsilon: 1e-8 },
    learningRate: 0.1,
    schedule: 'constant',
    augmentation: { cropPadding: 0, horizontalFlip: false },
    seed: 0,
    trainLimit: 8,
    replicas: 1,
  };
  const state: CheckpointState = {
    format: 'netspec-checkpoint',
    version: 1,
    model: 'other_model',
    config,
    normalization: { mean: [0], std: [1] },
    position: { epoch: 0, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    history: [],
  };
  rmSync(path); // writeCheckpoint, like every netspec write, refuses to replace a file netspec did not write
  writeCheckpoint(path, { state, weights: [], optimizer: { steps: 0, slots: [] } });
  const foreign = resume();
  assert.is(foreign.status, 1, foreign.stderr);
  assert.is(foreign.stderr, `netspec: ${path} is a checkpoint of other_model, not of tiny_fashion\n`);
});

test('--resume of a checkpoint with a learning rate of "NaN", or of a spec widened since, exits 1 with one line, before any data is read', () => {
  const out = join(root, 'resume-bad');
  mkdirSync(out);
  const path = join(out, 'checkpoint.safetensors');
  const config = {
    epochs: 2,
    batchSize: 8,
    optimizer: { name: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0, betas: [0.9, 0.999], epsilon: 1e-8 },
    learningRate: 'NaN',
    schedule: 'constant',
    augmentation: { cropPadding: 0, horizontalFlip: false },
    seed: 0,
    trainLimit: 8,
    replicas: 1,
  };
  const state = {
    format: 'netspec-checkpoint',
    version: 1,
    model: 'tiny_fashion',
    config,
    normalization: { mean: [0.5], std: [0.25] },
    position: { epoch: 0, step: 1, lossSum: 2, correct: 1, seen: 8, seconds: 1 },
    history: [],
  };
  writeCheckpoint(path, { state: state as unknown as CheckpointState, weights: [], optimizer: { steps: 1, slots: [] } });
  // A dataset folder that does not exist: reached only if the checkpoint were accepted.
  const run = netspec(['train', tinySpec, '--data', 'fashion-mnist', '--out', out, '--resume'], { NETSPEC_FASHION_MNIST: join(root, 'no-data') });
  assert.is(run.status, 1, run.stderr);
  assert.is(run.stderr, `netspec: ${path} cannot be resumed from: its settings are unusable: the learning rate is "NaN"; it must be a number above 0 to 100\n`);
  rmSync(path);
  writeCheckpoint(path, {
    state: { ...(state as unknown as CheckpointState), config: { ...(config as unknown as TrainConfig), learningRate: 0.1 } },
    weights: [],
    optimizer: { steps: 1, slots: [] },
  });
  const empty = netspec(['train', tinySpec, '--data', 'fashion-mnist', '--out', out, '--resume'], { NETSPEC_FASHION_MNIST: join(root, 'no-data') });
  assert.is(empty.status, 1, empty.stderr);
  assert.match(
    empty.stderr,
    new RegExp(
      `^netspec: ${path.replace(/[.]/g, '\\.')} cannot be resumed from: its weights are not those of tiny_fashion as the spec describes it \\(was the spec changed\\?\\): missing conv1/kernel; .* \\(and \\d+ more\\)\n$`,
    ),
  );
});

test('--resume of a checkpoint that is a FIFO or a folder exits 1 naming it, without waiting on it', () => {
  const out = join(root, 'resume-odd');
  mkdirSync(out);
  const path = join(out, 'checkpoint.safetensors');
  for (const [make, reason] of [
    [() => spawnSync('mkfifo', [path]), 'it is not a regular file (a device, pipe or socket)'],
    [() => mkdirSync(path), 'it is a folder'],
  ] as const) {
    rmSync(path, { recursive: true, force: true });
    make();
    const run = spawnSync(process.execPath, [cli, 'train', tinySpec, '--data', 'fashion-mnist', '--out', out, '--resume'], {
      encoding: 'utf8',
      env: env(),
      timeout: 30_000,
    });
    assert.is(run.signal, null, 'did not hang');
    assert.is(run.status, 1, run.stderr);
    assert.is(run.stderr, `netspec: cannot read ${path}: ${reason}\n`);
  }
});

const realDir = defaultFashionMnistDir();
const realInstalled = existsSync(realDir);
const withData = realInstalled ? test : test.skip;
if (!realInstalled) console.log(`\n  train-cli.test.ts skipped the runs on Fashion-MNIST: ${realDir} does not exist (apt-get install dataset-fashion-mnist)\n`);

withData('a spec that does not take 28×28×1 images or give 10 classes exits 1 naming both shapes', () => {
  const colour = join(root, 'colour.json');
  writeFileSync(colour, JSON.stringify({ ...TINY_FASHION_SPEC, name: 'colour', input: { height: 32, width: 32, channels: 3 } }));
  const five = join(root, 'five.json');
  writeFileSync(five, JSON.stringify({ ...TINY_FASHION_SPEC, name: 'five', head: { type: 'classifier', classes: 5 } }));
  const backbone = join(root, 'backbone.json');
  writeFileSync(backbone, JSON.stringify({ ...TINY_FASHION_SPEC, name: 'backbone', head: { type: 'pool' } }));
  const expected: [string, string][] = [
    [colour, 'fashion-mnist has 28×28×1 images; colour takes 32×32×3'],
    [five, 'fashion-mnist has 10 classes but five outputs 5; its head should be a classifier of 10 classes'],
    [backbone, 'fashion-mnist has 10 classes but backbone outputs 16; its head should be a classifier of 10 classes'],
  ];
  for (const [spec, shapes] of expected) {
    const run = netspec(['train', spec, '--data', 'fashion-mnist', '--out', join(root, 'never')]);
    assert.is(run.status, 1, run.stderr);
    assert.is(run.stderr, `netspec: ${shapes}\n`);
  }
  assert.not.ok(existsSync(join(root, 'never')), 'nothing written');
});

withData('Ctrl-C saves a checkpoint and exits 130; --resume completes the run and exits 0', async () => {
  const out = join(root, 'run');
  const child = spawn(
    process.execPath,
    [cli, 'train', tinySpec, '--data', 'fashion-mnist', '--limit', '1024', '--batch', '32', '--epochs', '2', '--workers', '1', '--out', out],
    { env: env() },
  );
  let stderr = '';
  let interruptedAt = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr += text;
    // Without a terminal, progress comes as plain lines: "epoch 1/2 32/1024 images  loss …".
    const progress = /^epoch 1\/2 (\d+)\/1024 images {2}loss/m.exec(stderr);
    if (progress && !interruptedAt) {
      interruptedAt = progress[1]!;
      child.kill('SIGINT');
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null, string | null];
  assert.ok(interruptedAt, `no progress line: ${stderr}`);
  assert.is(code, 130, stderr);
  assert.match(stderr, /\nnetspec: stopping after this step to save a checkpoint \(Ctrl-C again to quit at once\)\n/);
  assert.match(stderr, /\nnetspec: stopped at epoch 1, step \d+ of 32; checkpoint saved to .*run\/checkpoint\.safetensors \(continue with --resume\)\n/);
  assert.ok(existsSync(join(out, 'checkpoint.safetensors')));
  assert.not.ok(existsSync(join(out, 'metrics.json')), 'the interrupted run is not finished');
  noStackTrace(stderr);

  const resumed = netspec(['train', tinySpec, '--data', 'fashion-mnist', '--out', out, '--resume']);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(
    resumed.stderr,
    /netspec: training tiny_fashion on 1024 images for 2 epochs of 32 steps \(batch 32, sgd, onecycle learning rate [\d.]+, 1 replica\); resuming at epoch 1, step \d+\n/,
  );
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(
    metrics.history.map((r: { epoch: number }) => r.epoch),
    [1, 2],
  );
  assert.is(metrics.config.trainLimit, 1024);
  assert.is(metrics.config.batchSize, 32);
  assert.is(metrics.config.replicas, 1);
  assert.ok(existsSync(join(out, 'weights', 'model.json')) && existsSync(join(out, 'curves.svg')));
});

withData('SIGTERM saves a checkpoint as Ctrl-C does and exits 143', async () => {
  const out = join(root, 'terminated');
  const child = spawn(
    process.execPath,
    [cli, 'train', tinySpec, '--data', 'fashion-mnist', '--limit', '512', '--batch', '32', '--epochs', '2', '--workers', '1', '--out', out],
    { env: env() },
  );
  let stderr = '';
  let sent = false;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr += text;
    if (!sent && /^epoch 1\/2 \d+\/512 images {2}loss/m.test(stderr)) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null, string | null];
  assert.ok(sent, `no progress line: ${stderr}`);
  assert.is(code, 143, stderr);
  assert.match(stderr, /\nnetspec: SIGTERM: stopping after this step to save a checkpoint \(SIGTERM again to quit at once\)\n/);
  assert.match(stderr, /\nnetspec: stopped at epoch 1, step \d+ of 16; checkpoint saved to .*terminated\/checkpoint\.safetensors \(continue with --resume\)\n/);
  assert.ok(existsSync(join(out, 'checkpoint.safetensors')));
  noStackTrace(stderr);
});

test('train --help exits 0 and lists every option', () => {
  const run = netspec(['train', '--help']);
  assert.is(run.status, 0);
  assert.match(run.stdout, /^Usage: netspec train <spec\.json> --data SOURCE \[options\]\n/);
  const options = [
    'data',
    'out',
    'resume',
    'epochs',
    'batch',
    'lr',
    'schedule',
    'optimizer',
    'momentum',
    'nesterov',
    'weight-decay',
    'augment',
    'size',
    'min-size',
    'max-size',
    'val-data',
    'splits',
    'clip-grad',
    'val-split',
    'strict',
    'max-pixels',
    'init',
    'freeze',
    'seed',
    'limit',
    'workers',
    'engine',
    'nproc',
    'nnodes',
    'node-rank',
    'rdzv-endpoint',
    'help',
  ];
  for (const option of options) assert.match(run.stdout, new RegExp(`\\n {2}(-h, )?--${option}\\b`), `--${option}`);
  // …and nothing the parser accepts goes unlisted.
  const listed = [...run.stdout.matchAll(/\n {2}(?:-h, )?--([a-z-]+)/g)].map((m) => m[1]);
  assert.equal(listed.sort(), [...options].sort());
  assert.match(
    netspec(['--help']).stdout,
    /\n {2}train {5}Train a spec's classifier, detector or segmenter on Fashion-MNIST, CIFAR, image folders, COCO, VOC or mask folders/,
  );
});

test.run();
