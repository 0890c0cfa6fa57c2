// A PNG's chunks and image data checked before pngjs decodes it. pngjs inflates an interlaced image with no output
// limit (a 1×1 image can inflate to gigabytes) and reports damage in words of its own ("There are some read
// requests waitng on finished stream"): here the image data is inflated no further than the header declares, and
// each fault is said in the project's words. Node only: zlib.
import { crc32, inflateSync } from 'node:zlib';
import { ImageFormatError } from './header.js';

/** Channels of each PNG colour type, and the bit depths it allows. */
const COLOUR_TYPES: Readonly<Record<number, { readonly channels: number; readonly depths: readonly number[]; readonly name: string }>> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16], name: 'grey' },
  2: { channels: 3, depths: [8, 16], name: 'RGB' },
  3: { channels: 1, depths: [1, 2, 4, 8], name: 'palette' },
  4: { channels: 2, depths: [8, 16], name: 'grey and alpha' },
  6: { channels: 4, depths: [8, 16], name: 'RGBA' },
};

/** Adam7's seven passes: first column and row, then the column and row steps. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

interface Ihdr {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly colourType: number;
  readonly interlaced: boolean;
}

/**
 * Throws ImageFormatError unless the PNG's chunks are whole and undamaged (lengths within the file, CRCs right,
 * IHDR valid, a palette where one is needed, image data, an IEND) and its image data inflates to exactly the
 * bytes its header declares. Inflating stops at that size, so the check costs at most what decoding will.
 */
export function checkPng(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data: Uint8Array[] = [];
  let ihdr: Ihdr | undefined;
  let palette = false;
  let ended = false;
  for (let at = 8; !ended; ) {
    if (at + 8 > bytes.length) throw new ImageFormatError(`the PNG is truncated: it ends at byte ${bytes.length} without an IEND chunk`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length)
      throw new ImageFormatError(`the PNG is truncated: its ${printableType(type)} chunk at byte ${at} declares ${length} bytes, past the end of the file`);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length))
      throw new ImageFormatError(`the PNG is damaged: the CRC of its ${printableType(type)} chunk at byte ${at} does not match`);
    if (type === 'IHDR') ihdr = readIhdr(body);
    else if (type === 'PLTE') palette = true;
    else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') ended = true;
    else if (!/^[a-z]/.test(type)) throw new ImageFormatError(`the PNG has a critical chunk ${printableType(type)} that no decoder here knows`);
    at += 12 + length;
  }
  if (!ihdr) throw new ImageFormatError('the PNG does not start with an IHDR chunk');
  if (ihdr.colourType === 3 && !palette) throw new ImageFormatError('the PNG is a palette image without a palette (PLTE chunk)');
  if (data.length === 0) throw new ImageFormatError('the PNG has no image data (IDAT chunk)');
  checkImageData(Buffer.concat(data), ihdr);
}

/** The type of a chunk as a message may show it: four letters, or its bytes in hexadecimal. */
const printableType = (type: string) =>
  /^[A-Za-z]{4}$/.test(type) ? type : `0x${[...type].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')}`;

function readIhdr(body: Uint8Array): Ihdr {
  if (body.length !== 13) throw new ImageFormatError(`the PNG's IHDR chunk is ${body.length} bytes, not 13`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const [depth, colourType, compression, filter, interlace] = body.subarray(8);
  const colour = COLOUR_TYPES[colourType!];
  if (!colour) throw new ImageFormatError(`the PNG has colour type ${colourType}, which PNG does not define`);
  if (!colour.depths.includes(depth!))
    throw new ImageFormatError(`the PNG has a bit depth of ${depth} for ${colour.name}, which PNG does not allow (only ${colour.depths.join(', ')})`);
  if (compression !== 0 || filter !== 0 || (interlace !== 0 && interlace !== 1))
    throw new ImageFormatError(`the PNG declares compression ${compression}, filter method ${filter} and interlace ${interlace}; PNG defines 0, 0 and 0 or 1`);
  return { width: view.getUint32(0), height: view.getUint32(4), depth: depth!, colourType: colourType!, interlaced: interlace === 1 };
}

/** The inflated bytes the header declares: each row of each pass (one pass unless interlaced), its filter byte first. */
function declaredImageBytes({ width, height, depth, colourType, interlaced }: Ihdr): number {
  const bitsPerPixel = COLOUR_TYPES[colourType]!.channels * depth;
  const passBytes = (columns: number, rows: number) => (columns === 0 || rows === 0 ? 0 : (Math.ceil((columns * bitsPerPixel) / 8) + 1) * rows);
  if (!interlaced) return passBytes(width, height);
  return ADAM7.reduce((sum, [x, y, dx, dy]) => sum + passBytes(Math.max(0, Math.ceil((width - x) / dx)), Math.max(0, Math.ceil((height - y) / dy))), 0);
}

function checkImageData(compressed: Uint8Array, ihdr: Ihdr): void {
  const declared = declaredImageBytes(ihdr);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(compressed, { maxOutputLength: declared });
  } catch (error) {
    const shape = `${ihdr.width}×${ihdr.height}${ihdr.interlaced ? ' interlaced' : ''}`;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ImageFormatError(`the PNG's image data inflates past the ${declared} bytes its ${shape} header declares`);
    throw new ImageFormatError(`the PNG's image data is damaged (${(error as Error).message})`);
  }
  if (inflated.length < declared)
    throw new ImageFormatError(`the PNG's image data is truncated: it inflates to ${inflated.length} bytes where its header declares ${declared}`);
}

/**
 * pngjs' own complaint about a PNG that passed checkPng, in the project's words: a palette index past the palette,
 * a filter type PNG does not define, or else damage in general.
 */
export function pngDecoderProblem(message: string): string {
  const index = /^index (\d+) not in palette/.exec(message);
  if (index) return `the PNG uses the palette index ${index[1]}, past the end of its palette`;
  const filter = /^Unrecognised filter type - (\d+)/.exec(message);
  if (filter) return `the PNG's image data is damaged: a row has the filter type ${filter[1]}, where PNG defines 0 to 4`;
  if (/transparen/i.test(message)) return 'the PNG has a transparency chunk (tRNS) that does not fit its palette';
  return 'the PNG cannot be decoded: its image data is damaged';
}
