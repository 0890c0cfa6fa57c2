// RetinaNet post-processing: anchors, decoding, score selection and NMS against torchvision 0.14 run at test time
// on the same raw head outputs, plus hand-worked boxes, NMS and tie rules, and the input checks.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  anchorsPerLocation,
  decodeDetections,
  generateAnchors,
  retinanetDefaultAnchors,
  type AnchorOptions,
  type DetectionOptions,
  type Detections,
  type LevelOutput,
} from '../src/runtime/tasks/detection.js';

const PYTHON = '/usr/bin/python3';

interface Case {
  readonly name: string;
  readonly imageHeight: number;
  readonly imageWidth: number;
  readonly anchors: AnchorOptions | 'default';
  readonly classes: number;
  readonly levels: readonly LevelOutput[];
  readonly options: DetectionOptions;
}

/** mulberry32: a small seeded generator, so every run sees the same outputs. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/**
 * Logits for every level from one shuffled ramp, lo + span·u^power with u = rank / count: all distinct, and far
 * enough apart (≥ 1e-4 in logit above the threshold) that their float32 sigmoids differ by many ulps. So no two
 * scores tie, and torchvision's order, which is unspecified among ties, is the one order there is.
 */
function distinctLogits(next: () => number, lengths: readonly number[], lo: number, span: number, power: number): Float32Array[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  const ranks = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
  }
  const values = ranks.map((r) => lo + span * (r / total) ** power);
  let at = 0;
  return lengths.map((n) => Float32Array.from(values.slice(at, (at += n))));
}

/** Regression deltas of spread sigma; a few dw, dh of 5 reach torchvision's log(1000 / 16) clamp. */
function regressionDeltas(next: () => number, count: number, sigma: number): Float32Array {
  return Float32Array.from({ length: count * 4 }, (_, i) => (i % 4 >= 2 && next() < 0.03 ? 5 : sigma * gaussian(next)));
}

function randomCase(
  name: string,
  seed: number,
  shape: Omit<Case, 'name' | 'levels' | 'options'>,
  sizes: readonly [number, number][],
  logits: { lo: number; span: number; power: number; sigma: number },
  options: DetectionOptions = {},
): Case {
  const next = random(seed);
  const anchorOptions = shape.anchors === 'default' ? retinanetDefaultAnchors() : shape.anchors;
  const boxes = sizes.map(([h, w], level) => h * w * anchorsPerLocation(anchorOptions, level));
  const classLogits = distinctLogits(
    next,
    boxes.map((n) => n * shape.classes),
    logits.lo,
    logits.span,
    logits.power,
  );
  const levels = sizes.map(([height, width], level) => ({
    height,
    width,
    classLogits: classLogits[level]!,
    boxRegression: regressionDeltas(next, boxes[level]!, logits.sigma),
  }));
  return { name, ...shape, levels, options };
}

// (a) A ResNet50-FPN's P3–P7 on a 97×61 image: conv1 and the max pool give 25×16, then stride-2 3×3 convs with
// padding 1 give ceil halves, 13×8 (P3), 7×4, 4×2, 2×1 (P6) and 1×1 (P7); strides 97 // 13 = 7 … 97 // 1 = 97.
const resnetFpn = randomCase(
  'resnet-fpn',
  1,
  { imageHeight: 97, imageWidth: 61, anchors: 'default', classes: 91 },
  [
    [13, 8],
    [7, 4],
    [4, 2],
    [2, 1],
    [1, 1],
  ],
  { lo: -9, span: 11, power: 4, sigma: 0.3 },
);
// (b) Dense, similar anchors with small deltas, so boxes overlap heavily, and scores within ±1 logit of 0.05. Sizes
// 21 and 25 have half-integer halves that torch rounds to even. Few candidates: batched_nms's class-offset path.
const overlapping = randomCase(
  'overlapping',
  2,
  {
    imageHeight: 40,
    imageWidth: 40,
    anchors: {
      sizes: [[15, 21, 25], [33]],
      ratios: [
        [0.5, 1, 2],
        [1, 2],
      ],
    },
    classes: 3,
  },
  [
    [5, 5],
    [3, 3],
  ],
  { lo: -3.944, span: 2, power: 1, sigma: 0.1 },
);
// (c) Most scores pass: level 0 has about 2800 above the threshold for 1000 candidates; NMS runs per class.
const crowded = randomCase(
  'crowded',
  3,
  {
    imageHeight: 64,
    imageWidth: 64,
    anchors: {
      sizes: [[8], [16]],
      ratios: [
        [0.5, 1, 2],
        [0.5, 1, 2],
      ],
    },
    classes: 4,
  },
  [
    [16, 16],
    [8, 8],
  ],
  { lo: -3.5, span: 6, power: 1, sigma: 0.3 },
);
// (d) Every option away from its default.
const tuned = randomCase(
  'options',
  4,
  {
    imageHeight: 48,
    imageWidth: 40,
    anchors: {
      sizes: [[12, 20], [24]],
      ratios: [
        [1, 2],
        [0.5, 1],
      ],
    },
    classes: 5,
  },
  [
    [6, 5],
    [3, 3],
  ],
  { lo: -4, span: 6, power: 1, sigma: 0.2 },
  { scoreThreshold: 0.2, nmsThreshold: 0.3, detectionsPerImage: 20, topkCandidates: 50 },
);
const cases = [resnetFpn, overlapping, crowded, tuned];

function toLittleEndian(values: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => (values instanceof Float32Array ? view.setFloat32(i * 4, v, true) : view.setInt32(i * 4, v, true)));
  return bytes;
}

function readLittleEndian(path: string, kind: 'float' | 'int'): number[] {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => (kind === 'float' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true)));
}

function writeCase(root: string, c: Case): void {
  const folder = join(root, c.name);
  mkdirSync(folder);
  const levels = c.levels.map(({ height, width }) => ({ height, width }));
  writeFileSync(
    join(folder, 'manifest.json'),
    JSON.stringify({ imageHeight: c.imageHeight, imageWidth: c.imageWidth, anchors: c.anchors, classes: c.classes, levels, options: c.options }),
  );
  c.levels.forEach((level, i) => {
    writeFileSync(join(folder, `level-${i}-logits.bin`), toLittleEndian(level.classLogits));
    writeFileSync(join(folder, `level-${i}-regression.bin`), toLittleEndian(level.boxRegression));
  });
}

interface Reference {
  readonly anchors: number[][];
  readonly boxes: number[];
  readonly scores: number[];
  readonly labels: number[];
  readonly sizes: number[][];
  readonly ratios: number[][];
}

function readReference(root: string, c: Case): Reference {
  const folder = join(root, c.name);
  const result = JSON.parse(readFileSync(join(folder, 'result.json'), 'utf8')) as { count: number; sizes: number[][]; ratios: number[][] };
  const anchors = c.levels.map((_, i) => readLittleEndian(join(folder, `anchors-${i}.bin`), 'float'));
  const scores = readLittleEndian(join(folder, 'scores.bin'), 'float');
  assert.is(scores.length, result.count);
  return {
    anchors,
    boxes: readLittleEndian(join(folder, 'boxes.bin'), 'float'),
    scores,
    labels: readLittleEndian(join(folder, 'labels.bin'), 'int'),
    sizes: result.sizes,
    ratios: result.ratios,
  };
}

const folder = mkdtempSync(join(tmpdir(), 'netspec-detection-'));
const references = new Map<string, Reference>();

test.before(() => {
  for (const c of cases) writeCase(folder, c);
  const run = spawnSync(PYTHON, ['scripts/detection-reference.py', folder], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the torchvision reference script failed:\n${run.stderr}`);
  for (const c of cases) references.set(c.name, readReference(folder, c));
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - w * h;
  return (w * h) / union;
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

/** Index by index: same label, score within 1e-4, box IoU ≥ 0.99 (or identical, for a box clipped to zero area). */
function compareDetections(name: string, ours: Detections, reference: Reference): { box: number; score: number } {
  assert.is(ours.scores.length, reference.scores.length, `${name}: detection count`);
  let box = 0;
  let score = 0;
  for (let i = 0; i < ours.scores.length; i++) {
    const mine = ours.boxes.subarray(i * 4, i * 4 + 4);
    const theirs = reference.boxes.slice(i * 4, i * 4 + 4);
    const boxDifference = Math.max(...theirs.map((v, k) => relative(mine[k]!, v)));
    assert.is(ours.labels[i], reference.labels[i], `${name}: label of detection ${i}`);
    assert.ok(Math.abs(ours.scores[i]! - reference.scores[i]!) <= 1e-4, `${name}: score of detection ${i}`);
    assert.ok(iou(mine, theirs) >= 0.99 || boxDifference <= 1e-4, `${name}: box ${i} [${[...mine]}] vs [${theirs}]`);
    assert.ok(boxDifference <= 1e-4, `${name}: box ${i} differs by ${boxDifference} relative`);
    box = Math.max(box, boxDifference);
    score = Math.max(score, Math.abs(ours.scores[i]! - reference.scores[i]!));
  }
  return { box, score };
}

for (const c of cases) {
  test(`${c.name}: anchors and detections agree with torchvision`, () => {
    const reference = references.get(c.name)!;
    const anchorOptions = c.anchors === 'default' ? retinanetDefaultAnchors() : c.anchors;
    const anchors = generateAnchors(c.imageHeight, c.imageWidth, c.levels, anchorOptions);
    let anchorDifference = 0;
    anchors.forEach((level, i) => {
      assert.is(level.length, reference.anchors[i]!.length, `level ${i} anchor count`);
      level.forEach((v, k) => (anchorDifference = Math.max(anchorDifference, Math.abs(v - reference.anchors[i]![k]!))));
    });
    assert.ok(anchorDifference <= 1e-4, `anchors differ by ${anchorDifference}`);
    // The premise of index-by-index matching: torchvision's scores strictly decrease, so no ties to reorder.
    reference.scores.forEach((s, i) => i === 0 || assert.ok(s < reference.scores[i - 1]!, `tied reference scores at ${i}`));
    const ours = decodeDetections(c.levels, c.imageHeight, c.imageWidth, anchorOptions, c.options);
    const { box, score } = compareDetections(c.name, ours, reference);
    console.log(
      `  ${c.name}: ${ours.scores.length} detections, max anchor diff ${anchorDifference}, box rel diff ${box.toExponential(2)}, score diff ${score.toExponential(2)}`,
    );
  });
}

test('the default anchors are torchvision _default_anchorgen', () => {
  const defaults = retinanetDefaultAnchors();
  const reference = references.get(resnetFpn.name)!;
  assert.equal(defaults.sizes, reference.sizes);
  assert.equal(defaults.ratios, reference.ratios);
  // int(x · 2^(1/3)) and int(x · 2^(2/3)) truncate: 32 · 1.26 = 40.3 → 40 and 32 · 1.587 = 50.8 → 50.
  assert.equal(defaults.sizes[0], [32, 40, 50]);
  assert.is(anchorsPerLocation(defaults, 4), 9);
});

test('the cases exercise what they are for', () => {
  const counts = (c: Case, level: number) => c.levels[level]!.classLogits.filter((v) => 1 / (1 + Math.exp(-v)) > 0.05).length;
  assert.ok(counts(crowded, 0) > 1000, `crowded level 0 has ${counts(crowded, 0)} scores above 0.05`);
  assert.is(references.get(crowded.name)!.scores.length, 300, 'crowded is cut to detectionsPerImage');
  const candidates = overlapping.levels.reduce((n, _, i) => n + counts(overlapping, i), 0);
  assert.ok(candidates < 1000 && references.get(overlapping.name)!.scores.length < candidates / 2, 'overlapping: NMS removes most candidates');
  assert.is(references.get(tuned.name)!.scores.length, 20);
});

test('cell anchors by hand: ratio-major order, half to even, integer strides', () => {
  // Image 35×50 over a 2×3 level: strides 35 // 2 = 17 and 50 // 3 = 16. Ratio 1, size 5: ±2.5 → ±2 (half to
  // even). Ratio 1, size 32: ±16. Ratio 2 (height / width): sqrt 2 = 1.41421, width 5 / 1.41421 = 3.536 and height
  // 7.071 halve to 1.77 → 2 and 3.54 → 4; size 32 gives 22.63 and 45.25, halved 11.31 → 11 and 22.63 → 23.
  const [anchors] = generateAnchors(35, 50, [{ height: 2, width: 3 }], { sizes: [[5, 32]], ratios: [[1, 2]] });
  assert.is(anchors!.length, 2 * 3 * 4 * 4);
  assert.equal([...anchors!.subarray(0, 16)], [-2, -2, 2, 2, -16, -16, 16, 16, -2, -4, 2, 4, -11, -23, 11, 23]);
  // Location (y 1, x 2) is the sixth; its centre is (2 · 16, 1 · 17) = (32, 17).
  assert.equal([...anchors!.subarray(5 * 16, 5 * 16 + 4)], [30, 15, 34, 19]);
  assert.equal([...anchors!.subarray(5 * 16 + 12, 5 * 16 + 16)], [21, -6, 43, 40]);
});

/** One 2×2 level of 1 anchor and 3 classes on a 32×32 image, every logit −10 but those given. */
function singleLevel(logits: Record<number, number>, deltas: Record<number, number[]>): LevelOutput {
  const classLogits = new Float32Array(2 * 2 * 3).fill(-10);
  for (const [i, v] of Object.entries(logits)) classLogits[Number(i)] = v;
  const boxRegression = new Float32Array(2 * 2 * 4);
  for (const [anchor, d] of Object.entries(deltas)) boxRegression.set(d, Number(anchor) * 4);
  return { height: 2, width: 2, classLogits, boxRegression };
}

const closeTo = (actual: ArrayLike<number>, expected: number[], tolerance = 1e-5) => expected.every((v, i) => Math.abs(actual[i]! - v) <= tolerance);

test('decoding by hand', () => {
  // Size 16, ratio 1, stride 32 // 2 = 16: the anchor at location (1, 1) is [8, 8, 24, 24], the one at (0, 0) is
  // [−8, −8, 8, 8]. Flat logit index = anchor · 3 + class.
  const level = singleLevel({ [3 * 3 + 2]: 0, [0 * 3 + 0]: 1 }, { 3: [0.25, -0.5, Math.LN2, 0], 0: [-30, 0, 10, -1] });
  const result = decodeDetections([level], 32, 32, { sizes: [[16]], ratios: [[1]] });
  // Anchor 3: width 16, centre (16, 16). Centre x 16 + 0.25 · 16 = 20, y 16 − 0.5 · 16 = 8; width 16 · e^ln2 = 32,
  // height 16 → [4, 0, 36, 16], clipped to the 32-wide image: [4, 0, 32, 16]. Score sigmoid(0) = 0.5, class 2.
  // Anchor 0: centre x 0 − 30 · 16 = −480; dw 10 is clamped to log(1000 / 16), width 16 · 62.5 = 1000:
  // [−980, 20] → [0, 20] (unclamped, 16 · e^10 would reach past 32). Height 16 · e^−1 = 5.886 about 0:
  // [−2.943, 2.943] → [0, 2.943]. Score sigmoid(1) = 0.731 puts it first. (The clamp is log(62.5) rounded to
  // float32, as torch holds it, so x2 comes out 20.00003.)
  assert.equal([...result.labels], [0, 2]);
  assert.ok(closeTo(result.scores, [1 / (1 + Math.exp(-1)), 0.5]), `scores ${[...result.scores]}`);
  assert.ok(closeTo(result.boxes, [0, 0, 20, 8 * Math.exp(-1), 4, 0, 32, 16], 1e-4), `boxes ${[...result.boxes]}`);
});

/** Two anchors of size 16 centred at 0 on a 48×48 image; deltas move them to [8, 8, 24, 24] and [8, 8, 24, 40]. */
function twoBoxes(logits: number[]): LevelOutput[] {
  // Anchor [−8, −8, 8, 8]: dx = dy = 1 centres it at (16, 16). The second: dy = 1.5 centres it at y 24 and
  // dh = ln 2 doubles its height to 32, so y spans [8, 40]. IoU = 256 / (256 + 512 − 256) = 0.5 exactly.
  return [{ height: 1, width: 1, classLogits: Float32Array.from(logits), boxRegression: Float32Array.of(1, 1, 0, 0, 1, 1.5, 0, Math.LN2) }];
}

test('NMS by hand: IoU strictly above the threshold suppresses, within a class only', () => {
  const anchors = { sizes: [[16, 16]], ratios: [[1]] };
  // Two classes; logits [anchor 0: 2, −10; anchor 1: 1, 0.5].
  const level = twoBoxes([2, -10, 1, 0.5]);
  const at = (nmsThreshold: number) => decodeDetections(level, 48, 48, anchors, { nmsThreshold });
  // IoU 0.5 is not above 0.5: all three kept, by score 0.881, 0.731, 0.622.
  assert.equal([...at(0.5).labels], [0, 0, 1]);
  assert.ok(closeTo(at(0.5).boxes, [8, 8, 24, 24, 8, 8, 24, 40, 8, 8, 24, 40]), `boxes ${[...at(0.5).boxes]}`);
  // Below 0.5 the second class-0 box goes; the class-1 box at the same place stays.
  assert.equal([...at(0.49).labels], [0, 1]);
  assert.ok(closeTo(at(0.49).scores, [1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(-0.5))]));
  assert.is(decodeDetections(level, 48, 48, anchors, { nmsThreshold: 0.49, detectionsPerImage: 1 }).scores.length, 1);
});

test('ties keep candidate order: lower flat index first, and first past the top-k cut', () => {
  const anchors = { sizes: [[16, 16]], ratios: [[1]] };
  const level = twoBoxes([1, 1, 1, 1]);
  // Equal scores, no overlap across classes, IoU 0.5 not suppressed: flat order (anchor 0, class 0), (0, 1), (1, 0)…
  assert.equal([...decodeDetections(level, 48, 48, anchors).labels], [0, 1, 0, 1]);
  const cut = decodeDetections(level, 48, 48, anchors, { topkCandidates: 3 });
  assert.equal([...cut.labels], [0, 1, 0]);
  assert.ok(closeTo(cut.boxes.subarray(8), [8, 8, 24, 40]));
});

test('input checks', () => {
  const anchors = { sizes: [[16]], ratios: [[1]] };
  const level = singleLevel({}, {});
  const fails = (run: () => unknown, message: RegExp) => assert.throws(run, (e: Error) => message.test(e.message));
  fails(() => decodeDetections([level], 32, 32, { sizes: [[16]], ratios: [[1], [2]] }), /1 levels of sizes but 2 of ratios/);
  fails(() => decodeDetections([level, level], 32, 32, anchors), /2 feature levels but the anchor options have 1/);
  fails(() => decodeDetections([{ ...level, boxRegression: new Float32Array(15) }], 32, 32, anchors), /boxRegression has 15 values, expected 2×2×1×4 = 16/);
  fails(() => decodeDetections([{ ...level, classLogits: new Float32Array(13) }], 32, 32, anchors), /classLogits has 13 values/);
  const twoLevels = { sizes: [[16], [16]], ratios: [[1], [1]] };
  fails(() => decodeDetections([level, { ...level, classLogits: new Float32Array(8) }], 32, 32, twoLevels), /disagree on the number of classes: 3, 2/);
  fails(() => decodeDetections([level], 32.5, 32, anchors), /image size must be positive integers/);
  fails(() => decodeDetections([{ ...level, height: 40 }], 32, 32, anchors), /40×2 is larger than the 32×32 image/);
  fails(() => decodeDetections([level], 32, 32, anchors, { nmsThreshold: 1.5 }), /nmsThreshold must be between 0 and 1/);
  fails(() => decodeDetections([level], 32, 32, anchors, { topkCandidates: 0 }), /topkCandidates must be a positive integer/);
  fails(() => decodeDetections([level], 32, 32, anchors, { scoreThreshold: Number.NaN }), /scoreThreshold must be a finite number/);
  fails(() => generateAnchors(32, 32, [{ height: 2, width: 2 }], { sizes: [[-4]], ratios: [[1]] }), /positive numbers/);
  fails(() => anchorsPerLocation(anchors, 1), /level 1 is out of range/);
});

test.run();
