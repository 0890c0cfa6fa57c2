// `netspec train` on an image folder and `netspec eval` as a user runs them (dist/cli.js, so `npm run build` first),
// eval's figures worked by hand, the same figures from onnxruntime and TensorFlow.js, and the bad inputs of both: one
// line each, exit 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import onnxProto from 'onnx-proto';
import { analyzeSpecFile } from '../src/commands/print-diagnostics.js';
import { openRunner, type BatchOutput } from '../src/evaluate/runner.js';
import { mulberry32 } from '../src/random/mulberry32.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { highestClass } from '../src/runtime/tasks/classification.js';
import { progressLine } from '../src/terminal/progress.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { evaluationReport, formatReport, type EvaluationReport } from '../src/train/evaluation.js';
import { SHAPES, writeShapeFolder } from './support/shape-folder.js';
import { TINY_FASHION_SPEC } from './support/tiny-fashion.js';

const cli = resolve('dist', 'cli.js');
function netspec(args: string[]) {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NETSPEC_BACKEND: 'wasm' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
const noStackTrace = (text: string) => assert.not.match(text, /\n\s+at /);

let root: string;
let spec: string;
let shapes: string;
/** The weights folder the training test wrote, which the engines' comparison reuses. */
let trainedWeights: string | undefined;
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'netspec-eval-cli-'));
  spec = join(root, 'shapes.json');
  writeFileSync(
    spec,
    JSON.stringify({ ...TINY_FASHION_SPEC, name: 'shapes', input: { height: 16, width: 16, channels: 3 }, head: { type: 'classifier', classes: 3 } }),
  );
  shapes = join(root, 'shapes');
  writeShapeFolder(shapes, 40, 11, 'train');
  writeShapeFolder(shapes, 8, 12, 'val');
});
test.after(() => rmSync(root, { recursive: true, force: true }));

test('evaluationReport and formatReport on six images, worked by hand', () => {
  // True:      a a a b b c      Predicted: a b a b b a
  // a: 3 images, 2 right (one as b); b: 2 of 2; c: 1 image, taken for a. Correct 2 + 2 + 0 = 4 of 6.
  const report = evaluationReport([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 1, 0], ['a', 'b', 'c']);
  assert.equal(report.confusion, [
    [2, 1, 0],
    [0, 2, 0],
    [1, 0, 0],
  ]);
  assert.is(report.correct, 4);
  assert.is(report.accuracy, 4 / 6);
  assert.equal(
    report.classes.map((c) => [c.name, c.images, c.correct, c.accuracy]),
    [
      ['a', 3, 2, 2 / 3],
      ['b', 2, 2, 1],
      ['c', 1, 0, 0],
    ],
  );
  assert.equal(evaluationReport([0], [0], ['a', 'b']).classes[1], { name: 'b', images: 0, correct: 0, accuracy: null });
  // ImageNet's 1000 classes: a million cells (regression: "Maximum call stack size exceeded" in formatReport).
  const imagenet = formatReport(
    evaluationReport(
      [999, 3],
      [999, 4],
      Array.from({ length: 1000 }, (_, i) => `n${i}`),
    ),
  );
  assert.ok(imagenet.startsWith('accuracy 50.00% (1 of 2)\n'));
  assert.is(
    formatReport(report),
    [
      'accuracy 66.67% (4 of 6)',
      '',
      'class  images  correct  accuracy',
      'a           3        2    66.67%',
      'b           2        2   100.00%',
      'c           1        0     0.00%',
      '',
      'confusion matrix: rows are the true classes, columns the predicted ones, in the order above',
      'a         2    1    0',
      'b         0    2    0',
      'c         1    0    0',
      '',
    ].join('\n'),
  );
});

test('train on an image folder saves its class names and normalisation; eval prints, writes SVG and JSON that agree', () => {
  const out = join(root, 'run');
  const trained = netspec(['train', spec, '--data', shapes, '--epochs', '4', '--batch', '16', '--lr', '0.05', '--workers', '1', '--out', out]);
  assert.is(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /netspec: .*shapes: 120 training and 24 validation images in 3 classes \(validation: .*val\)\n/);
  const manifest = JSON.parse(readFileSync(join(out, 'weights', 'model.json'), 'utf8')) as { classes: string[]; input: { mean: number[]; std: number[] } };
  assert.equal(manifest.classes, ['disc', 'hbar', 'vbar']);
  assert.is(manifest.input.mean.length, 3);

  // auto runs onnxruntime, installed here, and says so; --runtime tfjs gives the same figures on TensorFlow.js.
  const svg = join(root, 'confusion.svg');
  const text = netspec(['eval', spec, '--weights', join(out, 'weights'), '--data', shapes, '--svg', svg]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stderr, /^netspec: running shapes on onnxruntime \(installed; --runtime tfjs to use TensorFlow\.js\)\n/);
  assert.match(text.stdout, /^shapes on .*shapes: 24 images, onnx\naccuracy (\d+\.\d\d)% \((\d+) of 24\)\n/);
  assert.match(readFileSync(svg, 'utf8'), /<desc>Generated by netspec: confusion matrix<\/desc>/);
  const json = netspec(['eval', spec, '--weights', join(out, 'weights'), '--data', shapes, '--json', '--runtime', 'tfjs']);
  assert.is(json.status, 0, json.stderr);
  const figures = JSON.parse(json.stdout) as EvaluationReport & { engine: string };
  assert.is(figures.engine, 'tfjs');
  assert.is(figures.images, 24);
  assert.equal(
    figures.classes.map((c) => [c.name, c.images]),
    [
      ['disc', 8],
      ['hbar', 8],
      ['vbar', 8],
    ],
  );
  // The matrix's rows hold each class's images, its diagonal the correct ones.
  assert.equal(
    figures.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
    [8, 8, 8],
  );
  assert.is(
    figures.confusion.reduce((sum, row, i) => sum + row[i]!, 0),
    figures.correct,
  );
  // Every figure onnxruntime printed, TensorFlow.js gave too: the same images right and wrong, class by class.
  assert.is(text.stdout.slice(text.stdout.indexOf('\n') + 1), formatReport(figures));
  assert.ok(figures.accuracy >= 0.9, `accuracy ${figures.accuracy}`);

  // predict names the classes the run saved, and both engines rank every image's classes alike.
  const images = SHAPES.flatMap((shape) =>
    readdirSync(join(shapes, 'val', shape))
      .slice(0, 3)
      .map((file) => join(shapes, 'val', shape, file)),
  );
  const [onnx, tfjs] = ['onnx', 'tfjs'].map((runtime) => {
    const run = netspec(['predict', spec, '--weights', join(out, 'weights'), '--runtime', runtime, ...images]);
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /\n {2}1\. +[\d.]+% {2}(disc|hbar|vbar)\n/);
    return run.stdout.trimEnd().split('\n');
  });
  assert.is(onnx!.length, tfjs!.length);
  onnx!.forEach((line, i) => {
    const [a, b] = [line, tfjs![i]!].map((l) => /^ {2}([1-3])\. +(\d+\.\d\d)% {2}(\w+)$/.exec(l));
    if (!a || !b) return assert.is(line, tfjs![i]);
    assert.is(a[3], b[3], `${line} against ${tfjs![i]}`);
    assert.ok(Math.abs(Number(a[2]) - Number(b[2])) <= 0.01 + 1e-9, `${line} against ${tfjs![i]}`);
  });
  trainedWeights = join(out, 'weights');

  // The ONNX export carries the normalisation and the class names as metadata_props.
  const onnxFile = join(root, 'shapes.onnx');
  const exported = netspec(['export', 'onnx', spec, '--weights', join(out, 'weights'), '--out', onnxFile]);
  assert.is(exported.status, 0, exported.stderr);
  const props = Object.fromEntries(onnxProto.onnx.ModelProto.decode(readFileSync(onnxFile)).metadataProps.map((p) => [p.key, p.value]));
  assert.equal(props, {
    'netspec.input.mean': JSON.stringify(manifest.input.mean),
    'netspec.input.std': JSON.stringify(manifest.input.std),
    'netspec.classes': '["disc","hbar","vbar"]',
  });

  // A validation folder whose class the weights do not know is one line naming both lists.
  const extra = join(root, 'extra');
  writeShapeFolder(extra, 1, 3);
  mkdirSync(join(extra, 'star'));
  writeFileSync(join(extra, 'star', 'x.png'), readFileSync(join(shapes, 'val', 'disc', 'disc-001.png')));
  const unknown = netspec(['eval', spec, '--weights', join(out, 'weights'), '--data', extra]);
  assert.is(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /^(netspec: TensorFlow\.js backend wasm\n)?netspec: \S+extra has classes the weights do not name: "star" \(the weights' classes: "disc", "hbar", "vbar"\)\n$/,
  );
});

test("the trained classifier's logits on onnxruntime and TensorFlow.js agree within 1e-4, batch by batch", async () => {
  assert.ok(trainedWeights, 'the training test ran first');
  await initBackend({ backend: 'wasm', log: () => {} });
  const graph = analyzeSpecFile(spec);
  const folder = await readWeightsFolder(trainedWeights!);
  const random = mulberry32(7);
  const images = Float32Array.from({ length: 8 * 16 * 16 * 3 }, () => 4 * random() - 2);
  const logits = [];
  for (const engine of ['onnx', 'tfjs'] as const) {
    const runner = await openRunner(graph, folder, engine, () => {});
    assert.is(runner.engine, engine);
    const [output] = (await runner.run(images, 8)).values();
    logits.push(output!);
    runner.dispose();
  }
  const [onnx, tfjs] = logits as [BatchOutput, BatchOutput];
  assert.equal([...onnx.dims], [8, 3]);
  assert.equal([...tfjs.dims], [8, 3]);
  const worst = Math.max(...onnx.data.map((value, i) => Math.abs(value - tfjs.data[i]!)));
  assert.ok(worst < 1e-4, `max |Δ| ${worst}`);
  assert.equal([...highestClass(onnx.data, 3)], [...highestClass(tfjs.data, 3)]);
});

test('progress of eval and predict: nothing for a run of moments, then images done and the time left, erased for a result', () => {
  const written: string[] = [];
  const stream = { write: (text: string) => written.push(text), isTTY: true };
  const quiet = progressLine(stream, 'eval', 'images', { quietFor: 3600 });
  quiet.update(1, 4);
  quiet.end();
  assert.equal(written, []);
  const shown = progressLine(stream, 'predict', 'images');
  shown.update(1, 4);
  assert.match(written[0]!, /^\r\x1b\[2Kpredict \[={6} {18}\] 1\/4 images {2}[\d.]+ images\/s {2}\d:\d\d left$/);
  shown.clear();
  assert.is(written[1], '\r\x1b[2K');
  shown.update(2, 4);
  assert.match(written[2]!, /^\r\x1b\[2Kpredict \[={12} {12}\] 2\/4 images/);
  shown.end();
  assert.is(written[3], '\n');
});

test('bad data for train and eval: one line each, exit 1, nothing written', () => {
  const four = join(root, 'four.json');
  writeFileSync(
    four,
    JSON.stringify({ ...TINY_FASHION_SPEC, name: 'four', input: { height: 16, width: 16, channels: 3 }, head: { type: 'classifier', classes: 4 } }),
  );
  const never = join(root, 'never');
  const cases: [string[], string | RegExp][] = [
    [
      ['train', four, '--data', shapes, '--out', never],
      `netspec: ${shapes}: holds 3 classes (disc, hbar, vbar) but four outputs 4; its head should be a classifier of 3 classes\n`,
    ],
    [
      ['train', spec, '--data', join(root, 'nowhere'), '--out', never],
      `netspec: ${join(root, 'nowhere')}: not a folder of class folders (or of train/ and val/ folders)\n`,
    ],
    [['train', spec, '--data', `cifar10:${root}`, '--out', never], `netspec: ${join(root, 'data_batch_1.bin')}: the file does not exist\n`],
    [['eval', spec, '--weights', join(root, 'no-weights'), '--data', shapes], /^(netspec: TensorFlow\.js backend wasm\n)?netspec: .*no-weights.*\n$/],
  ];
  for (const [args, expected] of cases) {
    const run = netspec(args);
    assert.is(run.status, 1, `${args.join(' ')}: ${run.stderr}`);
    if (typeof expected === 'string') assert.is(run.stderr, expected);
    else assert.match(run.stderr, expected);
    noStackTrace(run.stderr);
  }
  assert.not.ok(existsSync(never));
});

test.run();
