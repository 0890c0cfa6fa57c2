// The safetensors reader against hand-built files: every weight-file fault from the project's checklist,
// F16/BF16 widening checked against known bit patterns, and the writer read back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, WeightFileError, writeSafetensors } from '../src/weights/safetensors.js';

/** A safetensors file from a header object (or raw header text) and data bytes, built by hand. */
function file(header: object | string | Uint8Array, data: number[] | Uint8Array = [], headerLength?: number): Uint8Array {
  const text = header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  const view = new DataView(out.buffer);
  const length = headerLength ?? text.length;
  view.setUint32(0, length % 2 ** 32, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

function problems(bytes: Uint8Array): readonly string[] {
  try {
    readSafetensors('w.safetensors', bytes);
  } catch (error) {
    if (error instanceof WeightFileError) return error.problems;
    throw error;
  }
  return [];
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

const cases: [title: string, bytes: Uint8Array, expected: string[]][] = [
  ['a file shorter than 8 bytes', new Uint8Array([1, 2, 3]), ['the file is 3 bytes long, shorter than the 8-byte header length']],
  ['header length 0', file('', [], 0), ['the header length is 0; a header is at least "{}"']],
  ['a header length larger than the file', file('{}', [], 1000), ['the header length 1000 runs past the end of the 10-byte file']],
  ['an absurd header length (high 32 bits set)', file('{}', [], 2 ** 40), [`the header length ${2 ** 40} is above the 104857600-byte limit`]],
  ['a header that is not UTF-8', file(new Uint8Array([0x7b, 0xff, 0x7d])), ['the header is not valid UTF-8']],
  ['a header that is not JSON', file('{"a": '), ['the header is not valid JSON: Unexpected end of JSON input']],
  ['a header that is a JSON array', file('[1, 2]'), ['the header is not a JSON object']],
  [
    'offsets of the wrong arity, negative, or reversed',
    file(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0] },
        b: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] },
        c: { dtype: 'F32', shape: [1], data_offsets: [4, 0] },
      },
      f32([1, 2]),
    ),
    [
      'a: data_offsets [0] must be [begin, end]',
      'b: data_offsets [-4,0] must be integers with 0 ≤ begin ≤ end',
      'c: data_offsets [4,0] must be integers with 0 ≤ begin ≤ end',
    ],
  ],
  ['offsets out of range', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32([1])), ['a: data_offsets end 8 is past the 4 bytes of data']],
  [
    'offsets above 2^31, without 32-bit wrap-around',
    file({ a: { dtype: 'F32', shape: [1], data_offsets: [2 ** 31 + 4, 2 ** 31 + 8] } }, f32([1])),
    [`a: data_offsets end ${2 ** 31 + 8} is past the 4 bytes of data`],
  ],
  [
    'overlapping tensors',
    file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32([1, 2, 3])),
    ['b (bytes 4–12) overlaps a (bytes 0–8)'],
  ],
  [
    'offsets that do not match shape × dtype size',
    file({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }, f32([1, 2])),
    ['a: 8 bytes at data_offsets [0,8] do not hold shape [3] of F16 (6 bytes)'],
  ],
  [
    'an unknown dtype',
    file({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, [0]),
    ['a: unknown dtype "F8_E4M3"; known are F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL'],
  ],
  [
    'a shape that is not a list of sizes',
    file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32([1])),
    ['a: shape [-1] is not a list of non-negative integers'],
  ],
  [
    'a tensor named twice, which JSON.parse would keep only once',
    file('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "\\u0061": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f32([1, 2])),
    ['"a" appears twice in the header; one of the two would be dropped without a word'],
  ],
  [
    'a metadata key twice',
    file('{"__metadata__": {"k": "1", "k": "2"}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32([1])),
    ['"k" appears twice in the header; one of the two would be dropped without a word'],
  ],
  [
    'bytes after the last tensor',
    file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1, 2, 3])),
    ["8 bytes follow the last tensor's data (the tensors end at byte 4 of 12): the file is damaged or not what its header describes"],
  ],
];

test('equal keys in different objects, and strings holding quotes, braces and escapes, are not duplicates', () => {
  const header =
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b\\"{[,": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, "__metadata__": {"dtype": "a,\\"}"}}';
  assert.equal(problems(file(header, f32([1, 2]))), []);
});

test("an F32 tensor at an offset that is not a multiple of 4, in a Buffer, is copied aligned (regression: a Buffer's slice is a view)", () => {
  // A header of 61 bytes puts the data at byte 69.
  const header = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }).padEnd(61, ' ');
  const read = readSafetensors('w.safetensors', Buffer.from(file(header, f32([1.5, -2]))));
  assert.equal([...read.tensors.get('a')!.data], [1.5, -2]);
});

for (const [title, bytes, expected] of cases) {
  test(title, () => {
    assert.equal(problems(bytes), expected);
  });
}

test('every problem of a file is reported at once', () => {
  const bytes = file({ a: { dtype: 'X', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [9], data_offsets: [0, 4] } }, f32([1]));
  assert.is(problems(bytes).length, 2);
  assert.throws(() => readSafetensors('w.safetensors', bytes), /w\.safetensors: 2 problems:\n {2}a: unknown dtype/);
});

test('F16 and BF16 widen to float32 exactly', () => {
  // F16: 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504 (largest), 0x0001 = 2^−24 (smallest subnormal), 0x7C00 = +∞.
  // BF16 keeps float32's top 16 bits: 0x3F80 = 1, 0x4049 = 3.140625, 0xC2F7 = −123.5.
  const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]).buffer);
  const brain = new Uint8Array(new Uint16Array([0x3f80, 0x4049, 0xc2f7]).buffer);
  const data = new Uint8Array([...half, ...brain]);
  const read = readSafetensors(
    'w',
    file({ h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] }, b: { dtype: 'BF16', shape: [3], data_offsets: [10, 16] } }, data),
  );
  assert.equal([...read.tensors.get('h')!.data], [1, -2, 65504, 2 ** -24, Infinity]);
  assert.equal([...read.tensors.get('b')!.data], [1, 3.140625, -123.5]);
});

test('integer tensors such as num_batches_tracked are listed, not converted; metadata is kept', () => {
  const read = readSafetensors(
    'w',
    file({ __metadata__: { format: 'pt' }, 'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, new Uint8Array(8)),
  );
  assert.equal([...read.others], [['bn.num_batches_tracked', 'I64']]);
  assert.equal([...read.metadata], [['format', 'pt']]);
  assert.is(read.tensors.size, 0);
});

test('the writer produces files the reader returns unchanged, with 8-byte aligned data', () => {
  const tensors = new Map([
    ['conv.weight', { shape: [2, 1, 1, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, 65504]) }],
    ['fc.bias', { shape: [1], data: new Float32Array([Math.PI]) }],
  ]);
  const bytes = writeSafetensors(tensors, new Map([['format', 'pt']]));
  const headerLength = new DataView(bytes.buffer).getUint32(0, true);
  assert.is((8 + headerLength) % 8, 0);
  const read = readSafetensors('w', bytes);
  assert.equal([...read.tensors.keys()], ['conv.weight', 'fc.bias']);
  for (const [name, tensor] of tensors) {
    assert.equal(read.tensors.get(name)!.shape, tensor.shape);
    assert.equal([...read.tensors.get(name)!.data], [...tensor.data]);
  }
  assert.equal([...read.metadata], [['format', 'pt']]);
});

test.run();
