// Inference speed of the segmentation and detection models at their committed sizes, batch 1, every runner in one
// run on this machine: tfjs on wasm (the layers model and the optimised path), onnxruntime with the ONNX export,
// and PyTorch eager with torchvision's own model, all on 2 threads with freshly initialised weights (speed does not
// depend on their values). Each netspec row runs in a process of its own (bench/inference-row.ts). Appends to
// bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { initialWeights } from '../src/weights/init.js';

const PYTHON = '/usr/bin/python3';
const RUNS = 3;
const work = mkdtempSync(join(tmpdir(), 'netspec-dense-bench-'));
const models = [
  {
    spec: 'specs/segmentation/fcn_resnet50.json',
    module: 'generated/segmentation/fcn_resnet50.ts',
    torch: 'segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)',
  },
  {
    spec: 'specs/segmentation/deeplabv3_resnet50.json',
    module: 'generated/segmentation/deeplabv3_resnet50.ts',
    torch: 'segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)',
  },
  {
    spec: 'specs/detection/retinanet_resnet50_fpn.json',
    module: 'generated/detection/retinanet_resnet50_fpn.ts',
    torch: 'detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)',
  },
];

/** torchvision's model in eval mode: the segmentation model whole, RetinaNet's backbone and head (its raw outputs, as netspec's). */
const TORCH_ROW = `
import json, sys, time, torch
import torchvision.models.detection as detection, torchvision.models.segmentation as segmentation
torch.set_num_threads(2)
model = eval(sys.argv[1]).eval()
x = torch.randn(1, 3, int(sys.argv[2]), int(sys.argv[3]))
run = (lambda: model.head(list(model.backbone(x).values()))) if hasattr(model, "anchor_generator") else (lambda: model(x))
seconds = []
with torch.no_grad():
    run()
    for _ in range(int(sys.argv[4])):
        started = time.perf_counter(); run(); seconds.append(time.perf_counter() - started)
print(json.dumps(seconds))
`;

function netspecRow(kind: string, model: string, shape: number[]): number[] {
  const args = JSON.stringify({ kind, model, shape, runs: RUNS, warmups: 1 });
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/inference-row.ts', args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${kind} ${model} failed:\n${run.stderr}`);
  return (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { seconds: number[] }).seconds;
}

function torchRow(builder: string, height: number, width: number): number[] {
  const run = spawnSync(PYTHON, ['-c', TORCH_ROW, builder, String(height), String(width), String(RUNS)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`PyTorch failed:\n${run.stderr}`);
  return JSON.parse(run.stdout) as number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
const lines: string[] = [];
for (const model of models) {
  const result = compileSpec(model.spec, readFileSync(model.spec));
  if (!result.ok) throw new Error(`${model.spec} does not compile`);
  const { graph } = result;
  const [height, width, channels] = graph.inputShape as [number, number, number];
  const onnxPath = join(work, `${graph.name}.onnx`);
  writeFileSync(onnxPath, emitOnnx(graph, initialWeights(graph)));
  const shape = [1, height, width, channels];
  const times = {
    layers: median(netspecRow('tfjs-layers', model.module, shape)),
    optimised: median(netspecRow('tfjs-optimised', model.module, shape)),
    onnx: median(netspecRow('onnxruntime', onnxPath, shape)),
    torch: median(torchRow(model.torch, height, width)),
  };
  const ratio = (s: number) => `${(s / times.torch).toFixed(2)}×`;
  const row = `| ${graph.name} ${height}×${width} | ${(graph.macs / 1e9).toFixed(1)} | ${ms(times.layers)} (${ratio(times.layers)}) | ${ms(times.optimised)} (${ratio(times.optimised)}) | ${ms(times.onnx)} (${ratio(times.onnx)}) | ${ms(times.torch)} |`;
  console.log(row);
  lines.push(row);
}
rmSync(work, { recursive: true, force: true });
const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
appendFileSync(
  'bench/results.md',
  [
    '',
    `## Segmentation and detection inference, batch 1 (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpu})`,
    '',
    `\`npx tsx bench/dense.ts\`: medians of ${RUNS} runs after a warm-up, 2 threads each, times against PyTorch eager in the same run.`,
    '',
    '| model, input | GMACs | tfjs wasm, layers | tfjs wasm, optimised | onnxruntime | PyTorch eager |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
    '',
  ].join('\n'),
);
