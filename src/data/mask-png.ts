/**
 * Class masks: PNG files whose pixel values are class indices, as PIL reads them: a palette image's (mode P) index
 * of each pixel, or an 8-bit grey image's (mode L) value. Colour masks are refused, since the colour a class is
 * drawn in is the palette's business, not the data's.
 *
 * The runtime's decoder (pngjs, with the header checks) turns a palette image into colours, so the palette is
 * replaced by the identity (entry i is the grey i) before decoding, and the red channel then reads back each
 * pixel's index. Transparency chunks are dropped: pngjs would blank a grey mask's transparent value to 0.
 */
import { crc32, deflateSync } from 'node:zlib';
import { decodeImage } from '../runtime/images/decode.js';
import { DEFAULT_MAX_PIXELS, ImageTooLargeError } from '../runtime/images/header.js';
import { IGNORE_INDEX } from './dataset.js';
import { dataFault, IMAGE_FILE_LIMIT, readDataFile } from './dataset-files.js';

export interface ClassMask {
  readonly width: number;
  readonly height: number;
  /** One class index a pixel, row by row. */
  readonly classes: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const REFUSED_TYPES: Readonly<Record<number, string>> = { 2: 'an RGB PNG', 4: 'a grey-and-alpha PNG', 6: 'an RGBA PNG' };
const SAVE_AS = 'save masks as palette (PIL mode P) or 8-bit grey (mode L) PNGs of class indices';

/** Reads and decodes a mask file; every fault is one DataFileError naming the file. */
export async function decodeMaskFile(path: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<ClassMask> {
  const bytes = readDataFile(path, IMAGE_FILE_LIMIT, 'masks');
  const indexed = indexedPng(bytes, (problem) => {
    throw dataFault(path, problem);
  });
  let decoded;
  try {
    decoded = await decodeImage(indexed, { maxPixels });
  } catch (error) {
    throw dataFault(path, error instanceof ImageTooLargeError ? error.message : `cannot be decoded: ${(error as Error).message}`);
  }
  const classes = new Uint8Array(decoded.width * decoded.height);
  for (let p = 0; p < classes.length; p++) classes[p] = decoded.data[p * decoded.channels]!;
  return { width: decoded.width, height: decoded.height, classes };
}

/**
 * The PNG with its palette made the identity and transparency dropped, so that a decoder's red channel is the
 * class index; anything but a palette or 8-bit grey PNG is refused through `fail`.
 */
function indexedPng(bytes: Uint8Array, fail: (problem: string) => never): Uint8Array {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) fail(`is a JPEG; JPEG's lossy compression changes class indices, so ${SAVE_AS}`);
  if (bytes.length < 33 || SIGNATURE.some((byte, i) => bytes[i] !== byte)) fail(`is not a PNG; ${SAVE_AS}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') fail('is a PNG that does not start with its IHDR chunk');
  const [bitDepth, colorType] = [bytes[24]!, bytes[25]!];
  if (colorType === 0 && bitDepth !== 8) fail(`is a ${bitDepth}-bit grey PNG; ${SAVE_AS}`);
  if (colorType !== 0 && colorType !== 3) fail(`is ${REFUSED_TYPES[colorType] ?? `a PNG of colour type ${colorType}`}; ${SAVE_AS}`);
  const chunks: Uint8Array[] = [bytes.subarray(0, 8)];
  for (let at = 8; at < bytes.length; ) {
    if (at + 12 > bytes.length) fail('is a truncated PNG: a chunk is cut off');
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (end > bytes.length) fail('is a truncated PNG: a chunk is cut off');
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'PLTE') chunks.push(chunk('PLTE', identityPalette(Math.min(256, 2 ** bitDepth))));
    else if (type !== 'tRNS') chunks.push(bytes.subarray(at, end));
    at = end;
  }
  return Buffer.concat(chunks);
}

function identityPalette(entries: number): Uint8Array {
  const palette = new Uint8Array(3 * entries);
  for (let i = 0; i < entries; i++) palette.fill(i, 3 * i, 3 * i + 3);
  return palette;
}

/** A PNG chunk: length, type, data and the CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) bytes[4 + i] = type.charCodeAt(i);
  bytes.set(data, 8);
  view.setUint32(8 + data.length, crc32(bytes.subarray(4, 8 + data.length)));
  return bytes;
}

/**
 * Throws unless every value of the mask is a class below `classes` or IGNORE_INDEX, naming the file, the first
 * pixel that is not (x, y from the top-left, counted from 0) and how many are not.
 */
export function checkMaskClasses(mask: ClassMask, classes: number, path: string): void {
  let first = -1;
  let count = 0;
  for (let p = 0; p < mask.classes.length; p++) {
    const value = mask.classes[p]!;
    if (value < classes || value === IGNORE_INDEX) continue;
    if (first < 0) first = p;
    count++;
  }
  if (count === 0) return;
  const [x, y] = [first % mask.width, Math.floor(first / mask.width)];
  throw dataFault(
    path,
    `has the class ${mask.classes[first]} at pixel (${x}, ${y}) and ${count - 1} more pixels of classes the head lacks: it outputs ${classes} classes (0 to ${classes - 1}; ${IGNORE_INDEX} means ignore)`,
  );
}

/**
 * A class mask as an 8-bit PNG: with a palette (PIL mode P; index = class) when one is given, else grey (mode L;
 * value = class). The palette is 3 bytes an entry, at most 256 entries.
 */
export function encodeMaskPng(mask: ClassMask, palette?: Uint8Array): Uint8Array {
  const { width, height, classes } = mask;
  if (classes.length !== width * height) throw new RangeError(`a ${width}×${height} mask needs ${width * height} classes, got ${classes.length}`);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8;
  header[9] = palette === undefined ? 0 : 3;
  // Each row after its filter byte, 0 (none).
  const rows = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(classes.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const chunks = [
    Uint8Array.from(SIGNATURE),
    chunk('IHDR', header),
    ...(palette === undefined ? [] : [chunk('PLTE', palette)]),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(chunks);
}

/**
 * Pascal VOC's palette, 256 entries: entry i spreads i's bits over the three channels, highest bits first (class 1
 * is dark red 128,0,0; 255, ignore, is 224,224,192), as the VOC development kit's colormap makes it.
 */
export function vocPalette(): Uint8Array {
  const palette = new Uint8Array(3 * 256);
  for (let i = 0; i < 256; i++) {
    for (let bit = 0, c = i; bit < 8; bit++, c >>= 3) {
      for (let channel = 0; channel < 3; channel++) palette[3 * i + channel]! |= ((c >> channel) & 1) << (7 - bit);
    }
  }
  return palette;
}
