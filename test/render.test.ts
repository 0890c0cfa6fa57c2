// Drawing predictions on images: the VOC palette, mask blending and its nearest-neighbour reading against hand
// arithmetic and PyTorch's F.interpolate, box outlines, clipping and label tags pixel by pixel, and PNG encoding.
import { spawnSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DecodedImage } from '../src/runtime/images/pixels.js';
import { blendMask, drawDetections, labelColour, segmentationPalette } from '../src/runtime/tasks/overlay.js';
import { encodePng } from '../src/runtime/images/png.js';

const PYTHON = '/usr/bin/python3';

/** A w×h RGB image of one colour. */
function solid(width: number, height: number, rgb: readonly number[]): DecodedImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rgb[i % 3]!;
  return { width, height, channels: 3, data };
}

function pixel(image: DecodedImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * image.channels;
  return [...image.data.subarray(i, i + 3)];
}

const entry = (palette: Uint8Array, index: number) => [...palette.subarray(index * 3, index * 3 + 3)];

test('the VOC palette, bit by bit', () => {
  const palette = segmentationPalette(256);
  // Bits 0, 1, 2 of the class go to the top bit (128) of red, green, blue; bits 3, 4, 5 to the next (64); and so on.
  assert.equal(entry(palette, 0), [0, 0, 0]);
  assert.equal(entry(palette, 1), [128, 0, 0]); // 0b001
  assert.equal(entry(palette, 2), [0, 128, 0]); // 0b010
  assert.equal(entry(palette, 3), [128, 128, 0]); // 0b011
  assert.equal(entry(palette, 4), [0, 0, 128]); // 0b100
  assert.equal(entry(palette, 5), [128, 0, 128]); // 0b101
  // 15 = 0b001 111: red 128 + 64, green 128, blue 128: VOC's person.
  assert.equal(entry(palette, 15), [192, 128, 128]);
  // 20 = 0b010 100: blue 128, green 64: VOC's tv monitor.
  assert.equal(entry(palette, 20), [0, 64, 128]);
  // 255 = 0b11 111 111: red and green 128 + 64 + 32, blue 128 + 64: VOC's "void" boundary colour.
  assert.equal(entry(palette, 255), [224, 224, 192]);
  assert.is(segmentationPalette(21).length, 63);
  assert.equal(segmentationPalette(21), palette.subarray(0, 63));
  assert.throws(() => segmentationPalette(-1), /whole number of classes/);
  assert.throws(() => segmentationPalette(2.5), /whole number of classes/);
});

test('blending a class colour into known pixels', () => {
  const image = solid(2, 1, [100, 50, 200]);
  const halves = blendMask(image, { width: 2, height: 1, classes: Uint8Array.of(1, 0) });
  assert.is(halves.channels, 3);
  // Class 1 is (128, 0, 0): 0.5·100 + 0.5·128 = 114, 0.5·50 + 0 = 25, 0.5·200 + 0 = 100.
  assert.equal(pixel(halves, 0, 0), [114, 25, 100]);
  // Class 0 is background: the image's pixel, not 0.5 · pixel + 0.5 · black.
  assert.equal(pixel(halves, 1, 0), [100, 50, 200]);
  // Class 15 is (192, 128, 128) at alpha 0.25: 75 + 48 = 123, 37.5 + 32 = 69.5 → 70 (halves round up), 150 + 32 = 182.
  const quarter = blendMask(image, { width: 2, height: 1, classes: Int32Array.of(15, 15) }, { alpha: 0.25 });
  assert.equal(pixel(quarter, 1, 0), [123, 70, 182]);
  // A palette of one's own: class 1 is (10, 20, 30), at alpha 1 the colour itself.
  const own = blendMask(image, { width: 2, height: 1, classes: Uint8Array.of(1, 1) }, { alpha: 1, palette: Uint8Array.of(0, 0, 0, 10, 20, 30) });
  assert.equal(pixel(own, 0, 0), [10, 20, 30]);
  assert.equal([...image.data], [100, 50, 200, 100, 50, 200], 'the input is not drawn on');
});

test('an RGBA image loses its alpha channel, its colours kept as they are', () => {
  const image: DecodedImage = { width: 2, height: 1, channels: 4, data: Uint8Array.of(100, 50, 200, 0, 7, 8, 9, 128) };
  const out = blendMask(image, { width: 2, height: 1, classes: Uint8Array.of(1, 0) });
  assert.is(out.channels, 3);
  assert.equal([...out.data], [114, 25, 100, 7, 8, 9]);
});

test('a 3×2 mask read onto a 7×5 image by nearest neighbour', () => {
  // Mask rows (1 2 3) and (4 5 6); at alpha 1 each image pixel shows its source class's colour.
  const mask = { width: 3, height: 2, classes: Uint8Array.of(1, 2, 3, 4, 5, 6) };
  const out = blendMask(solid(7, 5, [0, 0, 0]), mask, { alpha: 1 });
  // Columns: ⌊x · 3/7⌋ for x = 0…6: 0, 0.43, 0.86, 1.29, 1.71, 2.14, 2.57 → 0 0 0 1 1 2 2.
  const columns = [0, 0, 0, 1, 1, 2, 2];
  // Rows: ⌊y · 2/5⌋ for y = 0…4: 0, 0.4, 0.8, 1.2, 1.6 → 0 0 0 1 1.
  const rows = [0, 0, 0, 1, 1];
  const palette = segmentationPalette(7);
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) assert.equal(pixel(out, x, y), entry(palette, 1 + rows[y]! * 3 + columns[x]!), `pixel (${x}, ${y})`);
  }
  // A few by name: (2, 2) reads mask (0, 0), class 1; (3, 2) mask (1, 0), class 2; (6, 3) mask (2, 1), class 6 = (0, 128, 128).
  assert.equal(pixel(out, 2, 2), [128, 0, 0]);
  assert.equal(pixel(out, 3, 2), [0, 128, 0]);
  assert.equal(pixel(out, 6, 3), [0, 128, 128]);
});

test("the nearest reading is PyTorch's F.interpolate(mode='nearest'), float32 rounding included", () => {
  // Each pair: mask width×height → image width×height. 2 → 82 and 3 → 123 are where ⌊dst · in/out⌋ in doubles and in
  // float32 differ (dst 41: 41 · 2/82 = 1 exactly, but float32(2/82) · 41 is just below 1); 7×5 → 3×2 downsamples.
  const pairs = [
    [3, 2, 123, 82],
    [7, 5, 3, 2],
    [13, 7, 100, 61],
    [4, 4, 8, 4],
  ] as const;
  const script = `
import json, sys, torch
import torch.nn.functional as F
out = []
for mw, mh, w, h in json.loads(sys.argv[1]):
    index = torch.arange(mw * mh, dtype=torch.float32).reshape(1, 1, mh, mw)
    out.append(F.interpolate(index, size=(h, w), mode="nearest").flatten().int().tolist())
print(json.dumps(out))`;
  const run = spawnSync(PYTHON, ['-c', script, JSON.stringify(pairs)], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const expected = JSON.parse(run.stdout) as number[][];
  pairs.forEach(([mw, mh, w, h], p) => {
    // Class k's colour spells k (red the low byte, green the high), so each pixel names the mask cell it read.
    const count = mw * mh;
    const palette = new Uint8Array(count * 3);
    for (let k = 0; k < count; k++) palette.set([k & 0xff, k >> 8, 0], k * 3);
    const classes = Int32Array.from({ length: count }, (_, k) => k);
    const out = blendMask(solid(w, h, [0, 0, 0]), { width: mw, height: mh, classes }, { alpha: 1, palette });
    const read = Array.from({ length: w * h }, (_, i) => out.data[i * 3]! + out.data[i * 3 + 1]! * 256);
    assert.equal(read, expected[p], `${mw}×${mh} → ${w}×${h}`);
  });
});

test('blendMask refuses mismatched sizes and classes without a colour', () => {
  const image = solid(2, 2, [0, 0, 0]);
  assert.throws(
    () => blendMask({ ...image, data: new Uint8Array(11) }, { width: 2, height: 2, classes: new Uint8Array(4) }),
    /2×2 image of 3 channels needs 12 bytes, got 11/,
  );
  assert.throws(() => blendMask(image, { width: 2, height: 2, classes: new Uint8Array(3) }), /2×2 mask needs 4 classes, got 3/);
  assert.throws(() => blendMask(image, { width: 0, height: 2, classes: new Uint8Array(0) }), /mask size must be whole numbers/);
  assert.throws(() => blendMask(image, { width: 1, height: 1, classes: Uint8Array.of(1) }, { alpha: 1.5 }), /alpha must be between 0 and 1/);
  assert.throws(
    () => blendMask(image, { width: 1, height: 1, classes: Uint8Array.of(2) }, { palette: new Uint8Array(6) }),
    /class 2 at \(0, 0\) has no colour in a palette of 2/,
  );
  assert.throws(() => blendMask(image, { width: 1, height: 1, classes: Int32Array.of(-1) }), /class -1/);
  assert.throws(() => blendMask(image, { width: 1, height: 1, classes: Uint8Array.of(1) }, { palette: new Uint8Array(4) }), /RGB triples/);
});

const GREY = [50, 50, 50];
// Kelly's first two colours: label 0 is 0xf3c300, label 1 is 0x875692.
const YELLOW = [243, 195, 0];
const PURPLE = [135, 86, 146];
const one = (box: number[], label = 0, score = 0.9) => ({ boxes: Float32Array.from(box), scores: Float32Array.of(score), labels: Int32Array.of(label) });

test('a box outline at exact pixels, the inside untouched', () => {
  const image = solid(40, 30, GREY);
  // (5.5, 16.2)–(14.3, 23.9) covers columns ⌊5.5⌋ = 5 … ⌈14.3⌉ − 1 = 14 and rows 16 … 23; the tag (9 rows) sits above it in rows 7…15.
  const out = drawDetections(image, one([5.5, 16.2, 14.3, 23.9]), () => 'cat');
  const outline = (x: number, y: number) => x >= 5 && x <= 14 && y >= 16 && y <= 23 && (x <= 6 || x >= 13 || y <= 17 || y >= 22);
  for (let y = 16; y < 30; y++) {
    for (let x = 0; x < 40; x++) assert.equal(pixel(out, x, y), outline(x, y) ? YELLOW : GREY, `pixel (${x}, ${y})`);
  }
  assert.equal(pixel(out, 7, 18), GREY, 'the first inside pixel');
  assert.equal(pixel(out, 12, 21), GREY, 'the last inside pixel');
  assert.equal(pixel(out, 0, 6), GREY, 'above the tag');
  assert.equal(pixel(image, 5, 16), GREY, 'the input is not drawn on');
  // lineWidth 1: only the border ring; (6, 17) is inside.
  const thin = drawDetections(image, one([5, 16, 15, 24]), () => 'cat', { lineWidth: 1 });
  assert.equal(pixel(thin, 5, 17), YELLOW);
  assert.equal(pixel(thin, 6, 17), GREY);
  assert.equal(pixel(thin, 14, 23), YELLOW);
});

test('a box partly outside is clipped to the image; boxes that cannot be drawn are skipped', () => {
  const image = solid(40, 30, GREY);
  // (−10, 20)–(10, 50): columns −10 … 9, rows 20 … 49. Seen: the top band (rows 20, 21) and the right band (columns 8, 9).
  const out = drawDetections(image, one([-10, 20, 10, 50]), () => 'dog');
  assert.equal(pixel(out, 0, 20), YELLOW);
  assert.equal(pixel(out, 9, 21), YELLOW);
  assert.equal(pixel(out, 8, 29), YELLOW);
  assert.equal(pixel(out, 0, 25), GREY, 'the left band (columns −10, −9) is outside');
  assert.equal(pixel(out, 5, 29), GREY, 'the bottom band (rows 48, 49) is outside');
  assert.equal(pixel(out, 10, 25), GREY);
  // Tag rows 20 − 9 = 11 … 19, moved right to column 0; (0, 11) is its padding.
  assert.equal(pixel(out, 0, 11), YELLOW);
  assert.equal(pixel(out, 0, 10), GREY);
  for (const box of [
    [NaN, 1, 5, 5],
    [1, 1, Infinity, 5],
    [8, 8, 4, 12],
    [50, 5, 60, 10],
    [-20, -20, -5, -5],
  ]) {
    assert.equal(drawDetections(image, one(box), () => 'x').data, image.data, `box ${box}`);
  }
});

// 'A' is columns 7e 11 11 11 7e with bit 0 the top row: 0x7e sets rows 1–6, 0x11 rows 0 and 4.
const GLYPH_A = ['.###.', '#...#', '#...#', '#...#', '#####', '#...#', '#...#'];
// '?' is columns 02 01 51 09 06: 0x02 row 1, 0x01 row 0, 0x51 rows 0, 4, 6, 0x09 rows 0, 3, 0x06 rows 1, 2.
const GLYPH_QUESTION = ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'];

/** Checks a glyph drawn with its top-left pixel at (left, top). */
function assertGlyph(image: DecodedImage, left: number, top: number, rows: string[], ink: number[], paper: number[]): void {
  rows.forEach((row, y) =>
    [...row].forEach((cell, x) => assert.equal(pixel(image, left + x, top + y), cell === '#' ? ink : paper, `glyph pixel (${x}, ${y})`)),
  );
}

test('the label tag: its size, the text glyphs and their contrast', () => {
  const image = solid(60, 40, GREY);
  // Box rows 20…; tag rows 11…19 from column 3. Text "A 0.50": 6 glyphs of 5 columns and 5 gaps = 35, plus 1 padding each side = 37.
  const out = drawDetections(image, one([3, 20, 30, 35], 0, 0.5), () => 'A');
  assertGlyph(out, 4, 12, GLYPH_A, [0, 0, 0], YELLOW); // luma of yellow 0.299·243 + 0.587·195 = 187 ≥ 128: black text
  assert.equal(pixel(out, 3 + 36, 11), YELLOW, 'the last tag column');
  assert.equal(pixel(out, 3 + 37, 11), GREY, 'past the tag');
  // Purple's luma 0.299·135 + 0.587·86 + 0.114·146 = 107.5 < 128: white text. 'é' is outside ASCII: drawn as '?'.
  const dark = drawDetections(image, one([3, 20, 30, 35], 1), () => 'é');
  assertGlyph(dark, 4, 12, GLYPH_QUESTION, [255, 255, 255], PURPLE);
  // A box at the top edge has its tag inside: rows 0…8, glyph from row 1.
  const top = drawDetections(image, one([3, 0, 30, 35]), () => 'A');
  assertGlyph(top, 4, 1, GLYPH_A, [0, 0, 0], YELLOW);
});

test('the highest-scoring detection is drawn on top; labels wrap around the colours', () => {
  const image = solid(40, 30, GREY);
  const detections = { boxes: Float32Array.of(5, 15, 20, 25, 5, 15, 20, 25), scores: Float32Array.of(0.9, 0.8), labels: Int32Array.of(1, 0) };
  assert.equal(pixel(drawDetections(image, detections, String), 5, 20), PURPLE);
  assert.equal(labelColour(20), labelColour(0));
  assert.equal(labelColour(-1), labelColour(19));
});

test('drawDetections refuses mismatched detections and bad line widths', () => {
  const image = solid(4, 4, GREY);
  assert.throws(
    () => drawDetections(image, { boxes: new Float32Array(4), scores: new Float32Array(2), labels: new Int32Array(2) }, String),
    /got 4 coordinates, 2 scores and 2 labels/,
  );
  assert.throws(() => drawDetections(image, one([0, 0, 1, 1]), String, { lineWidth: 0 }), /lineWidth/);
  assert.throws(() => drawDetections({ ...image, channels: 4 }, one([0, 0, 1, 1]), String), /needs 64 bytes, got 48/);
});

test('encodePng writes an 8-bit RGB PNG that decodes to the same pixels', () => {
  const data = Uint8Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 37) % 256);
  const png = encodePng({ width: 7, height: 5, channels: 3, data });
  // IHDR: bit depth at byte 24, colour type at byte 25 (8 bytes signature, 8 of chunk length and type, 8 of size).
  assert.is(png[24], 8);
  assert.is(png[25], 2);
  const decoded = PNG.sync.read(Buffer.from(png));
  assert.is(decoded.width, 7);
  assert.is(decoded.height, 5);
  const rgb = [...decoded.data].filter((_, i) => i % 4 !== 3);
  assert.equal(rgb, [...data]);
  // RGBA in: the alpha channel is dropped, not multiplied in.
  const rgba = encodePng({ width: 1, height: 1, channels: 4, data: Uint8Array.of(10, 20, 30, 0) });
  assert.equal([...PNG.sync.read(Buffer.from(rgba)).data], [10, 20, 30, 255]);
  assert.throws(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(3) }), /needs 12 bytes, got 3/);
});

test.run();
