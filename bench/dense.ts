// Inference speed of the segmentation and detection models at their committed sizes, batch 1, every runner in one
// run on this machine: tfjs on wasm (the layers model and the optimised path), onnxruntime with the ONNX export,
// and PyTorch eager with torchvision's own model in both memory layouts, all on 2 threads with freshly initialised
// weights (speed does not depend on their values). Every runner is a process of its own taking turns with the
// others (bench/peers.ts). Appends to bench/results.md.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpec } from '../src/compile.js';
import { emitOnnx } from '../src/emit/onnx.js';
import { initialWeights } from '../src/weights/init.js';
import { alternate, childPeer, fastest } from './peers.js';

const PYTHON = '/usr/bin/python3';
const ROUNDS = 5;
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

/**
 * torchvision's model in eval mode as a timing peer (bench/peer.py): the segmentation model whole, RetinaNet's
 * backbone and head (its raw outputs, as netspec's), in NCHW or channels_last.
 */
const TORCH_PEER = `
import sys, torch
sys.path.insert(0, "bench")
import peer
import torchvision.models.detection as detection, torchvision.models.segmentation as segmentation
torch.set_num_threads(2)
model = eval(sys.argv[1]).eval()
x = torch.randn(1, 3, int(sys.argv[2]), int(sys.argv[3]))
if sys.argv[4] == "channels_last":
    model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
run = (lambda: model.head(list(model.backbone(x).values()))) if hasattr(model, "anchor_generator") else (lambda: model(x))
with torch.inference_mode():
    peer.serve(run, warmups=1)
`;

const netspecPeer = (name: string, kind: string, model: string, shape: number[]) =>
  childPeer(name, process.execPath, ['--import', 'tsx', 'bench/inference-row.ts', JSON.stringify({ kind, model, shape, warmups: 1 })]);
const torchPeer = (builder: string, height: number, width: number, layout: 'contiguous' | 'channels_last') =>
  childPeer(`PyTorch ${layout}`, PYTHON, ['-c', TORCH_PEER, builder, String(height), String(width), layout]);

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
  const timed = await alternate(
    [
      await netspecPeer('layers', 'tfjs-layers', model.module, shape),
      await netspecPeer('optimised', 'tfjs-optimised', model.module, shape),
      await netspecPeer('onnx', 'onnxruntime', onnxPath, shape),
      await torchPeer(model.torch, height, width, 'contiguous'),
      await torchPeer(model.torch, height, width, 'channels_last'),
    ],
    ROUNDS,
  );
  const best = (name: string) => fastest(timed.find((t) => t.name === name)!.seconds);
  const torch = Math.min(best('PyTorch contiguous'), best('PyTorch channels_last'));
  const cell = (name: string) => `${ms(best(name))} (${(best(name) / torch).toFixed(2)}×)`;
  const row = `| ${graph.name} ${height}×${width} | ${(graph.macs / 1e9).toFixed(1)} | ${cell('layers')} | ${cell('optimised')} | ${cell('onnx')} | ${ms(best('PyTorch contiguous'))} / ${ms(best('PyTorch channels_last'))} |`;
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
    `\`npx tsx bench/dense.ts\`: every runner warmed up in a process of its own, then the runners take turns, one call each per round, for ${ROUNDS} rounds; each runner's fastest round, 2 threads each. Ratios are against PyTorch eager in its faster layout (NCHW or channels_last).`,
    '',
    '| model, input | GMACs | tfjs wasm, layers | tfjs wasm, optimised | onnxruntime | PyTorch eager, NCHW / channels_last |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
    '',
  ].join('\n'),
);
