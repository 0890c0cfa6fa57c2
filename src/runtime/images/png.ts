// PNG files of drawn images. Node only: pngjs needs zlib and Buffer, so this stays apart from the portable overlay code.
import { PNG } from 'pngjs';
import { checkImage, toRgb, type DecodedImage } from './pixels.js';

const COLOR_TYPE_RGB = 2;

/** An 8-bit RGB PNG of the image; an RGBA image's alpha channel is dropped (pngjs would composite it over white). */
export function encodePng(image: DecodedImage): Uint8Array {
  checkImage(image);
  const rgb = toRgb(image);
  const pixels = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  // write reads only the size and the pixels; a PNG object would allocate an RGBA buffer of its own first.
  const png = { width: image.width, height: image.height, data: pixels } as PNG;
  return withText(PNG.sync.write(png, { colorType: COLOR_TYPE_RGB, inputColorType: COLOR_TYPE_RGB, inputHasAlpha: false, bitDepth: 8 }), SOFTWARE_TEXT);
}

/**
 * The tEXt chunk (keyword, NUL, text) every PNG netspec writes carries right after its header, so that a later run
 * knows the file for its own and may replace it.
 */
export const SOFTWARE_TEXT = 'Software\0netspec';
/** Where that chunk starts: after the 8-byte signature and the 25-byte IHDR chunk. */
export const TEXT_CHUNK_OFFSET = 8 + 25;

/** The PNG with a tEXt chunk of `text` inserted after its IHDR chunk. */
function withText(png: Uint8Array, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode('tEXt'), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, TEXT_CHUNK_OFFSET));
  out.set(chunk, TEXT_CHUNK_OFFSET);
  out.set(png.subarray(TEXT_CHUNK_OFFSET), TEXT_CHUNK_OFFSET + chunk.length);
  return out;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC-32 that PNG chunks end with (ISO 3309, as zlib computes it). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
