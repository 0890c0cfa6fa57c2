// The pixel limit: image sizes read from PNG and JPEG headers, and images over the limit refused before decoding.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_PIXELS, ImageTooLargeError, readImageHeader } from '../src/runtime/images/header.js';
import { decodeImage } from '../src/runtime/images/decode.js';
import { deflateSync } from 'node:zlib';
import { handMadePng, JFIF_APP0, jpegFile, jpegSegment, pngBomb, pngChunk, pngOf, startOfFrame, zlibBomb } from './support/image-files.js';

async function refusal(bytes: Uint8Array, maxPixels?: number): Promise<Error> {
  return decodeImage(bytes, { maxPixels }).then(
    () => assert.unreachable('should refuse') as never,
    (error: Error) => error,
  );
}

test('the hand-made PNG is a real PNG: at a size its IDAT fills, pngjs decodes it', () => {
  // Two rows of two pixels, filter byte 0 first: (10, 20, 30) (40, 50, 60) / (70, 80, 90) (100, 110, 120).
  const rows = Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 0, 70, 80, 90, 100, 110, 120]);
  const decoded = PNG.sync.read(handMadePng(2, 2, rows));
  assert.equal([decoded.width, decoded.height], [2, 2]);
  assert.equal([...decoded.data.subarray(12, 16)], [100, 110, 120, 255]);
});

test('a small PNG declaring 20000×20000 is refused from its header, quickly and without allocating the pixels', async () => {
  const bomb = pngBomb();
  assert.ok(bomb.length < 1000, `${bomb.length} bytes`);
  assert.equal(readImageHeader(bomb), { format: 'png', width: 20_000, height: 20_000 });
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const error = await refusal(bomb);
  const milliseconds = performance.now() - started;
  const grownMB = (process.memoryUsage().rss - rss) / 2 ** 20;
  assert.instance(error, ImageTooLargeError);
  assert.is(error.message, `the image is 20000×20000 = 400000000 pixels, more than the limit of ${DEFAULT_MAX_PIXELS}`);
  const { width, height, maxPixels } = error as ImageTooLargeError;
  assert.equal([width, height, maxPixels], [20_000, 20_000, DEFAULT_MAX_PIXELS]);
  assert.ok(milliseconds < 200, `${milliseconds} ms`);
  assert.ok(grownMB < 50, `resident memory grew ${grownMB.toFixed(1)} MB`);
});

test('a JPEG whose frame header declares 60000×50000 is refused before jpeg-js sees it', async () => {
  const bomb = jpegFile(JFIF_APP0, startOfFrame(60_000, 50_000));
  assert.equal(readImageHeader(bomb), { format: 'jpeg', width: 60_000, height: 50_000 });
  const rss = process.memoryUsage().rss;
  const error = await refusal(bomb);
  assert.instance(error, ImageTooLargeError);
  assert.is(error.message, `the image is 60000×50000 = 3000000000 pixels, more than the limit of ${DEFAULT_MAX_PIXELS}`);
  assert.ok(process.memoryUsage().rss - rss < 50 * 2 ** 20);
});

test('the JPEG walk skips every kind of segment and fill byte to the first frame header, progressive included', () => {
  const comment = jpegSegment(0xfe, [...Buffer.from('made by hand', 'latin1')]);
  const quantisation = jpegSegment(0xdb, [0, ...new Array(64).fill(1)]);
  const withFill = [0xff, 0xff, ...startOfFrame(640, 480, 0x11, 0xc2)];
  assert.equal(readImageHeader(jpegFile(JFIF_APP0, comment, quantisation, [0xff, 0xd0], withFill)), { format: 'jpeg', width: 640, height: 480 });
  const encoded = jpeg.encode({ data: Buffer.alloc(37 * 23 * 4, 90), width: 37, height: 23 }, 80).data;
  assert.equal(readImageHeader(encoded), { format: 'jpeg', width: 37, height: 23 });
  const png = new PNG({ width: 37, height: 23 });
  assert.equal(readImageHeader(PNG.sync.write(png)), { format: 'png', width: 37, height: 23 });
});

test('truncated or damaged headers are refused with a message saying what is wrong', () => {
  const png = PNG.sync.write(new PNG({ width: 4, height: 4 }));
  const damagedSignature = Uint8Array.from(png);
  damagedSignature[6] = 0;
  const notIhdrFirst = Uint8Array.from(png);
  notIhdrFirst.set(Buffer.from('IDAT', 'latin1'), 12);
  const cases: [Uint8Array, string][] = [
    [png.subarray(0, 20), "the PNG header is truncated: its 20 bytes end before the IHDR chunk's width and height"],
    [damagedSignature, 'the PNG signature is damaged'],
    [notIhdrFirst, 'the PNG does not start with an IHDR chunk'],
    [handMadePng(0, 5, new Uint8Array()), 'the PNG header declares an empty 0×5 image'],
    // APP0 says 16 bytes, but the file ends after 8.
    [
      Uint8Array.from([0xff, 0xd8, ...JFIF_APP0.slice(0, 6)]),
      'the JPEG header is truncated: its 8 bytes end before the frame header (SOFn) with its width and height',
    ],
    [
      Uint8Array.from([0xff, 0xd8, ...startOfFrame(640, 480).slice(0, 7)]),
      'the JPEG header is truncated: its 9 bytes end before the frame header (SOFn) with its width and height',
    ],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xff]), 'the JPEG header is truncated: its 4 bytes end before the frame header (SOFn) with its width and height'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 5, 8, 1, 224]), 'the JPEG frame header at byte 2 is too short to hold a size (length 5)'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0, 1]), 'the JPEG segment at byte 2 has an invalid length 1'],
    [jpegFile(JFIF_APP0, jpegSegment(0xda, [1, 1, 0, 0, 63, 0])), 'the JPEG has no frame header (SOFn) before its image data'],
    [Uint8Array.from([0xff, 0xd8, 0x12, 0x34]), 'the JPEG has no marker at byte 2, where a segment should start'],
    [jpegFile(startOfFrame(640, 0)), 'the JPEG header declares an empty 640×0 image'],
    [new Uint8Array(), 'the image is neither JPEG nor PNG'],
  ];
  for (const [bytes, message] of cases)
    assert.throws(
      () => readImageHeader(bytes),
      (error: Error) => error.message === message,
      message,
    );
});

test('an interlaced 1×1 PNG whose image data inflates to 128 MiB is refused after inflating what its header declares', async () => {
  const bomb = pngOf(1, 1, { interlace: 1 }, pngChunk('IDAT', zlibBomb(128)), pngChunk('IEND', new Uint8Array()));
  assert.ok(bomb.length < 200_000, `${bomb.length} bytes`);
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const error = await refusal(bomb);
  // Adam7 puts a 1×1 image's only pixel in the first pass: one row of a filter byte and 3 RGB bytes.
  assert.is(error.message, "the PNG's image data inflates past the 4 bytes its 1×1 interlaced header declares");
  assert.ok(process.memoryUsage().rss - rss < 32 * 2 ** 20, `resident memory grew ${((process.memoryUsage().rss - rss) / 2 ** 20).toFixed(1)} MB`);
  assert.ok(performance.now() - started < 1000, 'stopped at once');
});

test("damaged PNGs are refused in the project's words, never pngjs' own", async () => {
  const rows = Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 0, 70, 80, 90, 100, 110, 120]);
  const good = handMadePng(2, 2, rows);
  assert.is((await decodeImage(good)).width, 2, 'the undamaged file decodes');
  const idatAt = good.indexOf('IDAT') - 4;
  const damagedCrc = Buffer.from(good);
  damagedCrc[idatAt + 9] = damagedCrc[idatAt + 9]! ^ 1;
  const paletteRows = Uint8Array.from([0, 0, 5]);
  const cases: [Uint8Array, string][] = [
    // pngjs: "There are some read requests waitng on finished stream".
    [
      good.subarray(0, idatAt + 10),
      `the PNG is truncated: its IDAT chunk at byte ${idatAt} declares ${good.readUInt32BE(idatAt)} bytes, past the end of the file`,
    ],
    [good.subarray(0, good.length - 12), `the PNG is truncated: it ends at byte ${good.length - 12} without an IEND chunk`],
    [damagedCrc, `the PNG is damaged: the CRC of its IDAT chunk at byte ${idatAt} does not match`],
    [handMadePng(2, 2, rows.subarray(0, 10)), "the PNG's image data is truncated: it inflates to 10 bytes where its header declares 14"],
    [handMadePng(2, 2, Uint8Array.from([...rows, 0])), "the PNG's image data inflates past the 14 bytes its 2×2 header declares"],
    [
      pngOf(2, 2, {}, pngChunk('IDAT', Buffer.from('not zlib at all')), pngChunk('IEND', new Uint8Array())),
      "the PNG's image data is damaged (incorrect header check)",
    ],
    [pngOf(2, 2, {}, pngChunk('IEND', new Uint8Array())), 'the PNG has no image data (IDAT chunk)'],
    [
      pngOf(2, 2, { depth: 4 }, pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', new Uint8Array())),
      'the PNG has a bit depth of 4 for RGB, which PNG does not allow (only 8, 16)',
    ],
    [
      pngOf(2, 1, { colourType: 3 }, pngChunk('IDAT', deflateSync(paletteRows)), pngChunk('IEND', new Uint8Array())),
      'the PNG is a palette image without a palette (PLTE chunk)',
    ],
    // pngjs: "index 5 not in palette".
    [
      pngOf(2, 1, { colourType: 3 }, pngChunk('PLTE', new Uint8Array(6)), pngChunk('IDAT', deflateSync(paletteRows)), pngChunk('IEND', new Uint8Array())),
      'the PNG uses the palette index 5, past the end of its palette',
    ],
    // pngjs: "Unrecognised filter type - 7".
    [handMadePng(2, 2, Uint8Array.from([7, ...rows.subarray(1)])), "the PNG's image data is damaged: a row has the filter type 7, where PNG defines 0 to 4"],
  ];
  for (const [bytes, message] of cases) assert.is((await refusal(bytes)).message, message);
});

test('a 12-bit JPEG is refused from its frame header instead of decoding as 8-bit', async () => {
  for (const marker of [0xc1, 0xc3]) {
    const frame = startOfFrame(64, 48, 0x11, marker);
    frame[4] = 12; // the precision byte, after the marker and the length
    const twelveBit = jpegFile(JFIF_APP0, frame);
    const message = `the JPEG has 12-bit samples (its SOF${marker - 0xc0} frame header says so); only 8-bit JPEGs are decoded`;
    assert.throws(
      () => readImageHeader(twelveBit),
      (error: Error) => error.message === message,
    );
    assert.is((await refusal(twelveBit)).message, message);
  }
});

test('an image of exactly the limit decodes; one pixel fewer allowed refuses it', async () => {
  const png = new PNG({ width: 64, height: 48 });
  png.data.fill(200);
  const encodedPng = PNG.sync.write(png);
  const encodedJpeg = jpeg.encode({ data: png.data, width: 64, height: 48 }, 90).data;
  for (const bytes of [encodedPng, encodedJpeg]) {
    assert.is((await decodeImage(bytes, { maxPixels: 64 * 48 })).width, 64);
    const error = await refusal(bytes, 64 * 48 - 1);
    assert.is(error.message, 'the image is 64×48 = 3072 pixels, more than the limit of 3071');
  }
  for (const maxPixels of [0, -1, Number.NaN]) assert.instance(await refusal(encodedPng, maxPixels), RangeError);
});

test('jpeg-js gets a memory budget matching the limit, for blocks the header walk cannot see', async () => {
  // 1×50000 pixels pass a limit of 50000, but 4×4 sampling pads each component to 32×50016 samples: 3 components ×
  // (⌈50000 / 32⌉ × 4) block rows × 4 blocks × 256 bytes = 19,206,144 bytes, over the budget of
  // (⌈50000 × 27 / 2²⁰⌉ + 16) MB = 18 × 2²⁰ = 18,874,368 bytes.
  const padded = jpegFile(startOfFrame(1, 50_000, 0x44));
  assert.match((await refusal(padded, 50_000)).message, /^maxMemoryUsageInMB limit exceeded/);
});

test.run();
