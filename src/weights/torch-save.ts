/**
 * Writing a state dict as `torch.save` does since PyTorch 1.6, for `torch.load(path, weights_only=True)`: a zip
 * archive whose entries are stored uncompressed with their data 64-byte aligned (PyTorch pads each local header
 * with an extra field to that end), holding `archive/data.pkl` — an OrderedDict of float32 tensors, each rebuilt
 * by `_rebuild_tensor_v2` from its own storage `archive/data/<i>` — `archive/byteorder` and `archive/version`.
 * The pickle uses only opcodes of protocol 2 that PyTorch's weights-only unpickler reads. The OrderedDict carries
 * the attribute `producer = "netspec"`, as a state dict carries `_metadata`: it tells netspec the file is its own.
 */
import { zipSync, type Zippable } from 'fflate';
import { InternalError } from '../errors/internal-error.js';
import { PRODUCER } from '../files/output-guard.js';
import { WeightFileError, type FloatTensor } from './safetensors.js';
import { readZipDirectory, zipEntryBytes } from './zip.js';

const ARCHIVE = 'archive';
/** PyTorch aligns every entry's data to 64 bytes, so that storages can be used where they lie. */
const ALIGNMENT = 64;
/** The id PyTorch gives the extra field that pads a local header. */
const PADDING_FIELD = 0x4246;
/** Fixed, so that the same weights make the same file. */
const MTIME = new Date(2000, 0, 1);
/** zip sizes and offsets without the zip64 extension, which fflate does not write. */
const MAX_ZIP_BYTES = 0xffffffff;

/** The few pickle opcodes the writer needs, protocol 2. */
class Pickle {
  private readonly bytes: number[] = [];
  op(code: string | number): this {
    this.bytes.push(typeof code === 'number' ? code : code.charCodeAt(0));
    return this;
  }
  raw(data: Uint8Array | readonly number[]): this {
    for (const byte of data) this.bytes.push(byte);
    return this;
  }
  global(module: string, name: string): this {
    return this.op('c').raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }
  string(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    return this.op('X').raw(littleEndian(utf8.length, 4)).raw(utf8);
  }
  /** BININT1, BININT2 or BININT by size, else LONG1 of 8 bytes. */
  int(value: number): this {
    if (value < 256) return this.op('K').raw([value]);
    if (value < 65536) return this.op('M').raw(littleEndian(value, 2));
    if (value < 2 ** 31) return this.op('J').raw(littleEndian(value, 4));
    return this.op(0x8a).raw([8]).raw(littleEndian(value, 8));
  }
  tuple(values: readonly number[]): this {
    if (values.length === 0) return this.op(')');
    this.op('(');
    for (const value of values) this.int(value);
    return this.op('t');
  }
  emptyOrderedDict(): this {
    return this.global('collections', 'OrderedDict').op(')').op('R');
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A non-negative integer below 2^53 as `length` little-endian bytes. */
function littleEndian(value: number, length: number): number[] {
  return Array.from({ length }, (_, i) => Math.floor(value / 2 ** (8 * i)) % 256);
}

/** Row-major strides of a contiguous tensor. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

/** The pickle of an OrderedDict of float32 tensors, the i-th viewing all of storage `i`. */
export function stateDictPickle(tensors: ReadonlyMap<string, FloatTensor>): Uint8Array {
  const pickle = new Pickle().op(0x80).raw([2]).emptyOrderedDict();
  pickle.op('}').string('producer').string(PRODUCER).op('s').op('b');
  pickle.op('(');
  [...tensors].forEach(([name, tensor], i) => {
    pickle.string(name).global('torch._utils', '_rebuild_tensor_v2').op('(');
    pickle.op('(').string('storage').global('torch', 'FloatStorage').string(String(i)).string('cpu').int(tensor.data.length).op('t').op('Q');
    pickle.int(0).tuple(tensor.shape).tuple(contiguousStrides(tensor.shape)).op(0x89).emptyOrderedDict();
    pickle.op('t').op('R');
  });
  return pickle.op('u').op('.').done();
}

/** A torch.save file of float32 tensors, in the given order. */
export function writeTorchFile(file: string, tensors: ReadonlyMap<string, FloatTensor>): Uint8Array {
  const records: [string, Uint8Array][] = [
    ['data.pkl', stateDictPickle(tensors)],
    ['byteorder', new TextEncoder().encode('little')],
    ...[...tensors.values()].map((tensor, i): [string, Uint8Array] => [
      `data/${i}`,
      new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
    ]),
    // The archive format version PyTorch 1.6 to 2.x writes, spelt as it spells it.
    ['version', new TextEncoder().encode('3\n')],
  ];
  const zippable: Zippable = {};
  let offset = 0;
  for (const [record, data] of records) {
    const name = `${ARCHIVE}/${record}`;
    // fflate lays each entry out as a 30-byte local header, the name, the extra fields (4 bytes each plus their
    // data) and the data, one after another from the start of the archive.
    const headerEnd = offset + 30 + new TextEncoder().encode(name).length + 4;
    const padding = new Uint8Array((ALIGNMENT - (headerEnd % ALIGNMENT)) % ALIGNMENT).fill(0x5a);
    zippable[name] = [data, { level: 0, mtime: MTIME, extra: { [PADDING_FIELD]: padding } }];
    offset = headerEnd + padding.length + data.length;
  }
  if (offset > MAX_ZIP_BYTES)
    throw new WeightFileError(file, [`the weights take ${offset} bytes, more than the 4 GiB a zip archive holds without zip64, which is not written`]);
  const archive = zipSync(zippable);
  for (const entry of readZipDirectory(archive)) {
    const at = zipEntryBytes(archive, entry, 0).byteOffset - archive.byteOffset;
    if (at % ALIGNMENT !== 0) throw new InternalError(`${entry.name} starts at byte ${at} of the archive, not on a ${ALIGNMENT}-byte boundary`);
  }
  return archive;
}
