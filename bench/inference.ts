// Inference speed of netspec's runners against PyTorch, measured in one run on this machine: the founding
// resnet34 (32×32, batch 64) and torchvision's resnet34 and resnet50 (224×224, batches 1 and 8), every runner
// with the same weights. Each row runs in a process of its own (bench/inference-row.ts) for its peak memory.
// Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { exportCheckpoint, importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { initialWeights } from '../src/weights/init.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { readWeightsFolder } from '../src/runtime/weights/files.js';

const PYTHON = '/usr/bin/python3';
const torch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'netspec-inference-bench-'));
const tsx = ['--import', 'tsx'];

const models = [
  { spec: 'specs/resnet34.json', module: 'generated/resnet34.ts', torchName: 'founding_resnet34', batches: [64], cpu: true },
  { spec: 'specs/imagenet/resnet34.json', module: 'generated/imagenet/resnet34.ts', torchName: 'resnet34', batches: [1, 8], cpu: false },
  { spec: 'specs/imagenet/resnet50.json', module: 'generated/imagenet/resnet50.ts', torchName: 'resnet50', batches: [1, 8], cpu: false },
];
const runsFor = (batch: number) => (batch === 1 ? 15 : 5);

interface Measured {
  readonly runner: string;
  readonly seconds: number[];
  readonly peakMiB: number;
}

function row(runner: string, args: object): Measured {
  const run = spawnSync(process.execPath, [...tsx, 'bench/inference-row.ts', JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${runner} failed:\n${run.stderr}`);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { seconds: number[]; peakMiB: number };
  return { runner, ...result };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Two limits: the nominal one (two 256-bit FMA pipes, 16 single-precision FMAs per cycle and core, at the base clock
// /proc/cpuinfo reports; boost clocks go higher) and the practical one, a large matrix product in onnxruntime.
const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 0);
const nominalGmacs = (cpus().length * 16 * mhz) / 1000;
const sgemm = row('sgemm', { kind: 'sgemm', model: '', shape: [1, 1, 1, 1], runs: 9, warmups: 2 });
const peakGmacs = 2048 ** 3 / median(sgemm.seconds) / 1e9;

const sections: string[] = [];
for (const model of models) {
  const compiled = compileSpec(model.spec, readFileSync(model.spec));
  if (!compiled.ok) throw new Error(`${model.spec} does not compile`);
  const graph: AnalyzedGraph = compiled.graph;
  // The same weights everywhere: PyTorch's reference initialisation when PyTorch is here, else netspec's.
  const checkpoint = join(work, `${model.torchName}.safetensors`);
  if (torch) {
    const made = spawnSync(PYTHON, ['scripts/pytorch-reference.py', work, model.torchName], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
  } else {
    writeFileSync(checkpoint, writeSafetensors(initialWeights(graph)));
  }
  const renames = model.torchName === 'founding_resnet34' ? ([['shortcut', 'downsample']] as [string, string][]) : [];
  const weightsFolder = join(work, `${model.torchName}.weights`);
  const imported = importCheckpoint(graph, checkpoint, readSafetensors(checkpoint, readFileSync(checkpoint)), { renames });
  writeWeightsFolder(weightsFolder, graph.name, imported.weights, []);
  const folder = await readWeightsFolder(weightsFolder);
  const netspecOnnx = join(work, `${model.torchName}.netspec.onnx`);
  writeFileSync(netspecOnnx, emitOnnx(graph, exportCheckpoint(graph, weightsFolder, folder.weights, [])));

  const torchOnnx = join(work, `${model.torchName}.torch.onnx`);
  const pytorch = torch
    ? (JSON.parse(
        spawnSync(
          PYTHON,
          [
            'bench/pytorch-bench.py',
            checkpoint,
            model.torchName,
            String(graph.inputShape[0]),
            model.batches.join(','),
            String(Math.max(...model.batches.map(runsFor))),
            torchOnnx,
          ],
          {
            encoding: 'utf8',
          },
        ).stdout,
      ) as { torch: string; eager: Record<string, number[]>; peakMiB: number })
    : undefined;

  for (const batch of model.batches) {
    const shape = [batch, ...graph.inputShape];
    const runs = runsFor(batch);
    const tfjs = { model: model.module, weights: weightsFolder, shape, runs, warmups: 1 };
    const rows: Measured[] = [];
    if (pytorch) rows.push({ runner: `PyTorch ${pytorch.torch} eager (2 threads)`, seconds: pytorch.eager[batch]!.slice(0, runs), peakMiB: pytorch.peakMiB });
    if (model.cpu) rows.push(row('tfjs cpu, layers model', { ...tfjs, kind: 'tfjs-layers', backend: 'cpu', runs: 1, warmups: 0 }));
    rows.push(row('tfjs wasm, layers model', { ...tfjs, kind: 'tfjs-layers' }));
    rows.push(row('tfjs wasm, optimised (1 thread)', { ...tfjs, kind: 'tfjs-optimised' }));
    if (batch > 1) rows.push(row('tfjs wasm, optimised, 2 workers', { ...tfjs, kind: 'tfjs-pool' }));
    rows.push(row('netspec ONNX on onnxruntime (2 threads)', { kind: 'onnxruntime', model: netspecOnnx, shape, runs, warmups: 2 }));
    if (pytorch) rows.push(row("onnxruntime on PyTorch's own export (2 threads)", { kind: 'onnxruntime', model: torchOnnx, shape, runs, warmups: 2 }));

    const eager = pytorch ? median(pytorch.eager[batch]!) : undefined;
    const layers = median(rows.find((r) => r.runner === 'tfjs wasm, layers model')!.seconds);
    sections.push(
      [
        `### ${graph.name} (${graph.inputShape.join('×')}), batch ${batch} — ${(graph.macs / 1e9).toFixed(2)} GMACs per image`,
        '',
        '| runner | images/s | latency median ms | min–max ms | peak RSS MiB | GMAC/s | of SGEMM rate | vs PyTorch eager | vs tfjs layers |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...rows.map((r) => {
          const m = median(r.seconds);
          const gmacs = (graph.macs * batch) / m / 1e9;
          const ms = (s: number) => (s * 1000).toFixed(1);
          const vsEager = eager === undefined ? '—' : `${(eager / m).toFixed(2)}×`;
          return `| ${r.runner} | ${(batch / m).toFixed(1)} | ${ms(m)} | ${ms(Math.min(...r.seconds))}–${ms(Math.max(...r.seconds))} | ${r.peakMiB.toFixed(0)} | ${gmacs.toFixed(1)} | ${((100 * gmacs) / peakGmacs).toFixed(0)}% | ${vsEager} | ${(layers / m).toFixed(2)}× |`;
        }),
        '',
      ].join('\n'),
    );
    console.log(sections.at(-1));
  }
}
rmSync(work, { recursive: true, force: true });

const header = [
  `## Inference — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} at ${mhz.toFixed(0)} MHz (base); nominal peak ${nominalGmacs.toFixed(0)} GFMA/s at that clock (2 cores × 16 FP32 FMA/cycle), practical limit ${peakGmacs.toFixed(0)} GMAC/s measured as a 2048³ SGEMM in onnxruntime on 2 threads. Node ${process.version}.`,
  `Every runner uses the same weights (${torch ? "PyTorch's reference initialisation" : 'netspec initialisation; PyTorch is not installed, so its rows are missing'}). Median of 15 runs at batch 1 and 5 otherwise, after warm-up; the tfjs cpu row is one run.`,
  "Speed-ups are ratios of medians measured in this same run. 'of SGEMM rate' is multiply-accumulates per second against the measured practical limit.",
  '',
];
appendFileSync('bench/results.md', `${[...header, ...sections].join('\n')}\n`);
