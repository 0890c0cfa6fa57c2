/**
 * The IDX format of MNIST and Fashion-MNIST: two zero bytes, a type byte, a byte with the number of dimensions,
 * each dimension as a 32-bit big-endian unsigned integer, then the data, big-endian. netspec reads only
 * unsigned-byte data (images and labels), so every other type is refused by name.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFileError } from './data-file-error.js';

export interface IdxArray {
  readonly shape: number[];
  /** A view on the bytes given to readIdx, not a copy. */
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
const typeNames: Readonly<Record<number, string>> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };
const MAX_DIMENSIONS = 4;

const hexByte = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/** Reads an unsigned-byte IDX array; throws DataFileError on the first problem found. */
export function readIdx(bytes: Uint8Array, file: string): IdxArray {
  const fail = (problem: string): never => {
    throw new DataFileError(file, problem);
  };
  if (bytes.length < 4) fail(`the file is ${bytes.length} bytes long, shorter than the 4-byte IDX header`);
  const [zero0 = 0, zero1 = 0, type = 0, dimensions = 0] = bytes;
  if (zero0 !== 0 || zero1 !== 0) {
    const gzipHint = zero0 === 0x1f && zero1 === 0x8b ? ' (it is gzipped; read it with readIdxFile)' : '';
    fail(`not an IDX file: magic bytes ${hexByte(zero0)} ${hexByte(zero1)} where an IDX file starts with 0x00 0x00${gzipHint}`);
  }
  if (type !== UNSIGNED_BYTE) {
    const name = typeNames[type];
    fail(`${name ? `holds ${name} data` : 'has an unknown data type'} (type ${hexByte(type)}); only unsigned bytes (0x08) are supported`);
  }
  if (dimensions < 1 || dimensions > MAX_DIMENSIONS) fail(`declares ${dimensions} dimensions; only 1 to ${MAX_DIMENSIONS} are supported`);

  const headerLength = 4 + 4 * dimensions;
  if (bytes.length < headerLength) fail(`the header declares ${dimensions} dimensions and needs ${headerLength} bytes, but the file is ${bytes.length} bytes long`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dimensions }, (_, i) => view.getUint32(4 + 4 * i, false));

  // Float multiplication cannot wrap: a product past 2^53 is inexact but still far above any real file length.
  const needed = shape.reduce((product, size) => product * size, 1);
  const present = bytes.length - headerLength;
  if (needed !== present) {
    const neededText = Number.isSafeInteger(needed) ? `${needed}` : `about ${needed.toPrecision(3)}`;
    const trailing = present - needed;
    const fault = trailing < 0 ? 'the data is truncated' : `the data has ${trailing} trailing byte${trailing === 1 ? '' : 's'}`;
    fail(`${fault}: shape [${shape.join(', ')}] needs ${neededText} bytes but ${present} follow the ${headerLength}-byte header`);
  }
  return { shape, data: bytes.subarray(headerLength) };
}

/** Reads an IDX file, gunzipping it when its name ends in `.gz` or its bytes start with the gzip magic. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new DataFileError(path, code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read: ${message}`);
  }
  if (path.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new DataFileError(path, `not a valid gzip file: ${(error as Error).message}`);
    }
  }
  return readIdx(bytes, path);
}
