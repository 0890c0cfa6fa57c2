/**
 * The IDX format of MNIST and Fashion-MNIST: two zero bytes, a type byte, a byte with the number of dimensions,
 * each dimension as a 32-bit big-endian unsigned integer, then the data, big-endian. netspec reads only
 * unsigned-byte data (images and labels), so every other type is refused by name.
 */
import { constants, gunzipSync } from 'node:zlib';
import { readBounded } from '../files/read-bounded.js';
import { DataFileError } from './data-file-error.js';

export interface IdxArray {
  readonly shape: number[];
  /** A view on the bytes given to readIdx, not a copy. */
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
const typeNames: Readonly<Record<number, string>> = { 8: 'unsigned byte', 9: 'signed byte', 11: 'int16', 12: 'int32', 13: 'float32', 14: 'float64' };
const MAX_DIMENSIONS = 4;
/** The most data bytes an IDX file may declare: EMNIST's largest split is about 550 MB. */
export const MAX_IDX_BYTES = 2 ** 30;
/** The largest compressed file read: gzip never makes data larger by more than a few bytes per 16 KiB. */
const MAX_GZIP_BYTES = MAX_IDX_BYTES + 2 ** 20;
/** DEFLATE inflates at most 1032-fold: a prefix of n compressed bytes yields at most 1032 n bytes. */
const MAX_DEFLATE_RATIO = 1032;

const hexByte = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

interface IdxHeader {
  readonly shape: number[];
  readonly headerLength: number;
  /** The data bytes the shape declares. */
  readonly dataBytes: number;
}

/**
 * The header at the start of `bytes`, once enough of it is there (undefined before); throws DataFileError on the first
 * problem. `complete` says no more bytes will come; while more may (an inflating file), a shape declaring more than
 * MAX_IDX_BYTES is refused before they do.
 */
function readIdxHeader(bytes: Uint8Array, file: string, complete: boolean): IdxHeader | undefined {
  const fail = (problem: string): never => {
    throw new DataFileError(file, problem);
  };
  if (bytes.length < 4) return complete ? fail(`the file is ${bytes.length} bytes long, shorter than the 4-byte IDX header`) : undefined;
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
  if (bytes.length < headerLength)
    return complete
      ? fail(`the header declares ${dimensions} dimensions and needs ${headerLength} bytes, but the file is ${bytes.length} bytes long`)
      : undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dimensions }, (_, i) => view.getUint32(4 + 4 * i, false));
  // Float multiplication cannot wrap: a product past 2^53 is inexact but still far above the limit.
  const dataBytes = shape.reduce((product, size) => product * size, 1);
  if (!complete && dataBytes > MAX_IDX_BYTES) {
    fail(
      `the header declares shape [${shape.join(', ')}], ${Number.isSafeInteger(dataBytes) ? dataBytes : `about ${dataBytes.toPrecision(3)}`} bytes, more than the ${MAX_IDX_BYTES}-byte limit for IDX data`,
    );
  }
  return { shape, headerLength, dataBytes };
}

/** Reads an unsigned-byte IDX array; throws DataFileError on the first problem found. */
export function readIdx(bytes: Uint8Array, file: string): IdxArray {
  const { shape, headerLength, dataBytes } = readIdxHeader(bytes, file, true)!;
  const present = bytes.length - headerLength;
  if (dataBytes !== present) {
    const trailing = present - dataBytes;
    const fault = trailing < 0 ? 'the data is truncated' : `the data has ${trailing} trailing byte${trailing === 1 ? '' : 's'}`;
    const needed = Number.isSafeInteger(dataBytes) ? `${dataBytes}` : `about ${dataBytes.toPrecision(3)}`;
    throw new DataFileError(file, `${fault}: shape [${shape.join(', ')}] needs ${needed} bytes but ${present} follow the ${headerLength}-byte header`);
  }
  return { shape, data: bytes.subarray(headerLength) };
}

/**
 * Reads an IDX file, gunzipping it when its name ends in `.gz` or its bytes start with the gzip magic. The file is
 * read with its size bounded (devices, pipes and folders refused without blocking), and a gzipped one is inflated
 * no further than the size its header declares, the header checked as soon as it is inflated.
 */
export function readIdxFile(path: string): IdxArray {
  const read = readBounded(path, MAX_GZIP_BYTES);
  if (!(read instanceof Uint8Array)) {
    throw new DataFileError(
      path,
      read.kind === 'tooLarge'
        ? `the file is ${read.size}, more than the ${MAX_GZIP_BYTES}-byte limit for IDX files`
        : read.reason === 'no such file or folder'
          ? 'the file does not exist'
          : `the file cannot be read: ${read.reason}`,
    );
  }
  const gzipped = path.endsWith('.gz') || (read[0] === 0x1f && read[1] === 0x8b);
  return readIdx(gzipped ? gunzipIdx(read, path) : read, path);
}

/**
 * The IDX bytes of a gzip file. The header is inflated first from a prefix of the file, growing until it holds the
 * header, with an output cap each time; then the whole file is inflated with its output capped at the size that
 * header declares, so a stream that inflates further (a gzip bomb) stops there, and a header past the limit
 * stops before the rest is inflated.
 */
function gunzipIdx(compressed: Uint8Array, file: string): Uint8Array {
  let header: IdxHeader | undefined;
  for (let prefix = 1024; header === undefined; prefix *= 4) {
    const part = compressed.subarray(0, prefix);
    const complete = part.length === compressed.length;
    // A prefix ends mid-stream: a sync flush returns what it inflates to instead of failing on the missing end.
    const head = inflate(part, file, MAX_DEFLATE_RATIO * part.length + 1024, complete ? constants.Z_FINISH : constants.Z_SYNC_FLUSH);
    header = readIdxHeader(head, file, complete);
  }
  const declared = header.headerLength + header.dataBytes;
  try {
    return gunzipSync(compressed, { maxOutputLength: declared });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw new DataFileError(file, `not a valid gzip file: ${(error as Error).message}`);
    throw new DataFileError(file, `the data inflates past the ${header.dataBytes} bytes its header declares ([${header.shape.join(', ')}])`);
  }
}

function inflate(compressed: Uint8Array, file: string, maxOutputLength: number, finishFlush: number): Uint8Array {
  try {
    return gunzipSync(compressed, { maxOutputLength, finishFlush });
  } catch (error) {
    throw new DataFileError(file, `not a valid gzip file: ${(error as Error).message}`);
  }
}
