/**
 * Reading the zip container of `torch.save` files. fflate inflates a DEFLATE entry (PyTorch stores its entries
 * uncompressed, but a re-zipped checkpoint may not); the central directory is read here, because fflate's
 * `unzipSync` copies every stored entry (twice the memory of a checkpoint, where a view of the file does) and
 * neither says where an entry's data lies nor checks that it lies inside the file. Every offset and size is
 * checked against the file before it is used, and an entry's declared size against a limit before it is
 * inflated: a zip bomb is refused from its directory, without allocating what it declares.
 */
import { inflateSync } from 'fflate';

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly headerOffset: number;
  readonly flags: number;
}

/** A zip archive that cannot be read; the message is one sentence. */
export class ZipError extends Error {
  override name = 'ZipError';
}

export const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04] as const;

const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
/** The end-of-directory record is 22 bytes and its comment at most 65,535. */
const MAX_END_SEARCH = 22 + 0xffff;

class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Throws unless `length` bytes from `at` lie inside the file. */
  need(at: number, length: number, what: string): void {
    if (!(at >= 0 && length >= 0 && at + length <= this.bytes.length)) {
      throw new ZipError(
        `the zip archive is truncated or damaged: ${what} (bytes ${at}–${at + length}) lies past the end of the ${this.bytes.length}-byte file`,
      );
    }
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  /** A 64-bit little-endian size or offset; anything past 2^53 is past the end of any file anyway. */
  u64(at: number): number {
    return this.u32(at) + this.u32(at + 4) * 2 ** 32;
  }
}

/** Where the central directory lies and how many entries it has, from the (zip64) end-of-directory record. */
function findDirectory(reader: Reader): { offset: number; size: number; count: number } {
  const { bytes } = reader;
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - MAX_END_SEARCH); at--) {
    if (reader.u32(at) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new ZipError('the zip archive has no end-of-directory record: the file is truncated or not a zip archive');
  const locator = end - 20;
  if (locator >= 0 && reader.u32(locator) === ZIP64_LOCATOR) {
    const record = reader.u64(locator + 8);
    reader.need(record, 56, 'the zip64 end-of-directory record');
    if (reader.u32(record) !== ZIP64_END_OF_DIRECTORY) throw new ZipError(`the zip archive is damaged: no zip64 end-of-directory record at byte ${record}`);
    return { count: reader.u64(record + 32), size: reader.u64(record + 40), offset: reader.u64(record + 48) };
  }
  return { count: reader.u16(end + 10), size: reader.u32(end + 12), offset: reader.u32(end + 16) };
}

/** The sizes and header offset of an entry, from its zip64 extra field where the 32-bit fields say 0xFFFFFFFF. */
function zip64Values(reader: Reader, extra: number, extraLength: number, values: number[]): number[] {
  const wanted = values.map((value) => value === 0xffffffff);
  for (let at = extra; at + 4 <= extra + extraLength; at += 4 + reader.u16(at + 2)) {
    if (reader.u16(at) !== 0x0001) continue;
    let field = at + 4;
    return values.map((value, i) => {
      if (!wanted[i]) return value;
      reader.need(field, 8, 'a zip64 extra field');
      field += 8;
      return reader.u64(field - 8);
    });
  }
  return values;
}

/** The archive's entries, in directory order; throws ZipError naming what is wrong. */
export function readZipDirectory(bytes: Uint8Array): ZipEntry[] {
  const reader = new Reader(bytes);
  const { offset, size, count } = findDirectory(reader);
  reader.need(offset, size, 'the central directory');
  // Each entry takes at least 46 bytes, so a count the directory cannot hold is refused before anything is read.
  if (count * 46 > size) throw new ZipError(`the zip archive is damaged: its directory of ${size} bytes cannot hold the ${count} entries it declares`);
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    reader.need(at, 46, `entry ${i + 1} of the central directory`);
    if (reader.u32(at) !== DIRECTORY_ENTRY)
      throw new ZipError(`the zip archive is damaged: entry ${i + 1} of the central directory (byte ${at}) has no signature`);
    const flags = reader.u16(at + 8);
    const [nameLength, extraLength, commentLength] = [reader.u16(at + 28), reader.u16(at + 30), reader.u16(at + 32)];
    reader.need(at + 46, nameLength + extraLength + commentLength, `the name of entry ${i + 1}`);
    const rawName = bytes.subarray(at + 46, at + 46 + nameLength);
    // Bit 11 marks UTF-8 names; others are code page 437, whose ASCII part is all an archive of torch.save uses.
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(rawName);
    const [size32, compressed32, header32] = [reader.u32(at + 24), reader.u32(at + 20), reader.u32(at + 42)];
    const [entrySize, compressedSize, headerOffset] = zip64Values(reader, at + 46 + nameLength, extraLength, [size32, compressed32, header32]);
    entries.push({ name, method: reader.u16(at + 10), compressedSize: compressedSize!, size: entrySize!, headerOffset: headerOffset!, flags });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Where an entry's data starts, after its local header; checked to lie, whole, inside the file. */
function dataStart(reader: Reader, entry: ZipEntry): number {
  reader.need(entry.headerOffset, 30, `the local header of ${entry.name}`);
  if (reader.u32(entry.headerOffset) !== LOCAL_HEADER)
    throw new ZipError(`the zip archive is damaged: ${entry.name} has no local header at byte ${entry.headerOffset}`);
  const start = entry.headerOffset + 30 + reader.u16(entry.headerOffset + 26) + reader.u16(entry.headerOffset + 28);
  reader.need(start, entry.compressedSize, `the data of ${entry.name}`);
  return start;
}

/**
 * An entry's bytes: a view of the file when stored, inflated into a buffer of its declared size when deflated.
 * `maxInflated` bounds what a deflated entry may declare; the caller keeps the budget across entries.
 */
export function zipEntryBytes(bytes: Uint8Array, entry: ZipEntry, maxInflated: number): Uint8Array {
  if (entry.flags & 0x1) throw new ZipError(`${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8)
    throw new ZipError(`${entry.name} uses compression method ${entry.method}; stored and deflated entries are read`);
  if (entry.method === 0 && entry.size !== entry.compressedSize) {
    throw new ZipError(`the zip archive is damaged: ${entry.name} is stored but declares ${entry.size} bytes and ${entry.compressedSize} compressed`);
  }
  if (entry.method === 8 && entry.size > maxInflated) {
    throw new ZipError(
      `${entry.name} declares ${entry.size} bytes once inflated, more than the ${maxInflated} bytes left to inflate: a zip bomb, or a checkpoint too large to read`,
    );
  }
  const reader = new Reader(bytes);
  const start = dataStart(reader, entry);
  const data = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return data;
  let inflated: Uint8Array;
  try {
    // Into a buffer of the declared size, which fflate does not grow: a stream that inflates further is cut there.
    inflated = inflateSync(data, { out: new Uint8Array(entry.size) });
  } catch (error) {
    throw new ZipError(`${entry.name} cannot be inflated: ${(error as Error).message}`);
  }
  if (inflated.length !== entry.size)
    throw new ZipError(`the zip archive is damaged: ${entry.name} inflates to ${inflated.length} bytes where its directory declares ${entry.size}`);
  return inflated;
}
