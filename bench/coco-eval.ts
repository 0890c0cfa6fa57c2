// The COCO box metric alone, netspec's evaluator against pycocotools, on seeded synthetic data the size of COCO's
// val2017: 5,000 images, 100 detections each, 80 categories (COCO's ids, 1…90 with gaps), about 7 objects an
// image with some crowds. Rounds alternate between the two; each side's fastest is kept. Both sides are timed from
// parsed JSON in memory to the twelve figures (pycocotools: loadRes of the parsed list, evaluate, accumulate,
// summarize), and their figures must agree exactly. pycocotools is found by Python's import path (PYTHONPATH, with
// PYCOCOTOOLS_VERSION naming it); without it the bench times netspec alone. Appends to bench/results.md.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CocoAnnotation, CocoDetection } from '../src/metrics/coco-evaluator.js';
import { evaluateCoco, type CocoGroundTruth } from '../src/metrics/coco.js';
import { seededRandom } from '../test/support/mutate.js';

const PYTHON = '/usr/bin/python3';
const IMAGES = 5000;
const DETECTIONS_PER_IMAGE = 100;
const ROUNDS = 3;
// COCO's 80 category ids.
const CATEGORY_IDS = Array.from({ length: 90 }, (_, i) => i + 1).filter((id) => ![12, 26, 29, 30, 45, 66, 68, 69, 71, 83].includes(id));

function syntheticSet(): { groundTruth: CocoGroundTruth; detections: CocoDetection[] } {
  const random = seededRandom(2017);
  const images = Array.from({ length: IMAGES }, (_, i) => ({ id: 1 + i * 7, width: 640, height: 480 }));
  const annotations: CocoAnnotation[] = [];
  const detections: CocoDetection[] = [];
  for (const image of images) {
    const objects: CocoAnnotation[] = [];
    for (let n = random.int(15); n > 0; n--) {
      const side = 8 + random.next() ** 2 * 300;
      const [w, h] = [side * (0.5 + random.next()), side * (0.5 + random.next())];
      const bbox = [random.next() * (image.width - w / 2), random.next() * (image.height - h / 2), w, h];
      objects.push({
        id: annotations.length + objects.length + 1,
        image_id: image.id,
        category_id: random.pick(CATEGORY_IDS),
        bbox,
        area: w * h * (0.5 + 0.5 * random.next()),
        iscrowd: random.chance(0.01) ? 1 : 0,
      });
    }
    annotations.push(...objects);
    for (let n = 0; n < DETECTIONS_PER_IMAGE; n++) {
      const near = objects.length > 0 && random.chance(0.3) ? random.pick(objects) : undefined;
      const bbox = near
        ? near.bbox.map((v, i) => v + (random.next() - 0.5) * 0.3 * near.bbox[i < 2 ? i + 2 : i]!)
        : [random.next() * 600, random.next() * 440, 5 + random.next() * 200, 5 + random.next() * 200];
      const category_id = near && random.chance(0.8) ? near.category_id : random.pick(CATEGORY_IDS);
      detections.push({ image_id: image.id, category_id, bbox, score: Math.round(random.next() * 1000) / 1000 });
    }
  }
  return { groundTruth: { images, annotations, categories: CATEGORY_IDS.map((id) => ({ id, name: `class-${id}` })) }, detections };
}

const PYCOCOTOOLS_ROUND = `
import copy, io, json, sys, time, contextlib
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1])
detections = json.load(open(sys.argv[2]))
with contextlib.redirect_stdout(io.StringIO()):
    started = time.perf_counter()
    E = COCOeval(gt, gt.loadRes(detections), 'bbox')
    E.evaluate(); E.accumulate(); E.summarize()
    seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "stats": [float(s) for s in E.stats]}))
`;

function pycocotoolsAvailable(): string | undefined {
  // pycocotools' sources carry no version number; PYCOCOTOOLS_VERSION names the one on the path for the record.
  const probe = spawnSync(PYTHON, ['-c', 'import pycocotools, pycocotools._mask'], { encoding: 'utf8' });
  return probe.status === 0 ? (process.env['PYCOCOTOOLS_VERSION'] ?? '(version not given)') : undefined;
}

function cpuDescription(): { model: string; flags: string } {
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(lscpu)?.[1]?.trim() ?? 'unknown';
  return { model: field('Model name'), flags: field('Flags') };
}

const work = mkdtempSync(join(tmpdir(), 'netspec-coco-bench-'));
try {
  const set = syntheticSet();
  const [gtPath, dtPath] = [join(work, 'gt.json'), join(work, 'dt.json')];
  writeFileSync(gtPath, JSON.stringify(set.groundTruth));
  writeFileSync(dtPath, JSON.stringify(set.detections));
  const version = pycocotoolsAvailable();
  const times = { netspec: [] as number[], pycocotools: [] as number[] };
  let netspecStats: readonly number[] = [];
  let pycocotoolsStats: readonly number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    netspecStats = evaluateCoco(set.groundTruth, set.detections).stats;
    times.netspec.push((performance.now() - started) / 1000);
    console.log(`round ${round + 1}: netspec ${times.netspec.at(-1)!.toFixed(2)} s`);
    if (version === undefined) continue;
    const run = spawnSync(PYTHON, ['-c', PYCOCOTOOLS_ROUND, gtPath, dtPath], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (run.status !== 0) throw new Error(`pycocotools failed:\n${run.stderr}`);
    const result = JSON.parse(run.stdout) as { seconds: number; stats: number[] };
    times.pycocotools.push(result.seconds);
    pycocotoolsStats = result.stats;
    console.log(`round ${round + 1}: pycocotools ${result.seconds.toFixed(2)} s`);
  }
  const agree = version === undefined ? 'not compared' : netspecStats.every((s, i) => Object.is(s, pycocotoolsStats[i])) ? 'identical' : 'DIFFERENT';
  const best = (xs: number[]) => Math.min(...xs);
  const cpu = cpuDescription();
  const rows = [`| netspec \`evaluateCoco\` | ${best(times.netspec).toFixed(2)} s | ${times.netspec.map((s) => s.toFixed(2)).join(', ')} |`];
  if (version !== undefined)
    rows.push(
      `| pycocotools ${version} (loadRes, evaluate, accumulate, summarize) | ${best(times.pycocotools).toFixed(2)} s | ${times.pycocotools.map((s) => s.toFixed(2)).join(', ')} |`,
    );
  const ratio =
    version === undefined
      ? 'pycocotools was not importable, so netspec ran alone.'
      : `pycocotools takes ${(best(times.pycocotools) / best(times.netspec)).toFixed(0)}× netspec's time; the twelve figures are ${agree}.`;
  const section = [
    '',
    `## COCO box metric alone (${new Date().toISOString().slice(0, 10)})`,
    '',
    `\`npx tsx bench/coco-eval.ts\`: ${IMAGES} images × ${DETECTIONS_PER_IMAGE} detections over ${CATEGORY_IDS.length} categories (${set.groundTruth.annotations.length} objects), seeded; from parsed JSON to the twelve figures; ${ROUNDS} alternating rounds, best of each. Node ${process.version}.`,
    `CPU: ${cpu.model}. Flags: ${cpu.flags}.`,
    '',
    '| evaluator | best | rounds |',
    '| --- | ---: | --- |',
    ...rows,
    '',
    ratio,
    '',
  ].join('\n');
  console.log(section);
  appendFileSync('bench/results.md', section);
} finally {
  rmSync(work, { recursive: true, force: true });
}
