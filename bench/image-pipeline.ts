// The image pipeline's speed against PIL with torchvision's transforms, the peer it matches byte for byte, on the
// same two files: a 640×480 JPEG and a 2000×1500 PNG, decoded and fitted to a 224 crop (a classifier) and a 512
// letterbox (a detector). Alternating rounds, each side's fastest of several runs per round. Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { decodeImage } from '../src/runtime/images/decode.js';
import { imagenetNormalization, prepareImage, type ImageTransform } from '../src/runtime/images/pipeline.js';
import { encodePng } from '../src/runtime/images/png.js';

const PYTHON = '/usr/bin/python3';
const ROUNDS = 3;
const RUNS = 5;
const work = mkdtempSync(join(tmpdir(), 'netspec-pipeline-bench-'));

/** A photograph-like image: smooth gradients with noise, so that neither codec has it easy. */
function scene(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  let seed = 1;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) - 128;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.max(0, Math.min(255, (x * 255) / width + noise() / 8));
      data[i + 1] = Math.max(0, Math.min(255, (y * 255) / height + noise() / 8));
      data[i + 2] = Math.max(0, Math.min(255, 128 + 100 * Math.sin((x + y) / 40) + noise() / 8));
    }
  }
  return data;
}

const files = [
  { name: 'photo-640x480.jpg', write: () => jpeg.encode({ width: 640, height: 480, data: rgba(scene(640, 480)) }, 90).data },
  { name: 'scan-2000x1500.png', write: () => encodePng({ width: 2000, height: 1500, channels: 3, data: scene(2000, 1500) }) },
];
const { mean, std } = imagenetNormalization(3);
const transforms: readonly [string, ImageTransform][] = [
  ['224 crop', { height: 224, width: 224, channels: 3, fit: 'crop', cropFraction: 224 / 256, mean, std }],
  ['512 letterbox', { height: 512, width: 512, channels: 3, fit: 'letterbox', mean, std }],
];

function rgba(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, o = 0; i < rgb.length; i += 3, o += 4) out.set([rgb[i]!, rgb[i + 1]!, rgb[i + 2]!, 255], o);
  return out;
}

/** PIL opens, converts and resizes; torchvision's ToTensor and Normalize finish, as a Dataset's transform would. */
const PIL_ROW = `
import json, sys, time
import torch
from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F
torch.set_num_threads(1)
path, fit, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
normalize = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
def crop(image):
    return normalize(T.ToTensor()(T.CenterCrop(224)(T.Resize(256)(image))))
def letterbox(image):
    scale = min(512 / image.height, 512 / image.width)
    resized = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    x = normalize(T.ToTensor()(resized))
    return F.pad(x, [0, 0, 512 - x.shape[2], 512 - x.shape[1]])
run = crop if fit == "crop" else letterbox
seconds = []
for _ in range(runs):
    started = time.perf_counter()
    run(Image.open(path).convert("RGB"))
    seconds.append(time.perf_counter() - started)
print(json.dumps(min(seconds)))
`;

async function netspecBest(path: string, transform: ImageTransform): Promise<number> {
  const bytes = readFileSync(path);
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    prepareImage(await decodeImage(bytes), transform);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

function pilBest(path: string, fit: string): number {
  const run = spawnSync(PYTHON, ['-c', PIL_ROW, path, fit, String(RUNS)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as number;
}

const rows: string[] = [];
for (const file of files) {
  const path = join(work, file.name);
  writeFileSync(path, file.write());
  for (const [label, transform] of transforms) {
    const ours: number[] = [];
    const pil: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(await netspecBest(path, transform));
      pil.push(pilBest(path, transform.fit));
    }
    const [a, b] = [Math.min(...ours), Math.min(...pil)];
    rows.push(`| ${file.name} | ${label} | ${(a * 1000).toFixed(1)} ms | ${(b * 1000).toFixed(1)} ms | ${(a / b).toFixed(2)}× |`);
    console.log(rows.at(-1));
  }
}
rmSync(work, { recursive: true, force: true });

const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(lscpu)?.[1]?.trim() ?? 'unknown';
appendFileSync(
  'bench/results.md',
  [
    '',
    `## Image pipeline: decode and fit one file (${new Date().toISOString().slice(0, 10)})`,
    '',
    `\`npx tsx bench/image-pipeline.ts\`: decoding and preparing one image (convert, resample as PIL does, crop or letterbox, normalise), netspec in plain TypeScript (jpeg-js, pngjs) against PIL with torchvision's transforms on one thread; ${ROUNDS} alternating rounds, each side's fastest of ${RUNS} runs a round. Node ${process.version}. CPU: ${field('Model name')}. Flags: ${field('Flags')}.`,
    '',
    '| file | fit | netspec | PIL + torchvision | ratio |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
);
