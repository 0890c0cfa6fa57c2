// `netspec eval` of a classifier on each engine: the whole command (reading the data, building the model, running
// it, the report), `--runtime tfjs` (TensorFlow.js on wasm) against `--runtime onnx` (the fp32 ONNX graph of the same
// weights on onnxruntime-node). Two cases: ResNet-20 on the first N Fashion-MNIST test images (all 10,000 by
// default), and resnet34 at 224×224 on a folder of M drawn photographs of two ImageNet classes. Weights are PyTorch's initialisation (speed
// does not depend on them); both engines must give the same accuracy. Alternating rounds, each engine's best.
// Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileSpec } from '../src/compile.js';
import { encodePng } from '../src/runtime/images/png.js';
import { importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { initialWeights } from '../src/weights/init.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';

const FASHION_IMAGES = Number(process.argv[2] ?? 10_000);
const PHOTOS = Number(process.argv[3] ?? 32);
const ROUNDS = Number(process.argv[4] ?? 3);
const ENGINES = ['tfjs', 'onnx'] as const;
const work = mkdtempSync(join(tmpdir(), 'netspec-classifier-eval-bench-'));

/** The spec's weights folder with PyTorch's initial weights, naming `classes` when given (so a folder of some of them maps by name). */
function weightsFor(spec: string, classes?: readonly string[]): string {
  const source = readFileSync(spec);
  const compiled = compileSpec(spec, source);
  if (!compiled.ok) throw new Error(`${spec} does not compile`);
  const checkpoint = readSafetensors('initial.safetensors', writeSafetensors(initialWeights(compiled.graph, 1)));
  const imported = importCheckpoint(compiled.graph, 'initial.safetensors', checkpoint);
  const folder = join(work, `${compiled.graph.name}.weights`);
  writeWeightsFolder(folder, compiled.graph.name, imported.weights, imported.skippedLayers, classes ? { classes: [...classes] } : {});
  return folder;
}

/** `count` 320×240 photograph-like PNGs in each of two class folders. */
function photoFolder(classes: readonly string[], count: number): string {
  const folder = join(work, 'photos');
  classes.forEach((name, k) => {
    mkdirSync(join(folder, name), { recursive: true });
    for (let i = 0; i < count; i++) {
      const [width, height] = [320, 240];
      const data = new Uint8Array(width * height * 3);
      for (let p = 0; p < width * height; p++) data.set([(p * (k + 3) + i) % 256, (p >> 8) % 256, (37 * i + 90 * k) % 256], 3 * p);
      writeFileSync(join(folder, name, `${i}.png`), encodePng({ width, height, channels: 3, data }));
    }
  });
  return folder;
}

/** Seconds for the whole command, and the accuracy it printed. */
function evalSeconds(args: readonly string[], engine: string): { seconds: number; accuracy: string } {
  const started = performance.now();
  const run = spawnSync(process.execPath, [resolve('dist', 'cli.js'), 'eval', ...args, '--runtime', engine], { encoding: 'utf8', maxBuffer: 2 ** 26 });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`eval ${args.join(' ')} --runtime ${engine}: ${run.stderr}`);
  return { seconds, accuracy: /^accuracy (.*)$/m.exec(run.stdout)?.[1] ?? '?' };
}

interface Case {
  readonly what: string;
  /** The images of the whole run, and of the short run whose time is the command's fixed cost (start, data, model). */
  readonly images: number;
  readonly few: number;
  readonly args: readonly string[];
}

/** Each engine's best time for the whole run and for the few images, alternating engines and runs round by round. */
function bestTimes({ what, images, few, args }: Case): { best: Record<string, { all: number; few: number }>; accuracy: string; rounds: string[] } {
  const times: Record<string, { all: number[]; few: number[] }> = { tfjs: { all: [], few: [] }, onnx: { all: [], few: [] } };
  const accuracies = new Set<string>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const engine of round % 2 === 0 ? ENGINES : [...ENGINES].reverse()) {
      const whole = evalSeconds([...args, '--limit', String(images)], engine);
      times[engine]!.all.push(whole.seconds);
      accuracies.add(whole.accuracy);
      times[engine]!.few.push(evalSeconds([...args, '--limit', String(few)], engine).seconds);
      console.log(`${what}, round ${round + 1}: ${engine} ${whole.seconds.toFixed(1)} s (${few} images: ${times[engine]!.few.at(-1)!.toFixed(1)} s)`);
    }
  }
  if (accuracies.size !== 1) throw new Error(`${what}: the engines' accuracies differ: ${[...accuracies].join(' against ')}`);
  const best = Object.fromEntries(ENGINES.map((e) => [e, { all: Math.min(...times[e]!.all), few: Math.min(...times[e]!.few) }]));
  return { best, accuracy: [...accuracies][0]!, rounds: ENGINES.map((e) => `${e} ${times[e]!.all.map((s) => s.toFixed(1)).join(', ')}`) };
}

/** A table row: whole-command times, and the time an image past the fixed cost, for each engine and their ratio. */
function measure(cases: readonly Case[]): string[] {
  return cases.map((c) => {
    const { best, accuracy, rounds } = bestTimes(c);
    const { tfjs, onnx } = best as Record<(typeof ENGINES)[number], { all: number; few: number }>;
    const perImage = (t: { all: number; few: number }) => (1000 * (t.all - t.few)) / (c.images - c.few);
    const cells = [
      c.what,
      String(c.images),
      `${tfjs.all.toFixed(1)} / ${onnx.all.toFixed(1)}`,
      `${(tfjs.all / onnx.all).toFixed(1)}×`,
      `${perImage(tfjs).toFixed(1)} / ${perImage(onnx).toFixed(1)}`,
      `${(perImage(tfjs) / perImage(onnx)).toFixed(1)}×`,
      accuracy,
      rounds.join('; '),
    ];
    return `| ${cells.join(' | ')} |`;
  });
}

function cpuModel(): string {
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
  return /^Model name:\s*(.*)$/m.exec(lscpu)?.[1]?.trim() ?? 'unknown';
}

try {
  const imagenet = JSON.parse(readFileSync('data/imagenet-classes.json', 'utf8')) as string[];
  const photos = photoFolder(imagenet.slice(0, 2), PHOTOS / 2);
  const fashion = [
    'specs/fashion/resnet20.json',
    '--weights',
    weightsFor('specs/fashion/resnet20.json'),
    '--data',
    'fashion-mnist',
    '--limit',
    String(FASHION_IMAGES),
  ];
  const resnet34 = ['specs/imagenet/resnet34.json', '--weights', weightsFor('specs/imagenet/resnet34.json', imagenet), '--data', photos];
  const load = loadavg().map((l) => l.toFixed(1));
  const rows = measure([
    { what: 'ResNet-20 (28×28×1), Fashion-MNIST test images', images: FASHION_IMAGES, few: 100, args: fashion },
    { what: 'resnet34 (224×224×3), a folder of 320×240 PNGs', images: PHOTOS, few: 4, args: resnet34 },
  ]);
  const after = loadavg().map((l) => l.toFixed(1));
  const section = [
    '',
    `## Classifier eval on each engine — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `\`npx tsx bench/classifier-eval.ts ${FASHION_IMAGES} ${PHOTOS} ${ROUNDS}\`: the whole \`netspec eval\` command (data, model, run, report) with \`--runtime tfjs\` (TensorFlow.js on wasm) and \`--runtime onnx\` (netspec's fp32 ONNX graph of the same weights on onnxruntime-node), batches of 32, PyTorch's initial weights; ${ROUNDS} alternating rounds, each engine's best. The time an image is the whole run's less a run of the first few images (100 and 4), whose time is the command's fixed cost (starting, reading the data, building the model). CPU: ${cpuModel()}; Node ${process.version}. Load average (1, 5, 15 min) ${load.join(', ')} at the start and ${after.join(', ')} at the end, on a shared machine: read the ratios, not the seconds.`,
    '',
    '| what | images | whole command, best s: tfjs / onnxruntime | ratio | ms an image past the fixed cost: tfjs / onnxruntime | ratio | accuracy on both | every round, s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  appendFileSync('bench/results.md', section);
  console.log(section);
} finally {
  rmSync(work, { recursive: true, force: true });
}
