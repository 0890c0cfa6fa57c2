// A whole `netspec eval` of torchvision's RetinaNet on COCO-layout data, against torchvision's own model run over
// the same images: N scene images of 640×480 (scripts/scenes.ts), weights saved by torch.save (random, with the
// prior bias raised so that every image gives its 300 detections, as a trained model would), letterboxed to 512.
// netspec's time is the whole command (reading the annotations, building the model, onnxruntime, decoding, COCO's
// figures); torchvision's is its model over the images in batches of 4 (decoding and postprocessing included, no
// scoring), in both memory layouts. Alternating rounds, each side's best. Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSceneDataset } from '../scripts/scenes.js';

const IMAGES = Number(process.argv[2] ?? 100);
const ROUNDS = 2;
const PYTHON = '/usr/bin/python3';
const SPEC = 'specs/detection/retinanet_resnet50_fpn.json';
const work = mkdtempSync(join(tmpdir(), 'netspec-eval-bench-'));

const SAVE = `
import sys, torch
import torchvision.models.detection as d
torch.manual_seed(0)
model = d.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
with torch.no_grad():
    bias = model.head.classification_head.cls_logits.bias
    bias.fill_(-4.6)
    bias.view(-1, 91)[:, [1, 3, 6]] = 3.0
torch.save(model.state_dict(), sys.argv[1])
`;

/** torchvision's model over the images, as its detection reference's evaluate loop runs it; prints seconds. */
const TORCH_RUN = `
import json, os, sys, time
import torch
import torchvision.models.detection as d
import torchvision.transforms.functional as F
from PIL import Image
torch.set_num_threads(${cpus().length})
pth, folder, names, layout = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
started = time.perf_counter()
model = d.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91, min_size=512, max_size=512)
model.load_state_dict(torch.load(pth))
model.eval()
if layout == "channels_last":
    model = model.to(memory_format=torch.channels_last)
detections = 0
with torch.inference_mode():
    for i in range(0, len(names), 4):
        images = [F.to_tensor(Image.open(os.path.join(folder, name)).convert("RGB")) for name in names[i : i + 4]]
        detections += sum(len(out["scores"]) for out in model(images))
print(json.dumps({"seconds": time.perf_counter() - started, "detections": detections}))
`;

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function netspecSeconds(data: string): number {
  const started = performance.now();
  run(process.execPath, [resolve('dist', 'cli.js'), 'eval', SPEC, '--weights', join(work, 'weights'), '--data', data, '--runtime', 'onnx']);
  return (performance.now() - started) / 1000;
}

try {
  const scenes = writeSceneDataset(join(work, 'scenes'), { train: 1, val: IMAGES, width: 640, height: 480 });
  const pth = join(work, 'retinanet.pth');
  run(PYTHON, ['-c', SAVE, pth]);
  run(process.execPath, [resolve('dist', 'cli.js'), 'weights', 'import', SPEC, pth, '--out', join(work, 'weights')]);
  const annotations = scenes.coco.val.replace(/^coco:/, '');
  const images = JSON.parse(readFileSync(annotations, 'utf8')) as { images: { file_name: string }[] };
  const folder = join(annotations, '..', '..', 'val');
  const names = JSON.stringify(images.images.map((image) => image.file_name));
  const ours: number[] = [];
  const theirs = { contiguous: [] as number[], channels_last: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(netspecSeconds(scenes.coco.val));
    for (const [layout, times] of Object.entries(theirs))
      times.push((JSON.parse(run(PYTHON, ['-c', TORCH_RUN, pth, folder, names, layout])) as { seconds: number }).seconds);
    console.log(
      `round ${round + 1}: netspec ${ours.at(-1)!.toFixed(1)} s, torchvision ${theirs.contiguous.at(-1)!.toFixed(1)} s NCHW, ${theirs.channels_last.at(-1)!.toFixed(1)} s channels_last`,
    );
  }
  const best = Math.min(...ours);
  const peers = Object.entries(theirs).map(([layout, times]) => ({ layout, times, best: Math.min(...times) }));
  const peer = Math.min(...peers.map((p) => p.best));
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  appendFileSync(
    'bench/results.md',
    [
      `\n## Whole eval of RetinaNet — ${new Date().toISOString().slice(0, 10)}`,
      '',
      `\`npx tsx bench/eval.ts ${IMAGES}\`: ${IMAGES} scene images of 640×480 in COCO's layout, torchvision's retinanet_resnet50_fpn (random weights saved by torch.save), letterboxed to 512. ${cpus().length} × ${cpu}; Node ${process.version}; ${ROUNDS} alternating rounds, each side's best.`,
      '',
      '| what | best s | s an image | rounds |',
      '| --- | ---: | ---: | --- |',
      `| \`netspec eval --runtime onnx\`, the whole command (annotations, model, onnxruntime, decoding, COCO's figures) | ${best.toFixed(1)} | ${(best / IMAGES).toFixed(2)} | ${ours.map((s) => s.toFixed(1)).join(', ')} |`,
      ...peers.map(
        (p) =>
          `| torchvision 0.14's model over the same images, ${p.layout === 'contiguous' ? 'NCHW' : 'channels_last'}, batches of 4, min/max size 512 (no scoring) | ${p.best.toFixed(1)} | ${(p.best / IMAGES).toFixed(2)} | ${p.times.map((s) => s.toFixed(1)).join(', ')} |`,
      ),
      '',
      `netspec takes ${(best / peer).toFixed(2)}× torchvision's time in its faster layout for the whole evaluation.`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
