// The pixel limit: image sizes read from PNG and JPEG headers, and images over the limit refused before decoding.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_PIXELS, ImageTooLargeError, readImageHeader } from '../src/runtime/images/header.js';
import { decodeImage } from '../src/runtime/images/decode.js';
import { handMadePng, JFIF_APP0, jpegFile, jpegSegment, pngBomb, startOfFrame } from './support/image-files.js';

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
    [Uint8Array.from([0xff, 0xd8, ...JFIF_APP0.slice(0, 6)]), 'the JPEG header is truncated: its 8 bytes end before the frame header (SOFn) with its width and height'],
    [Uint8Array.from([0xff, 0xd8, ...startOfFrame(640, 480).slice(0, 7)]), 'the JPEG header is truncated: its 9 bytes end before the frame header (SOFn) with its width and height'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xff]), 'the JPEG header is truncated: its 4 bytes end before the frame header (SOFn) with its width and height'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 5, 8, 1, 224]), 'the JPEG frame header at byte 2 is too short to hold a size (length 5)'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0, 1]), 'the JPEG segment at byte 2 has an invalid length 1'],
    [jpegFile(JFIF_APP0, jpegSegment(0xda, [1, 1, 0, 0, 63, 0])), 'the JPEG has no frame header (SOFn) before its image data'],
    [Uint8Array.from([0xff, 0xd8, 0x12, 0x34]), 'the JPEG has no marker at byte 2, where a segment should start'],
    [jpegFile(startOfFrame(640, 0)), 'the JPEG header declares an empty 640×0 image'],
    [new Uint8Array(), 'the image is neither JPEG nor PNG'],
  ];
  for (const [bytes, message] of cases) assert.throws(() => readImageHeader(bytes), (error: Error) => error.message === message, message);
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
