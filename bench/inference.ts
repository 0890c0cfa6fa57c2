// Inference speed of netspec's runners against PyTorch, measured in one run on this machine: the founding
// resnet34 (32×32, batch 64) and torchvision's resnet34 and resnet50 (224×224, batches 1 and 8), every runner
// with the same weights. Each runner runs in a process of its own (bench/inference-row.ts, bench/pytorch-bench.py)
// for its peak memory, and the runners take turns (bench/peers.ts). PyTorch runs in both memory layouts, so
// netspec is compared with PyTorch at its best. Appends to bench/results.md.
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
import { alternate, childPeer, fastest, median, type Peer, type Timed } from './peers.js';

const PYTHON = '/usr/bin/python3';
const torch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'netspec-inference-bench-'));
const tsx = ['--import', 'tsx'];

const models = [
  { spec: 'specs/resnet34.json', module: 'generated/resnet34.ts', torchName: 'founding_resnet34', batches: [64], cpu: true },
  { spec: 'specs/imagenet/resnet34.json', module: 'generated/imagenet/resnet34.ts', torchName: 'resnet34', batches: [1, 8], cpu: false },
  { spec: 'specs/imagenet/resnet50.json', module: 'generated/imagenet/resnet50.ts', torchName: 'resnet50', batches: [1, 8], cpu: false },
];
// Rounds of alternating turns; every runner is timed once a round.
const roundsFor = (batch: number) => (batch === 1 ? 15 : 5);
const rowProgram = [...tsx, 'bench/inference-row.ts'];
const row = (name: string, args: object) => childPeer(name, process.execPath, [...rowProgram, JSON.stringify(args)]);

// The machine's practical limit: a large matrix product in onnxruntime. (A nominal peak would need the FMA width of
// the cores, which /proc/cpuinfo does not give: AVX-512 runs on 256-bit halves on some cores and whole on others.)
const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 0);
const [sgemm] = await alternate([await row('sgemm', { kind: 'sgemm', model: '', shape: [1, 1, 1, 1], warmups: 2 })], 9);
const peakGmacs = 2048 ** 3 / fastest(sgemm!.seconds) / 1e9;

/** PyTorch's own ONNX export of the model, for onnxruntime; returns PyTorch's version. */
function pytorchExport(checkpoint: string, name: string, size: number, out: string): { torch: string } {
  const run = spawnSync(PYTHON, ['bench/pytorch-bench.py', 'export', checkpoint, name, String(size), out], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`PyTorch's export failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { torch: string };
}

function section(graph: AnalyzedGraph, batch: number, rows: readonly Timed[]): string {
  const best = (prefix: string) => {
    const times = rows.filter((r) => r.name.startsWith(prefix)).map((r) => fastest(r.seconds));
    return times.length > 0 ? Math.min(...times) : undefined;
  };
  const pytorch = best('PyTorch');
  const layers = best('tfjs wasm, layers model')!;
  const ms = (s: number) => (s * 1000).toFixed(1);
  return [
    `### ${graph.name} (${graph.inputShape.join('×')}), batch ${batch} — ${(graph.macs / 1e9).toFixed(2)} GMACs per image`,
    '',
    '| runner | images/s | fastest ms | median ms | peak RSS MiB | GMAC/s | of SGEMM rate | vs PyTorch | vs tfjs layers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const f = fastest(r.seconds);
      const gmacs = (graph.macs * batch) / f / 1e9;
      const vsPytorch = pytorch === undefined ? '—' : `${(pytorch / f).toFixed(2)}×`;
      return `| ${r.name} | ${(batch / f).toFixed(1)} | ${ms(f)} | ${ms(median(r.seconds))} | ${r.peakMiB?.toFixed(0) ?? '—'} | ${gmacs.toFixed(1)} | ${((100 * gmacs) / peakGmacs).toFixed(0)}% | ${vsPytorch} | ${(layers / f).toFixed(2)}× |`;
    }),
    '',
  ].join('\n');
}

let torchVersion = '';
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
  const versions = torch ? await pytorchExport(checkpoint, model.torchName, graph.inputShape[0]!, torchOnnx) : undefined;
  if (versions) torchVersion = versions.torch;

  for (const batch of model.batches) {
    const shape = [batch, ...graph.inputShape];
    const tfjs = { model: model.module, weights: weightsFolder, shape, warmups: 1 };
    const pytorchPeer = (layout: string) =>
      childPeer(`PyTorch ${versions!.torch} eager, ${layout === 'contiguous' ? 'NCHW' : 'channels_last'} (2 threads)`, PYTHON, [
        'bench/pytorch-bench.py',
        'serve',
        checkpoint,
        model.torchName,
        String(graph.inputShape[0]),
        String(batch),
        layout,
      ]);
    const peers: Peer[] = [];
    if (versions) peers.push(await pytorchPeer('contiguous'), await pytorchPeer('channels_last'));
    peers.push(await row('tfjs wasm, layers model', { ...tfjs, kind: 'tfjs-layers' }));
    peers.push(await row('tfjs wasm, optimised (1 thread)', { ...tfjs, kind: 'tfjs-optimised' }));
    if (batch > 1) peers.push(await row('tfjs wasm, optimised, 2 workers', { ...tfjs, kind: 'tfjs-pool' }));
    peers.push(await row('netspec ONNX on onnxruntime (2 threads)', { kind: 'onnxruntime', model: netspecOnnx, shape, warmups: 2 }));
    if (versions) peers.push(await row("onnxruntime on PyTorch's own export (2 threads)", { kind: 'onnxruntime', model: torchOnnx, shape, warmups: 2 }));
    const rows = await alternate(peers, roundsFor(batch));
    // The pure-JavaScript backend takes minutes a call: one call, outside the rounds.
    if (model.cpu)
      rows.push(...(await alternate([await row('tfjs cpu, layers model (one call)', { ...tfjs, kind: 'tfjs-layers', backend: 'cpu', warmups: 0 })], 1)));
    sections.push(section(graph, batch, rows));
    console.log(sections.at(-1));
  }
}
rmSync(work, { recursive: true, force: true });

const header = [
  `## Inference — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} at ${mhz.toFixed(0)} MHz (base); practical limit ${peakGmacs.toFixed(0)} GMAC/s measured as a 2048³ SGEMM in onnxruntime on 2 threads. Node ${process.version}.`,
  `Every runner uses the same weights (${torch ? `PyTorch's reference initialisation; PyTorch ${torchVersion}` : 'netspec initialisation; PyTorch is not installed, so its rows are missing'}). Each runner is warmed up in a process of its own, then the runners take turns, one call each per round (15 rounds at batch 1, 5 otherwise; the tfjs cpu row is one call).`,
  "Rates and ratios are of each runner's fastest round; 'vs PyTorch' is against PyTorch's faster layout, 'vs tfjs layers' against tfjs' layers model. 'of SGEMM rate' is multiply-accumulates per second against the measured practical limit.",
  '',
];
appendFileSync('bench/results.md', `${[...header, ...sections].join('\n')}\n`);
