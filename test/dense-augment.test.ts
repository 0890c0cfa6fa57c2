// Detection and segmentation augmentations: drawn objects must stay framed by their moved boxes and aligned with their
// masks under many seeds, crops must clip and drop boxes, flips must mirror exactly, jitter off must be the evaluation
// letterbox byte for byte, and the segmentation recipe must give PIL's bytes (nearest masks included) for given draws.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mulberry32 } from '../src/random/mulberry32.js';
import { fitImage, naturalSize } from '../src/runtime/images/pipeline.js';
import type { Pixels } from '../src/runtime/images/pixels.js';
import { crop, resample } from '../src/runtime/images/resample.js';
import { augmentDetection, augmentDetectionAtSize, augmentSegmentation, type ImageWithBoxes } from '../src/train/dense-augment.js';

const PYTHON = '/usr/bin/python3';
const havePil = spawnSync(PYTHON, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0;
if (!havePil) console.log(`\n  dense-augment.test.ts: the PIL comparison is skipped; it needs ${PYTHON} with PIL\n`);

type Rgb = readonly [number, number, number];
const BACKGROUND: Rgb = [40, 90, 160];
/** Each object's colour by its label, far from the background and from each other. */
const COLOURS: Readonly<Record<number, Rgb>> = { 7: [250, 20, 20], 9: [20, 230, 40] };

/** A background with filled rectangles [x1, y1, x2, y2) of whole pixels in their label's colour, and their true boxes. */
function scene(width: number, height: number, objects: { label: number; box: [number, number, number, number] }[]): ImageWithBoxes {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(BACKGROUND, 3 * i);
  for (const { label, box } of objects) {
    const [x1, y1, x2, y2] = box;
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) data.set(COLOURS[label]!, 3 * (y * width + x));
  }
  const pixels: Pixels = { width, height, channels: 3, data };
  return { pixels, boxes: Float32Array.from(objects.flatMap((o) => o.box)), labels: Int32Array.from(objects, (o) => o.label) };
}

const distance = (data: Uint8Array, i: number, colour: Rgb) => (data[i]! - colour[0]) ** 2 + (data[i + 1]! - colour[1]) ** 2 + (data[i + 2]! - colour[2]) ** 2;

/** The tight box [x1, y1, x2, y2] of the pixels nearer `colour` than the background or any other object's colour. */
function colourBox(image: Pixels, colour: Rgb): number[] | undefined {
  const others = [BACKGROUND, ...Object.values(COLOURS).filter((c) => c !== colour)];
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const i = 3 * (y * image.width + x);
      if (!others.every((other) => distance(image.data, i, colour) < distance(image.data, i, other))) continue;
      box.splice(0, 4, Math.min(box[0]!, x), Math.min(box[1]!, y), Math.max(box[2]!, x + 1), Math.max(box[3]!, y + 1));
    }
  }
  return box[0] === Infinity ? undefined : box;
}

/** Every returned box frames its object's pixels within a pixel (resampling blurs edges); a dropped object shows at most a sliver. */
function assertFramed(result: { pixels: Pixels; boxes: Float32Array; labels: Int32Array }, what: string): void {
  for (const label of Object.keys(COLOURS).map(Number)) {
    const seen = colourBox(result.pixels, COLOURS[label]!);
    const k = [...result.labels].indexOf(label);
    if (k < 0) {
      assert.ok(seen === undefined || seen[2]! - seen[0]! <= 2 || seen[3]! - seen[1]! <= 2, `${what}: label ${label} dropped, yet its object shows at ${seen}`);
      continue;
    }
    const box = [...result.boxes.subarray(4 * k, 4 * k + 4)];
    assert.ok(seen, `${what}: label ${label} kept at ${box}, but no pixel of its colour is left`);
    assert.ok(
      box.every((edge, e) => Math.abs(edge - seen[e]!) <= 1),
      `${what}: label ${label}'s box ${box} does not frame its pixels ${seen}`,
    );
  }
}

/** Two objects in a 60 × 40 image, for a 48 × 48 input: its letterbox scale is min(48 / 40, 48 / 60) = 0.8. */
const twoObjects = () =>
  scene(60, 40, [
    { label: 7, box: [8, 6, 22, 16] },
    { label: 9, box: [38, 20, 55, 36] },
  ]);
const INPUT = { height: 48, width: 48 };

function mirror(image: Pixels): Pixels {
  const { width, channels } = image;
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += channels) {
    const pixel = i / channels;
    const x = pixel % width;
    data.set(image.data.subarray(i, i + channels), (pixel - x + width - 1 - x) * channels);
  }
  return { ...image, data };
}

test('with jitter and flip off, the pixels and placement are fitImage’s letterbox and the boxes scale by its placement', () => {
  const cases = [
    { sample: twoObjects(), input: INPUT, interpolation: 'bilinear' as const },
    { sample: twoObjects(), input: { height: 100, width: 130 }, interpolation: 'bicubic' as const },
    { sample: scene(30, 70, [{ label: 9, box: [3, 10, 20, 50] }]), input: { height: 33, width: 64 }, interpolation: 'bilinear' as const },
  ];
  for (const { sample, input, interpolation } of cases) {
    const result = augmentDetection(sample, input, { horizontalFlip: false, scaleRange: [1, 1], interpolation }, mulberry32(1));
    const letterbox = fitImage(sample.pixels, { ...input, channels: 3, fit: 'letterbox', interpolation });
    assert.equal(result.pixels, letterbox.pixels);
    assert.equal(result.placement, letterbox.placement);
    const { scaleX, scaleY } = letterbox.placement;
    assert.equal(
      result.boxes,
      Float32Array.from(sample.boxes, (v, i) => v * (i % 2 === 0 ? scaleX : scaleY)),
    );
    assert.equal(result.labels, sample.labels);
    assert.is(result.flipped, false);
    assertFramed(result, `letterbox into ${input.width}×${input.height}`);
  }
});

test('under scale jitter, crops, padding and flips, every box frames its object and its label stays with it', () => {
  const sample = twoObjects();
  const seen = { cropped: 0, padded: 0, flipped: 0, dropped: 0 };
  for (let seed = 0; seed < 150; seed++) {
    const result = augmentDetection(sample, INPUT, { horizontalFlip: true, scaleRange: [0.5, 2] }, mulberry32(seed));
    const { filled, left, top } = result.placement;
    assert.equal([result.pixels.width, result.pixels.height], [filled.width, filled.height]);
    assert.ok(filled.width <= INPUT.width && filled.height <= INPUT.height);
    result.boxes.forEach((v, i) => assert.ok(v >= 0 && v <= (i % 2 === 0 ? filled.width : filled.height), `seed ${seed}: ${result.boxes}`));
    assertFramed(result, `seed ${seed}`);
    seen.cropped += Number(left > 0 || top > 0);
    seen.padded += Number(filled.width < INPUT.width || filled.height < INPUT.height);
    seen.flipped += Number(result.flipped);
    seen.dropped += Number(result.labels.length < 2);
  }
  assert.ok(
    Object.values(seen).every((count) => count > 0),
    `every case is met: ${JSON.stringify(seen)}`,
  );
});

test("at an open size's natural size, jitter and flip off give the natural-size fit of evaluation; jitter keeps its window within that size and its boxes framed", () => {
  // 60 × 40 under shorter side 50, longer at most 70: min(50 / 40, 70 / 60) = 1.1666…, so ⌊60 · 1.1666…⌋ × ⌊40 · 1.1666…⌋ = 70 × 46.
  const sizes = { minSize: 50, maxSize: 70, multiple: 16 };
  const sample = twoObjects();
  const natural = naturalSize(sample.pixels, sizes);
  assert.equal(natural, { width: 70, height: 46 });
  // The batch is larger than the image: the natural fit does not depend on it.
  const fitted = fitImage(sample.pixels, { height: 48, width: 80, channels: 3, fit: 'natural', sizes, interpolation: 'bicubic' });
  const plain = augmentDetectionAtSize(sample, natural, { horizontalFlip: false, scaleRange: [1, 1], interpolation: 'bicubic' }, mulberry32(3));
  assert.equal(plain.pixels, fitted.pixels);
  assert.equal(plain.placement, fitted.placement);
  assertFramed(plain, 'natural size');
  const seen = { cropped: 0, padded: 0 };
  for (let seed = 0; seed < 60; seed++) {
    const result = augmentDetectionAtSize(sample, natural, { horizontalFlip: true, scaleRange: [0.5, 1.5] }, mulberry32(seed));
    const { filled, left, top } = result.placement;
    assert.ok(filled.width <= natural.width && filled.height <= natural.height, `seed ${seed}: ${JSON.stringify(filled)}`);
    assertFramed(result, `seed ${seed}`);
    seen.cropped += Number(left > 0 || top > 0);
    seen.padded += Number(filled.width < natural.width);
  }
  assert.ok(seen.cropped > 0 && seen.padded > 0, JSON.stringify(seen));
});

test('a crop cuts the resized image where it says, clips the boxes it cuts and drops those it leaves out, labels and all', () => {
  const sample = twoObjects();
  // A factor of 2 on the letterbox's 0.8: 1.6, the image resized to 96 × 64 and a 48 × 48 window cut from it.
  const whole = resample(sample.pixels, { left: 0, top: 0, width: 60, height: 40 }, 96, 64);
  const counts = { clipped: 0, dropped: 0 };
  for (let seed = 0; seed < 40; seed++) {
    const result = augmentDetection(sample, INPUT, { horizontalFlip: false, scaleRange: [2, 2] }, mulberry32(seed));
    const { left, top } = result.placement;
    assert.equal(result.pixels, crop(whole, { left, top, width: 48, height: 48 }));
    const expected: number[] = [];
    const labels: number[] = [];
    sample.labels.forEach((label, k) => {
      const [x1, y1, x2, y2] = sample.boxes.subarray(4 * k, 4 * k + 4);
      const box = [x1! * 1.6 - left, y1! * 1.6 - top, x2! * 1.6 - left, y2! * 1.6 - top].map((v) => Math.min(48, Math.max(0, v)));
      const cut = box.some((v, i) => v !== [x1, y1, x2, y2][i]! * 1.6 - (i % 2 === 0 ? left : top));
      if (box[2]! - box[0]! < 1 || box[3]! - box[1]! < 1) return void (counts.dropped += 1);
      counts.clipped += Number(cut);
      expected.push(...box);
      labels.push(label);
    });
    assert.equal([...result.labels], labels, `seed ${seed}`);
    assert.ok(
      expected.every((v, i) => Math.abs(v - result.boxes[i]!) < 1e-4),
      `seed ${seed}: ${[...result.boxes]} for ${expected}`,
    );
    assertFramed(result, `seed ${seed}`);
  }
  assert.ok(counts.clipped > 0 && counts.dropped > 0, JSON.stringify(counts));
});

test('a flip mirrors the letterbox exactly, boxes across the filled width; half the seeds flip', () => {
  const sample = twoObjects();
  const letterbox = fitImage(sample.pixels, { ...INPUT, channels: 3, fit: 'letterbox' });
  const { scaleX, scaleY, filled } = letterbox.placement;
  let flips = 0;
  for (let seed = 0; seed < 40; seed++) {
    const result = augmentDetection(sample, INPUT, { horizontalFlip: true, scaleRange: [1, 1] }, mulberry32(seed));
    const boxes = Array.from(sample.boxes, (v, i) => v * (i % 2 === 0 ? scaleX : scaleY));
    const mirrored = boxes.map((_, i) => (i % 2 === 1 ? boxes[i]! : filled.width - boxes[i + (i % 4 === 0 ? 2 : -2)]!));
    assert.equal(result.pixels, result.flipped ? mirror(letterbox.pixels) : letterbox.pixels);
    assert.equal([...result.boxes], [...Float32Array.from(result.flipped ? mirrored : boxes)]);
    flips += Number(result.flipped);
  }
  assert.ok(flips > 8 && flips < 32, `${flips} of 40 flipped`);
});

test('the same seed gives the same sample, another seed another', () => {
  const sample = twoObjects();
  const options = { horizontalFlip: true, scaleRange: [0.5, 2] as const };
  const run = (seed: number) => augmentDetection(sample, INPUT, options, mulberry32(seed));
  assert.equal(run(5), run(5));
  assert.ok([6, 7, 8].some((seed) => run(seed).pixels.data.join() !== run(5).pixels.data.join()));
  const masked = { pixels: sample.pixels, mask: new Uint8Array(60 * 40).fill(3) };
  const segment = (seed: number) => augmentSegmentation(masked, INPUT, mulberry32(seed));
  assert.equal(segment(5), segment(5));
  assert.ok([6, 7, 8].some((seed) => segment(seed).mask.join() !== segment(5).mask.join()));
});

/** A disc of the first object colour (mask 1) on the background (mask 0). */
function discScene(width: number, height: number): { pixels: Pixels; mask: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x + 0.5 - 30) ** 2 + (y + 0.5 - 22) ** 2 < 12 ** 2;
      data.set(inside ? COLOURS[7]! : BACKGROUND, 3 * (y * width + x));
      mask[y * width + x] = inside ? 1 : 0;
    }
  }
  return { pixels: { width, height, channels: 3, data }, mask };
}

test('segmentation: masks stay on their objects, padding is 0 in the image and 255 in the mask, the output is the input size', () => {
  const sample = discScene(70, 50);
  const input = { height: 40, width: 56 };
  let padded = 0;
  for (let seed = 0; seed < 60; seed++) {
    const { pixels, mask } = augmentSegmentation(sample, input, mulberry32(seed));
    assert.equal([pixels.width, pixels.height, pixels.channels, mask.length], [56, 40, 3, 56 * 40]);
    let pad = 0;
    for (let p = 0; p < mask.length; p++) {
      const colour = Array.from(pixels.data.subarray(3 * p, 3 * p + 3));
      const black = colour.every((v) => v === 0);
      assert.is(black, mask[p] === 255, `seed ${seed}, pixel ${p}: colour ${colour}, mask ${mask[p]}`);
      // Nearest picks the source pixel under the centre, which weighs in the blend: a pure colour names that pixel's class.
      if (colour.join() === COLOURS[7]!.join()) assert.is(mask[p], 1, `seed ${seed}, pixel ${p}`);
      if (colour.join() === BACKGROUND.join()) assert.is(mask[p], 0, `seed ${seed}, pixel ${p}`);
      pad += Number(black);
    }
    // The padding is a band at the right or the bottom: the last pixel is padding whenever any is.
    if (pad > 0) assert.is(mask[mask.length - 1], 255);
    padded += Number(pad > 0);
  }
  assert.ok(padded > 0 && padded < 60, `${padded} of 60 padded`);
});

test('segmentation into a 1 × 1 input, whose base of 1 would allow a side of 0, resizes to a pixel at least', () => {
  const sample = { pixels: { width: 3, height: 2, channels: 3 as const, data: new Uint8Array(18).fill(9) }, mask: new Uint8Array(6).fill(4) };
  for (const draw of [0, 0.5]) {
    const { pixels, mask } = augmentSegmentation(sample, { height: 1, width: 1 }, () => draw);
    assert.equal([pixels.width, pixels.height, [...pixels.data], [...mask]], [1, 1, [9, 9, 9], [4]]);
  }
});

/** A uniform draw per number asked for, in order; the test checks that all were asked for. */
function scripted(draws: readonly number[]): { random: () => number; left: () => number } {
  let next = 0;
  return { random: () => draws[next++]!, left: () => draws.length - next };
}

/**
 * torchvision's recipe done by PIL for the same draws: RandomResize as random.randint(int(0.5 base), int(2 base)),
 * F.resize's size (the shorter side, the longer int(size · long / short)), image BILINEAR and mask NEAREST, the
 * flip, pad_if_smaller (0 and 255) and the crop at int(u · (room + 1)) as get_params's randint draws it.
 */
const RECIPE = `
import json, sys
from PIL import Image
out = []
for c in json.load(sys.stdin):
    w, h, H, W, u = c["w"], c["h"], c["H"], c["W"], c["u"]
    base = c["base"] if c["base"] is not None else round(max(H, W) * 520 / 480)
    image, mask = Image.frombytes("RGB", (w, h), bytes(c["image"])), Image.frombytes("L", (w, h), bytes(c["mask"]))
    low, high = int(0.5 * base), int(2.0 * base)
    size = low + int(u[0] * (high - low + 1))
    short, long = (w, h) if w <= h else (h, w)
    nw, nh = (size, int(size * long / short)) if w <= h else (int(size * long / short), size)
    image, mask = image.resize((nw, nh), Image.BILINEAR), mask.resize((nw, nh), Image.NEAREST)
    if u[1] < 0.5:
        image, mask = image.transpose(Image.FLIP_LEFT_RIGHT), mask.transpose(Image.FLIP_LEFT_RIGHT)
    pw, ph = max(nw, W), max(nh, H)
    pad_image, pad_mask = Image.new("RGB", (pw, ph), 0), Image.new("L", (pw, ph), 255)
    pad_image.paste(image, (0, 0))
    pad_mask.paste(mask, (0, 0))
    top, left = int(u[2] * (ph - H + 1)), int(u[3] * (pw - W + 1))
    box = (left, top, left + W, top + H)
    out.append({"size": [nw, nh], "image": list(pad_image.crop(box).tobytes()), "mask": list(pad_mask.crop(box).tobytes())})
print(json.dumps(out))
`;

(havePil ? test : test.skip)('segmentation gives the bytes of PIL doing torchvision’s recipe with the same draws, nearest masks at odd sizes included', () => {
  // Odd sizes shrunk and grown by uneven ratios, flipped or not, cropped or padded on either axis.
  const cases = [
    { w: 37, h: 23, H: 32, W: 32, base: 16, u: [0.99, 0.7, 0.3, 0.8] },
    { w: 97, h: 61, H: 24, W: 40, base: 10, u: [0.3, 0.2, 0.5, 0.5] },
    { w: 7, h: 9, H: 29, W: 31, base: 300, u: [0.5, 0.1, 0.77, 0.13] },
    { w: 50, h: 17, H: 20, W: 20, base: null, u: [0.6, 0.4, 0.9, 0.45] },
    { w: 23, h: 41, H: 33, W: 17, base: 19, u: [0.41, 0.9, 0.05, 0.95] },
    { w: 13, h: 13, H: 31, W: 25, base: 12, u: [0.8, 0.3, 0.6, 0.2] },
    { w: 61, h: 47, H: 19, W: 45, base: 23, u: [0.07, 0.6, 0.99, 0.0] },
    // 2 → 7 columns and 2 → 15 rows: PIL's summed positions fall just short of 1 where (i + ½) · step is exactly 1.
    { w: 2, h: 5, H: 24, W: 24, base: 5, u: [0.6, 0.9, 0.5, 0.5] },
    { w: 9, h: 2, H: 10, W: 30, base: 10, u: [0.65, 0.9, 0.3, 0.4] },
  ].map((c, n) => {
    const random = mulberry32(100 + n);
    const image = Array.from({ length: c.w * c.h * 3 }, () => Math.floor(random() * 256));
    // Classes 0 to 20 and some pixels to ignore.
    const mask = Array.from({ length: c.w * c.h }, () => (random() < 0.1 ? 255 : Math.floor(random() * 21)));
    return { ...c, image, mask };
  });
  const run = spawnSync(PYTHON, ['-c', RECIPE], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(run.status, 0, run.stderr);
  const expected = JSON.parse(run.stdout) as { size: number[]; image: number[]; mask: number[] }[];
  cases.forEach((c, n) => {
    const draws = scripted(c.u);
    const sample = { pixels: { width: c.w, height: c.h, channels: 3 as const, data: Uint8Array.from(c.image) }, mask: Uint8Array.from(c.mask) };
    const result = augmentSegmentation(sample, { height: c.H, width: c.W }, draws.random, c.base === null ? {} : { baseSize: c.base });
    const label = `${c.w}×${c.h} resized to ${expected[n]!.size.join('×')}, cut to ${c.W}×${c.H}`;
    assert.is(draws.left(), 0, `${label}: four draws`);
    assert.equal([...result.mask], expected[n]!.mask, `${label}: mask`);
    assert.equal([...result.pixels.data], expected[n]!.image, `${label}: image`);
  });
});

test('bad input is a RangeError of one line: an empty image, a box of NaN, a label count off, a mask of the wrong length', () => {
  const oneLine = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (e: Error) => e instanceof RangeError && message.test(e.message) && !e.message.includes('\n'));
  const options = { horizontalFlip: true, scaleRange: [0.5, 2] as const };
  const sample = twoObjects();
  const empty = { width: 0, height: 0, channels: 3 as const, data: new Uint8Array(0) };
  oneLine(() => augmentDetection({ ...sample, pixels: empty }, INPUT, options, Math.random), /image size must be whole numbers from 1, got 0×0/);
  oneLine(() => augmentSegmentation({ pixels: empty, mask: new Uint8Array(0) }, INPUT, Math.random), /image size/);
  const nan = Float32Array.from(sample.boxes, (v, i) => (i === 6 ? Number.NaN : v));
  oneLine(() => augmentDetection({ ...sample, boxes: nan }, INPUT, options, Math.random), /box 1 has the coordinate NaN/);
  oneLine(() => augmentDetection({ ...sample, labels: Int32Array.of(7) }, INPUT, options, Math.random), /1 labels need 4 box coordinates/);
  oneLine(() => augmentDetection(sample, INPUT, { ...options, scaleRange: [2, 1] }, Math.random), /scale range/);
  oneLine(() => augmentDetection({ ...sample, pixels: { ...sample.pixels, data: new Uint8Array(5) } }, INPUT, options, Math.random), /needs 7200 bytes, got 5/);
  oneLine(() => augmentSegmentation({ pixels: sample.pixels, mask: new Uint8Array(59 * 40) }, INPUT, Math.random), /mask has 2360 values .* needs 2400/);
  oneLine(() => augmentSegmentation({ pixels: sample.pixels, mask: new Uint8Array(2400) }, INPUT, Math.random, { baseSize: 0 }), /base size/);
});

test.run();
