// Detection augmentations: drawn objects must stay framed by their moved boxes under many seeds, crops must clip and
// drop boxes, flips must mirror exactly, and jitter off must be the evaluation letterbox byte for byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mulberry32 } from '../src/random/mulberry32.js';
import { fitImage } from '../src/runtime/images/pipeline.js';
import type { Pixels } from '../src/runtime/images/pixels.js';
import { crop, resample } from '../src/runtime/images/resample.js';
import { augmentDetection, type DetectionSample } from '../src/train/dense-augment.js';

type Rgb = readonly [number, number, number];
const BACKGROUND: Rgb = [40, 90, 160];
/** Each object's colour by its label, far from the background and from each other. */
const COLOURS: Readonly<Record<number, Rgb>> = { 7: [250, 20, 20], 9: [20, 230, 40] };

/** A background with filled rectangles [x1, y1, x2, y2) of whole pixels in their label's colour, and their true boxes. */
function scene(width: number, height: number, objects: { label: number; box: [number, number, number, number] }[]): DetectionSample {
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
});

test('bad input is a RangeError of one line: an empty image, a box of NaN, a label count off', () => {
  const oneLine = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (e: Error) => e instanceof RangeError && message.test(e.message) && !e.message.includes('\n'));
  const options = { horizontalFlip: true, scaleRange: [0.5, 2] as const };
  const sample = twoObjects();
  const empty = { width: 0, height: 0, channels: 3 as const, data: new Uint8Array(0) };
  oneLine(() => augmentDetection({ ...sample, pixels: empty }, INPUT, options, Math.random), /image size must be whole numbers from 1, got 0×0/);
  const nan = Float32Array.from(sample.boxes, (v, i) => (i === 6 ? Number.NaN : v));
  oneLine(() => augmentDetection({ ...sample, boxes: nan }, INPUT, options, Math.random), /box 1 has the coordinate NaN/);
  oneLine(() => augmentDetection({ ...sample, labels: Int32Array.of(7) }, INPUT, options, Math.random), /1 labels need 4 box coordinates/);
  oneLine(() => augmentDetection(sample, INPUT, { ...options, scaleRange: [2, 1] }, Math.random), /scale range/);
  oneLine(() => augmentDetection({ ...sample, pixels: { ...sample.pixels, data: new Uint8Array(5) } }, INPUT, options, Math.random), /needs 7200 bytes, got 5/);
});

test.run();
