import { constants, crc32, deflateRawSync, deflateSync } from 'node:zlib';

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG built by hand: 8-bit RGB of the declared size, whose IDAT holds `rows` (each starting with its filter byte). */
export function handMadePng(width: number, height: number, rows: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', new Uint8Array())]);
}

/** A PNG declaring 20000×20000 pixels in a few dozen bytes: one zero row, where decoding would need 1.6 GB of RGBA. */
export const pngBomb = () => handMadePng(20_000, 20_000, new Uint8Array(1 + 3 * 20_000));

/** A JPEG segment: marker, big-endian length counting itself, payload. */
export const jpegSegment = (marker: number, payload: readonly number[]) => [0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];

export const JFIF_APP0 = jpegSegment(0xe0, [...Buffer.from('JFIF\0', 'latin1'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);

/** A frame header (SOF0 unless told): precision 8, height, width, then three components with the given sampling factors. */
export const startOfFrame = (width: number, height: number, sampling = 0x11, marker = 0xc0) =>
  jpegSegment(marker, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, sampling, 0, 2, sampling, 1, 3, sampling, 1]);

/** SOI, the segments, EOI: a JPEG header with no image data. */
export const jpegFile = (...segments: number[][]) => Uint8Array.from([0xff, 0xd8, ...segments.flat(), 0xff, 0xd9]);

/** A PNG of the given chunks after its signature, IHDR first: width, height, bit depth, colour type and interlace. */
export function pngOf(width: number, height: number, { depth = 8, colourType = 2, interlace = 0 } = {}, ...chunks: Buffer[]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([depth, colourType, 0, 0, interlace], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', header), ...chunks]);
}

/**
 * A zlib stream of `mebibytes` MiB of zeros in about 1 KiB per MiB, built from one compressed MiB repeated
 * (non-final deflate blocks ending on a byte boundary): a decompression bomb the test never holds inflated.
 */
export function zlibBomb(mebibytes: number): Buffer {
  const mebibyte = deflateRawSync(new Uint8Array(2 ** 20), { finishFlush: constants.Z_SYNC_FLUSH });
  return Buffer.concat([Buffer.from([0x78, 0x01]), ...Array.from({ length: mebibytes }, () => mebibyte), deflateRawSync(new Uint8Array(0)), Buffer.alloc(4)]);
}
