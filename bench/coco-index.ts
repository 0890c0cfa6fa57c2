// Reading an annotations file of COCO train2017's size (118,287 images, 860,001 annotations with polygons, about
// 450 MB) into netspec's COCO index: wall time, peak resident memory, and the memory the index keeps, beside
// JSON.parse in Node and Python's json.load (what pycocotools runs) on the same file. Appends to bench/results.md.
//
//   npx tsx bench/coco-index.ts            the whole comparison
//   npx tsx bench/coco-index.ts read FILE  one netspec read, printing what the index keeps (used by the above)
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCocoDetection } from '../src/data/coco.js';

const IMAGES = 118_287;
const ANNOTATIONS = 860_001;
/** COCO's 80 category ids, 1 to 90 with its gaps. */
const CATEGORY_IDS = Array.from({ length: 90 }, (_, i) => i + 1).filter((id) => ![12, 26, 29, 30, 45, 66, 68, 69, 71, 83].includes(id));
const ROUNDS = 2;

/** mulberry32, so every run writes the same file. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the synthetic file: COCO's fields and number formats, polygons of 8 to 40 points, 1% crowds as RLE. */
function writeSyntheticCoco(path: string): void {
  const random = seeded(2017);
  const fd = openSync(path, 'w');
  let pending: string[] = [];
  const emit = (text: string) => {
    pending.push(text);
    if (pending.length >= 4096) flush();
  };
  const flush = () => {
    writeSync(fd, pending.join(''));
    pending = [];
  };
  const coordinate = () => (random() * 640).toFixed(2);
  emit('{"info": {"description": "synthetic, COCO train2017\'s size"}, "licenses": [{"id": 1, "name": "x", "url": "x"}], "images": [');
  for (let i = 0; i < IMAGES; i++) {
    const id = 9 + i * 4;
    emit(
      `${i ? ', ' : ''}{"license": 3, "file_name": "${String(id).padStart(12, '0')}.jpg", "coco_url": "http://example.org/train2017/${String(id).padStart(12, '0')}.jpg", "height": 480, "width": 640, "date_captured": "2013-11-14 16:28:13", "flickr_url": "http://example.org/flickr/${id}_1c5cb5bf9e_z.jpg", "id": ${id}}`,
    );
  }
  emit('], "annotations": [');
  for (let k = 0; k < ANNOTATIONS; k++) {
    const crowd = random() < 0.01;
    const points = 8 + Math.floor(random() * 33);
    const segmentation = crowd
      ? `{"counts": [${Array.from({ length: 60 }, () => Math.floor(random() * 900)).join(', ')}], "size": [480, 640]}`
      : `[[${Array.from({ length: 2 * points }, coordinate).join(', ')}]]`;
    const box = [coordinate(), coordinate(), (random() * 300).toFixed(2), (random() * 300).toFixed(2)];
    const imageId = 9 + Math.floor(random() * IMAGES) * 4;
    const category = CATEGORY_IDS[Math.floor(random() * CATEGORY_IDS.length)];
    emit(
      `${k ? ', ' : ''}{"segmentation": ${segmentation}, "area": ${(random() * 50000).toFixed(5)}, "iscrowd": ${crowd ? 1 : 0}, "image_id": ${imageId}, "bbox": [${box.join(', ')}], "category_id": ${category}, "id": ${1 + k * 2}}`,
    );
  }
  emit(`], "categories": [${CATEGORY_IDS.map((id) => `{"supercategory": "thing", "id": ${id}, "name": "category ${id}"}`).join(', ')}]}`);
  flush();
  closeSync(fd);
}

const mib = (bytes: number) => bytes / 2 ** 20;

/** One read, in this process: what the index keeps after a full collection, as JSON on stdout. */
async function readOnce(path: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const dataset = openCocoDetection(path, { requireImages: false });
  const seconds = (performance.now() - started) / 1000;
  // Two collections a moment apart, so that buffers freed by the first are swept before counting.
  gc();
  await new Promise((resolve) => setTimeout(resolve, 500));
  gc();
  const after = process.memoryUsage();
  const kept = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  let objects = 0;
  for (let i = 0; i < dataset.length; i++) objects += dataset.objects(i).count;
  process.stdout.write(`${JSON.stringify({ seconds, keptMiB: mib(kept), images: dataset.length, objects })}\n`);
}

/** Wall seconds and peak resident MiB of a command (GNU time), and its last line of output. */
function measure(command: string, args: readonly string[]): { seconds: number; peakMiB: number; output: string } {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], { encoding: 'utf8', maxBuffer: 2 ** 20 });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stderr}`);
  const [seconds, kib] = run.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { seconds: seconds!, peakMiB: kib! / 1024, output: run.stdout.trim() };
}

function cpuLines(): string[] {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout;
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(lscpu)?.[1] ?? 'unknown';
  return [`CPU: ${field('Model name')}, ${field('CPU\\(s\\)')} logical CPUs.`, `Flags: ${field('Flags')}`];
}

async function compare(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'netspec-coco-index-'));
  try {
    await compareOn(join(folder, 'instances_train_synthetic.json'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function compareOn(file: string): Promise<void> {
  writeSyntheticCoco(file);
  const fileMiB = mib(statSync(file).size);
  const sides = {
    netspec: () => measure(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/coco-index.ts', 'read', file]),
    'JSON.parse in Node (peer)': () =>
      measure(process.execPath, [
        '--max-old-space-size=16384',
        '-e',
        `const o = JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8')); console.log(o.annotations.length)`,
      ]),
    'json.load in Python, as pycocotools (peer)': () =>
      measure('/usr/bin/python3', ['-c', `import json; print(len(json.load(open(${JSON.stringify(file)}))['annotations']))`]),
  };
  const best: Record<string, { seconds: number; peakMiB: number; output: string }> = {};
  // Alternate rounds; each side's fastest.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(sides)) {
      const result = run();
      if (best[name] === undefined || result.seconds < best[name]!.seconds) best[name] = result;
    }
  }
  const netspec = JSON.parse(best.netspec!.output) as { seconds: number; keptMiB: number; images: number; objects: number };
  if (netspec.images !== IMAGES || netspec.objects !== ANNOTATIONS) throw new Error(`the index holds ${netspec.images} images and ${netspec.objects} objects`);
  const table = [
    `## COCO annotations index — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: ${cpuLines().join('\n')}`,
    `Node ${process.version}. A synthetic annotations file of COCO train2017's size: ${IMAGES.toLocaleString('en-US')} images, ${ANNOTATIONS.toLocaleString('en-US')} annotations with polygons (1% crowds as RLE), ${fileMiB.toFixed(0)} MiB. Whole processes, the fastest of ${ROUNDS} alternating rounds; peak resident memory from GNU time.`,
    '',
    '| what | wall s | MB/s | peak RSS MiB |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(best).map(
      ([name, r]) => `| ${name} | ${r.seconds.toFixed(1)} | ${((fileMiB * 2 ** 20) / 1e6 / r.seconds).toFixed(0)} | ${r.peakMiB.toFixed(0)} |`,
    ),
    '',
    `netspec's index of the ${ANNOTATIONS.toLocaleString('en-US')} annotations keeps ${netspec.keptMiB.toFixed(1)} MiB after a full collection (${((netspec.keptMiB * 2 ** 20) / ANNOTATIONS).toFixed(0)} bytes an annotation, file names included); reading alone took ${netspec.seconds.toFixed(1)} s of the wall time above.`,
    '',
  ];
  appendFileSync('bench/results.md', `${table.join('\n')}\n`);
  console.log(table.join('\n'));
}

if (process.argv[2] === 'read') await readOnce(process.argv[3]!);
else await compare();
