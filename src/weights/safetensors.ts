/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names to
 * { dtype, shape, data_offsets: [begin, end] } (offsets into the data after the header), then raw
 * little-endian data. No npm package for it is maintained, so this reader checks everything itself and
 * reports every problem of a file at once.
 */
import { UserError } from '../errors/user-error.js';
import { displayPath } from '../files/display-path.js';

/** A float tensor as the importer uses it: F16 and BF16 are widened to float32. */
export interface FloatTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  /** Floating-point tensors by name, in the file's order. */
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  /** Integer and boolean tensors by name and dtype (e.g. BatchNorm's `num_batches_tracked`, I64): read, not converted. */
  readonly others: ReadonlyMap<string, string>;
  readonly metadata: ReadonlyMap<string, string>;
}

/**
 * A weight file that cannot be used; `problems` lists every reason, one sentence each. Standard error shows each
 * on a line of its own naming the file, then how many there were: a command that meets one writes nothing.
 */
export class WeightFileError extends UserError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
    this.name = 'WeightFileError';
  }

  override lines(): readonly string[] {
    const count = `${this.problems.length} problem${this.problems.length === 1 ? '' : 's'}; nothing was written`;
    return [...this.problems.map((problem) => `${displayPath(this.file)}: ${problem}`), count];
  }
}

const floatSizes = { F32: 4, F16: 2, BF16: 2, F64: 8 } as const;
const otherSizes = { I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
type FloatDtype = keyof typeof floatSizes;

/** Headers larger than this are refused before parsing: real headers of large models are a few hundred KiB. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads and checks a safetensors file; throws WeightFileError listing every problem found. */
export function readSafetensors(file: string, bytes: Uint8Array): SafetensorsFile {
  const fail = (...problems: string[]): never => {
    throw new WeightFileError(file, problems);
  };
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A 64-bit length read as two 32-bit halves with plain arithmetic: no 32-bit bitwise truncation past 2^31.
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength === 0) fail('the header length is 0; a header is at least "{}"');
  if (headerLength > MAX_HEADER_BYTES) fail(`the header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLength > bytes.length) fail(`the header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);

  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`the header is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  // JSON.parse keeps the last of two equal keys without a word: a tensor named twice would lose one silently.
  const twice = repeatedKey(headerText);
  if (twice !== undefined) fail(`${JSON.stringify(twice)} appears twice in the header; one of the two would be dropped without a word`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const problems: string[] = [];
  const metadata = new Map<string, string>();
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) problems.push('__metadata__ is not an object of strings');
      else
        for (const [key, value] of Object.entries(entry)) {
          if (typeof value === 'string') metadata.set(key, value);
          else problems.push(`__metadata__.${key} is not a string`);
        }
      continue;
    }
    const checked = checkEntry(name, entry, dataLength);
    if (typeof checked === 'string') problems.push(checked);
    else entries.push({ name, ...checked });
  }
  entries
    .slice()
    .sort((a, b) => a.begin - b.begin || a.end - b.end)
    .forEach((entry, i, sorted) => {
      const previous = sorted[i - 1];
      if (previous && entry.begin < previous.end)
        problems.push(`${entry.name} (bytes ${entry.begin}–${entry.end}) overlaps ${previous.name} (bytes ${previous.begin}–${previous.end})`);
    });
  const end = entries.reduce((last, entry) => Math.max(last, entry.end), 0);
  if (problems.length === 0 && end < dataLength)
    problems.push(
      `${dataLength - end} bytes follow the last tensor's data (the tensors end at byte ${end} of ${dataLength}): the file is damaged or not what its header describes`,
    );
  if (problems.length > 0) fail(...problems);

  const tensors = new Map<string, FloatTensor>();
  const others = new Map<string, string>();
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    if (entry.dtype in floatSizes) tensors.set(entry.name, { shape: entry.shape, data: toFloat32(entry.dtype as FloatDtype, raw) });
    else others.set(entry.name, entry.dtype);
  }
  return { tensors, others, metadata };
}

/**
 * The first key that appears twice in one object of a JSON text that JSON.parse accepted, or undefined: a scan that
 * keeps the keys of each open object, reading strings with their escapes.
 */
function repeatedKey(text: string): string | undefined {
  const open: (Set<string> | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      open.push(undefined);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = open.at(-1) !== undefined;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}

/** Checks one header entry; returns its parts, or a sentence saying what is wrong. */
function checkEntry(name: string, entry: unknown, dataLength: number): { dtype: string; shape: number[]; begin: number; end: number } | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `${name}: the entry is not an object`;
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in floatSizes || dtype in otherSizes)) {
    return `${name}: unknown dtype ${JSON.stringify(dtype)}; known are ${[...Object.keys(floatSizes), ...Object.keys(otherSizes)].join(', ')}`;
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    return `${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`;
  if (!Array.isArray(offsets) || offsets.length !== 2) return `${name}: data_offsets ${JSON.stringify(offsets)} must be [begin, end]`;
  const [begin, end] = offsets as unknown[];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0 || (end as number) < (begin as number)) {
    return `${name}: data_offsets ${JSON.stringify(offsets)} must be integers with 0 ≤ begin ≤ end`;
  }
  if ((end as number) > dataLength) return `${name}: data_offsets end ${end} is past the ${dataLength} bytes of data`;
  const size = (floatSizes[dtype as FloatDtype] ?? otherSizes[dtype as keyof typeof otherSizes]) * shape.reduce((a: number, b: number) => a * b, 1);
  if ((end as number) - (begin as number) !== size) {
    return `${name}: ${(end as number) - (begin as number)} bytes at data_offsets ${JSON.stringify(offsets)} do not hold shape [${shape.join(', ')}] of ${dtype} (${size} bytes)`;
  }
  return { dtype, shape: shape as number[], begin: begin as number, end: end as number };
}

/** F32 data is viewed in place when aligned (no copy: a 100 MB checkpoint stays 100 MB); other dtypes are widened. */
export function toFloat32(dtype: FloatDtype, raw: Uint8Array): Float32Array {
  if (dtype === 'F32') {
    // A copy, made with Uint8Array's constructor: a Buffer's slice() would be another unaligned view of the same bytes.
    const aligned = raw.byteOffset % 4 === 0 ? raw : new Uint8Array(raw);
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = raw.byteLength / floatSizes[dtype];
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] =
      dtype === 'F64'
        ? view.getFloat64(8 * i, true)
        : dtype === 'BF16'
          ? bfloat16ToFloat(view.getUint16(2 * i, true))
          : float16ToFloat(view.getUint16(2 * i, true));
  }
  return out;
}

/** bfloat16 is the top half of a float32. */
function bfloat16ToFloat(bits: number): number {
  const scratch = new DataView(new ArrayBuffer(4));
  scratch.setUint32(0, bits * 65536);
  return scratch.getFloat32(0);
}

/** IEEE 754 half precision: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
function float16ToFloat(bits: number): number {
  const sign = bits >= 0x8000 ? -1 : 1;
  const exponent = Math.floor(bits / 1024) % 32;
  const fraction = bits % 1024;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A tensor of bytes (images, labels), written as U8. */
export interface ByteTensor {
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Writes float32 (F32) and byte (U8) tensors, in the given order and contiguous, as a safetensors file. */
export function writeSafetensors(tensors: ReadonlyMap<string, FloatTensor | ByteTensor>, metadata: ReadonlyMap<string, string> = new Map()): Uint8Array {
  const header: Record<string, unknown> = Object.create(null);
  if (metadata.size > 0) header.__metadata__ = Object.fromEntries(metadata);
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const bytes = tensor.data.byteLength;
    header[name] = { dtype: tensor.data instanceof Uint8Array ? 'U8' : 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // The data should start 8-byte aligned, so the header is padded with spaces as the reference writer pads it.
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - ((8 + new TextEncoder().encode(headerText).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerBytes.length / 2 ** 32), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    // Float32Array is little-endian on every platform Node runs on; copy its bytes (or the bytes) as they are.
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    position += tensor.data.byteLength;
  }
  return out;
}
