// The commands that run one size take an open-size spec at `--size HxW`, as if its spec fixed that size: predict,
// eval and verify of a classifier whose input size is open print exactly what the same spec with the size fixed
// prints with the same weights; export writes the same ONNX bytes; without --size each says what to give.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { defaultFashionMnistDir } from '../src/data/fashion-mnist.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { encodePng } from '../src/runtime/images/png.js';
import { modelWeights } from '../src/runtime/weights/load.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { TINY_FASHION_SPEC, tinyGraph } from './support/tiny-fashion.js';

const cli = resolve('dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'netspec-open-size-commands-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function netspec(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NETSPEC_BACKEND: 'wasm' } });
}

// The tiny classifier fixed at 28×28, and the same spec with its size open (its total stride is 2).
const { input, ...rest } = TINY_FASHION_SPEC;
writeFileSync(join(root, 'fixed.json'), JSON.stringify(TINY_FASHION_SPEC));
writeFileSync(join(root, 'open.json'), JSON.stringify({ ...rest, input: { channels: input.channels } }));

test.before(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  const model = buildModel(tinyGraph());
  writeWeightsFolder(join(root, 'weights'), TINY_FASHION_SPEC.name, modelWeights(model), []);
  model.dispose();
  // A 40 × 30 image of a gradient, which the classifier's centre crop resizes and cuts.
  const data = Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7) % 256);
  writeFileSync(join(root, 'image.png'), encodePng({ width: 40, height: 30, channels: 3, data }));
});

test('predict and verify of an open-size classifier at --size print what the spec fixed at that size prints', () => {
  const fixed = netspec('predict', 'fixed.json', 'image.png', '--weights', 'weights', '--runtime', 'tfjs');
  const open = netspec('predict', 'open.json', 'image.png', '--weights', 'weights', '--runtime', 'tfjs', '--size', '28x28');
  assert.is(fixed.status, 0, fixed.stderr);
  assert.is(open.status, 0, open.stderr);
  assert.is(open.stdout, fixed.stdout);
  const verified = netspec('verify', 'open.json', '--weights', 'weights', '--size', '28x28', '--json');
  assert.is(verified.status, 0, verified.stderr);
  const report = JSON.parse(verified.stdout) as { targets: { target: string; skipped?: string }[] };
  assert.ok(
    report.targets.some((target) => target.target.includes('tfjs') && target.skipped === undefined),
    verified.stdout,
  );
});

(existsSync(defaultFashionMnistDir()) ? test : test.skip)('eval of an open-size classifier at --size scores what the fixed spec scores', () => {
  const args = ['--weights', 'weights', '--data', 'fashion-mnist', '--limit', '64', '--json', '--runtime', 'tfjs'];
  const fixed = netspec('eval', 'fixed.json', ...args);
  const open = netspec('eval', 'open.json', ...args, '--size', '28x28');
  assert.is(fixed.status, 0, fixed.stderr);
  assert.is(open.status, 0, open.stderr);
  const withoutTime = (text: string) => ({ ...JSON.parse(text), seconds: undefined, imagesPerSecond: undefined });
  assert.equal(withoutTime(open.stdout), withoutTime(fixed.stdout));
});

test('export onnx of an open-size spec at --size writes the bytes of the spec fixed at that size', () => {
  const fixed = netspec('export', 'onnx', 'fixed.json', '--weights', 'weights', '--out', 'fixed.onnx');
  const open = netspec('export', 'onnx', 'open.json', '--weights', 'weights', '--out', 'open.onnx', '--size', '28x28');
  assert.is(fixed.status, 0, fixed.stderr);
  assert.is(open.status, 0, open.stderr);
  assert.equal(readFileSync(join(root, 'open.onnx')), readFileSync(join(root, 'fixed.onnx')));
});

test('without --size, each command that runs one size says what to give, in one line; --size on a fixed spec is a usage error', () => {
  const cases = [
    [['predict', 'open.json', 'image.png', '--weights', 'weights'], 'predict of a classifier'],
    [['eval', 'open.json', '--weights', 'weights', '--data', 'fashion-mnist'], 'eval of a classifier'],
    [['verify', 'open.json', '--weights', 'weights'], 'verify'],
    [['export', 'onnx', 'open.json', '--weights', 'weights', '--out', 'q.onnx', '--quantize', 'int8', '--calibrate', 'fashion-mnist'], 'int8 calibration'],
  ] as const;
  for (const [args, what] of cases) {
    const run = netspec(...args);
    assert.is(run.status, 1, `${args.join(' ')}: ${run.stderr}`);
    // The tiny classifier's one stride of 2 makes its multiple 2; a 3 × 3 convolution of padding 1 reads from a side of 1.
    assert.is(
      run.stderr.split('\n').find((line) => line.startsWith('netspec: ')),
      `netspec: ${what} runs one input size, and tiny_fashion leaves its size open: give --size HxW, a size it takes (multiples of 2 from 2 to 2048)`,
    );
  }
  const fixed = netspec('predict', 'fixed.json', 'image.png', '--weights', 'weights', '--size', '28x28');
  assert.is(fixed.status, 2);
  assert.match(fixed.stderr, /--size is for specs whose input size is open; fixed\.json fixes it at 28×28/);
});

test.run();
