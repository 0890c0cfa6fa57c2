// Hostile and damaged torch.save files: pickles that would run code in Python's unpickler (made by Python's pickle
// through __reduce__, and assembled byte by byte here for the opcodes Python would not write), truncated and
// damaged archives, a zip bomb and storages shorter than their tensors. Each is refused with one line naming what
// it holds, exit status 1 through the CLI, nothing written, and no marker file from a payload.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readCheckpoint } from '../src/weights/checkpoint-file.js';
import { readPickle } from '../src/weights/pickle.js';
import type { PickleDict, PickleSet, PickleTuple } from '../src/weights/pickle-values.js';
import { WeightFileError } from '../src/weights/safetensors.js';
import { MAX_INFLATED_BYTES } from '../src/weights/torch-file.js';
import { torchPickleHost } from '../src/weights/torch-pickle.js';
import {
  cli,
  dictPickle,
  floats,
  global,
  int,
  pickleOf,
  PYTHON,
  skipReason,
  str,
  TINY_SPEC,
  tensorPickle,
  torchAvailable,
  torchZip,
  writeTorchCases,
} from './support/torch-cases.js';

const ONLY_DATA = 'only tensors, numbers, strings and containers are read';
const root = mkdtempSync(join(tmpdir(), 'netspec-pth-hostile-'));
writeFileSync(join(root, 'tiny.json'), JSON.stringify(TINY_SPEC));
let cases = '';

test.before(() => {
  if (torchAvailable) cases = writeTorchCases(root, ['model', 'hostile']);
  else console.log(`\n  pth-hostile.test.ts: the files PyTorch writes are ${skipReason}\n`);
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const define = torchAvailable ? test : test.skip;

/** The one problem reading `bytes` reports. */
function refusal(bytes: Uint8Array): string {
  try {
    readCheckpoint('x.pth', bytes);
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    assert.is(error.problems.length, 1, error.problems.join('\n'));
    return error.problems[0]!;
  }
  throw new Error('the checkpoint was read');
}

/** Runs `weights import` on a file in the test's folder: it must exit 1 with the one line, and write nothing. */
function refusedByCli(file: string, line: string): void {
  const run = cli(['weights', 'import', 'tiny.json', file, '--out', 'w'], root);
  assert.is(run.status, 1, `${file}: ${run.stderr}`);
  assert.is(run.stderr, `${file}: ${line}\n1 problem; nothing was written\n`);
  assert.not.ok(existsSync(join(root, 'w')), file);
}

define(
  "payloads pickled by Python (os.system through REDUCE, exec and eval through GLOBAL and STACK_GLOBAL) are refused naming the global, as PyTorch's weights_only refuses them, and none runs",
  () => {
    const expected: Record<string, string> = {
      'system.pth': 'posix.system',
      'system-legacy.pth': 'posix.system',
      // Protocol 2 names Python 3's builtins by their Python 2 module.
      'exec.pth': '__builtin__.exec',
      'eval-protocol4.pth': 'builtins.eval',
    };
    for (const [file, name] of Object.entries(expected)) {
      refusedByCli(join('cases', 'hostile', file), `refuses the pickle global ${name}; ${ONLY_DATA}`);
      const torch = spawnSync(
        PYTHON,
        ['-c', 'import sys, torch\ntry:\n  torch.load(sys.argv[1], weights_only=True)\nexcept Exception as e:\n  print(e)', join(cases, 'hostile', file)],
        { encoding: 'utf8' },
      );
      // PyTorch 1.13 names the global, or refuses protocol 4's FRAME opcode before it.
      assert.match(torch.stdout, new RegExp(`Unsupported (class ${name.replace('.', '\\.')}|operand 149)`), `PyTorch on ${file}`);
    }
    assert.equal(readdirSync(join(cases, 'markers')), [], 'no payload created its marker');
  },
);

/** Hand-made pickles of protocol 2 (a PROTO opcode, then the body), each with the line that refuses it. */
const handMade: [what: string, body: Uint8Array, line: string][] = [
  ['INST', pickleOf('(', 'i', 'os\nsystem\n', '.'), `refuses the pickle opcode INST (an instance of os.system); ${ONLY_DATA}`],
  ['OBJ', pickleOf('(', global('collections', 'OrderedDict'), 'o.'), `refuses the pickle opcode OBJ (an instance of collections.OrderedDict); ${ONLY_DATA}`],
  ['BUILD on a storage class', pickleOf(global('torch', 'FloatStorage'), '}b.'), `refuses BUILD on torch.FloatStorage; ${ONLY_DATA}`],
  ['BUILD on a list', pickleOf(']}b.'), `refuses BUILD on a list of 0; ${ONLY_DATA}`],
  ['NEWOBJ', pickleOf(global('collections', 'OrderedDict'), ')', 0x81, '.'), `refuses NEWOBJ of collections.OrderedDict; ${ONLY_DATA}`],
  [
    'NEWOBJ_EX',
    pickleOf(global('collections', 'OrderedDict'), ')}', 0x92, '.'),
    `refuses the pickle opcode NEWOBJ_EX (an instance of collections.OrderedDict); ${ONLY_DATA}`,
  ],
  ['REDUCE of a storage class', pickleOf(global('torch', 'FloatStorage'), ')R.'), `refuses to call torch.FloatStorage (REDUCE); ${ONLY_DATA}`],
  ['REDUCE of a string', pickleOf(str('os.system'), ')R.'), `refuses to call the str "os.system" (REDUCE); ${ONLY_DATA}`],
  ['EXT1', pickleOf(0x82, 1, '.'), `refuses the pickle opcode EXT1 (code 1 of the copyreg extension registry); ${ONLY_DATA}`],
  ['EXT2', pickleOf(0x83, 0x34, 0x12, '.'), `refuses the pickle opcode EXT2 (code 4660 of the copyreg extension registry); ${ONLY_DATA}`],
  ['EXT4', pickleOf(0x84, 1, 0, 0, 0, '.'), `refuses the pickle opcode EXT4 (code 1 of the copyreg extension registry); ${ONLY_DATA}`],
  ['NEXT_BUFFER', pickleOf(0x97, '.'), `refuses the pickle opcode NEXT_BUFFER (a buffer passed beside the pickle); ${ONLY_DATA}`],
  ['exec by STACK_GLOBAL', pickleOf(str('builtins'), str('exec'), 0x93, '.'), `refuses the pickle global builtins.exec; ${ONLY_DATA}`],
  ['a global with a newline in its name', pickleOf(str('posix'), str('sys\rtem'), 0x93, '.'), `refuses the pickle global posix.sys\\u000dtem; ${ONLY_DATA}`],
  [
    'a persistent id of kind module',
    pickleOf('(', str('module'), str('x'), 'NNtQ.'),
    `refuses a persistent id of kind module: a whole model saved with torch.save(model); save model.state_dict() instead; ${ONLY_DATA}`,
  ],
  [
    'a persistent id of another kind',
    pickleOf('(', str('shell'), str('rm -rf'), 'tQ.'),
    `refuses a persistent id of kind shell; torch.save's are ('storage', …); ${ONLY_DATA}`,
  ],
  ['a persistent id that is a string', pickleOf('P0\n.'), `refuses the persistent id the str "0"; torch.save's are ('storage', …) tuples; ${ONLY_DATA}`],
  [
    'a storage id of two fields',
    pickleOf('(', str('storage'), str('0'), 'tQ.'),
    `refuses a storage persistent id of 2 fields; the zip format of torch.save has 5; ${ONLY_DATA}`,
  ],
  [
    'a storage id with a class of no storage',
    pickleOf('(', str('storage'), global('collections', 'OrderedDict'), str('0'), str('cpu'), int(4), 'tQ.'),
    `refuses the storage type collections.OrderedDict; ${ONLY_DATA}`,
  ],
  ['an unknown opcode', pickleOf(0xff), 'archive/data.pkl holds the unknown opcode 0xff at byte 2'],
  ['a pickle cut before STOP', pickleOf(str('a')), 'archive/data.pkl is truncated: it ends at byte 8, before STOP'],
];

define('hand-made pickles: INST, OBJ, BUILD, NEWOBJ, REDUCE, EXT, out-of-band buffers and persistent ids of the wrong kind, each one line naming it', () => {
  for (const [what, body, line] of handMade) assert.is(refusal(torchZip(pickleOf(0x80, 2, body))), line, what);
  assert.is(refusal(torchZip(pickleOf(0x80, 6, '.'))), 'archive/data.pkl is pickle protocol 6; protocols 0 to 5 are read', 'protocol 6');
  // Through the CLI, a few of them: the command prints the same one line and exits 1.
  for (const [what, body, line] of [handMade[0]!, handMade[2]!, handMade[14]!]) {
    const file = `${what.replace(/\W+/g, '-')}.pth`;
    writeFileSync(join(root, file), torchZip(pickleOf(0x80, 2, body)));
    refusedByCli(file, line);
  }
});

define(
  'damaged archives: truncated zips, entries past the end of the file, a legacy file cut in its storages, big-endian files, TorchScript: one line each',
  () => {
    const zip = readFileSync(join(cases, 'model.pth'));
    const damaged: [string, Uint8Array, string | RegExp][] = [
      ['cut in half', zip.subarray(0, zip.length >> 1), 'the zip archive has no end-of-directory record: the file is truncated or not a zip archive'],
      ['cut 10 bytes short', zip.subarray(0, zip.length - 10), 'the zip archive has no end-of-directory record: the file is truncated or not a zip archive'],
      [
        'with an entry declaring more than the file',
        withEntrySizes(zip, 'model/data.pkl', 0x7fffffff),
        /^the zip archive is truncated or damaged: the data of model\/data\.pkl \(bytes 64–2147483711\) lies past the end of the \d+-byte file$/,
      ],
      [
        'with a storage entry whose size differs from its storage',
        withEntrySizes(zip, 'model/data/3', 12),
        'model/data/3 holds 12 bytes where the pickle declares 4 float32 values (16 bytes)',
      ],
    ];
    const legacy = readFileSync(join(cases, 'model-legacy.pth'));
    // torch.save's legacy format orders storages by their memory addresses, so the last one is a float32 weight in
    // one run and a BatchNorm's int64 step count in another.
    damaged.push([
      'a legacy file cut in its last storage',
      legacy.subarray(0, legacy.length - 4),
      /^storage \d+ declares \d+ (float32|int64) values \(\d+ bytes\) from byte \d+, past the end of the \d+-byte file: it is truncated$/,
    ]);
    damaged.push([
      'a legacy file cut in its pickle',
      legacy.subarray(0, 400),
      /^the pickle is truncated: (\w+ at byte \d+ needs .* past its end \(byte 400\)|it ends at byte 400, before STOP)$/,
    ]);
    // Saved on a big-endian machine: its system information's little_endian is False (NEWFALSE for NEWTRUE).
    const bigEndian = Uint8Array.from(legacy);
    const flag = Buffer.from(bigEndian).indexOf('little_endian') + 'little_endian'.length + 2;
    assert.is(bigEndian[flag], 0x88, 'True follows little_endian and its BINPUT');
    bigEndian[flag] = 0x89;
    damaged.push([
      'a legacy file from a big-endian machine',
      bigEndian,
      'was saved on a big-endian machine (its system information says so); little-endian checkpoints are read',
    ]);
    const pickle = dictPickle({ w: tensorPickle({ key: '0', numel: 1, offset: 0, shape: [], strides: [] }) });
    const bigEndianZip = zipSync({
      'archive/data.pkl': [pickle, { level: 0 }],
      'archive/byteorder': [new TextEncoder().encode('big'), { level: 0 }],
      'archive/data/0': [floats(1), { level: 0 }],
    });
    damaged.push([
      'a zip archive whose byteorder is big',
      bigEndianZip,
      'stores its tensors big-endian (its byteorder record); little-endian checkpoints are read',
    ]);
    const torchScript = zipSync({ 'archive/data.pkl': [pickle, { level: 0 }], 'archive/constants.pkl': [pickleOf(0x80, 2, ').'), { level: 0 }] });
    damaged.push([
      'a TorchScript archive',
      torchScript,
      "is a TorchScript archive (torch.jit.save), whose code netspec does not run; save the model's state_dict() with torch.save and import that",
    ]);
    for (const [what, bytes, line] of damaged) {
      if (typeof line === 'string') assert.is(refusal(bytes), line, what);
      else assert.match(refusal(bytes), line, what);
    }
    writeFileSync(join(root, 'truncated.pth'), damaged[0]![1]);
    refusedByCli('truncated.pth', damaged[0]![2] as string);
  },
);

/** Where the central directory's entry for `name` starts. */
function directoryEntry(zip: Uint8Array, name: string): number {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let at = 0; at + 46 <= zip.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue;
    if (new TextDecoder().decode(zip.subarray(at + 46, at + 46 + view.getUint16(at + 28, true))) === name) return at;
  }
  throw new Error(`no directory entry for ${name}`);
}

/** The archive with the stored entry `name`'s two sizes in the central directory set to `size`. */
function withEntrySizes(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = Uint8Array.from(zip);
  const at = directoryEntry(out, name);
  new DataView(out.buffer).setUint32(at + 20, size, true);
  new DataView(out.buffer).setUint32(at + 24, size, true);
  return out;
}

test('a zip bomb is refused from the size its directory declares, before anything of that size is allocated', () => {
  // data.pkl deflated, its directory entry then claiming 4 GB: inflating it would allocate what it claims.
  const zip = torchZip(dictPickle({ w: tensorPickle({ key: '0', numel: 2, offset: 0, shape: [2], strides: [1] }) }), { 0: floats(1, 2) }, true);
  const bomb = Uint8Array.from(zip);
  const view = new DataView(bomb.buffer);
  const entry = directoryEntry(bomb, 'archive/data.pkl');
  assert.is(view.getUint16(entry + 10, true), 8, 'data.pkl is deflated');
  view.setUint32(entry + 24, 0xfffffff0, true);
  const before = process.memoryUsage().arrayBuffers;
  assert.is(
    refusal(bomb),
    `archive/data.pkl declares 4294967280 bytes once inflated, more than the ${MAX_INFLATED_BYTES} bytes left to inflate: a zip bomb, or a checkpoint too large to read`,
  );
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20, 'no buffer of the declared size was made');
  // Unaltered, the same deflated archive reads.
  assert.equal([...readCheckpoint('x.pth', zip).tensors.get('w')!.data], [1, 2]);
  writeFileSync(join(root, 'bomb.pth'), bomb);
  refusedByCli('bomb.pth', refusal(bomb));
});

test('a storage shorter than its tensor, or than the pickle declares, and a tensor on a missing storage: one line each', () => {
  const cases: [string, Uint8Array, string][] = [
    [
      'a [4, 4] view of 8 values',
      torchZip(dictPickle({ w: tensorPickle({ key: '0', numel: 8, offset: 0, shape: [4, 4], strides: [4, 1] }) }), { 0: floats(1, 2, 3, 4, 5, 6, 7, 8) }),
      // The last element is 3·4 + 3·1 = 15, past the 8 values 0–7.
      'w: a [4, 4] tensor at offset 0 with strides [4, 1] reaches element 15 of storage 0, which holds 8 float32 values',
    ],
    [
      'a view at an offset past the end',
      torchZip(dictPickle({ w: tensorPickle({ key: '0', numel: 4, offset: 3, shape: [2], strides: [1] }) }), { 0: floats(1, 2, 3, 4) }),
      // 3 + 1·1 = 4, one past the last of elements 0–3.
      'w: a [2] tensor at offset 3 with strides [1] reaches element 4 of storage 0, which holds 4 float32 values',
    ],
    [
      'a storage entry shorter than declared',
      torchZip(dictPickle({ w: tensorPickle({ key: '0', numel: 4, offset: 0, shape: [4], strides: [1] }) }), { 0: floats(1, 2) }),
      'archive/data/0 holds 8 bytes where the pickle declares 4 float32 values (16 bytes)',
    ],
    [
      'a storage the archive lacks',
      torchZip(dictPickle({ w: tensorPickle({ key: '7', numel: 1, offset: 0, shape: [], strides: [] }) })),
      'the pickle refers to archive/data/7, which the archive lacks',
    ],
  ];
  for (const [what, bytes, line] of cases) assert.is(refusal(bytes), line, what);
  // A view that fits, with a stride of 2 from an offset: elements 1, 3 and 5 of 0–5.
  const strided = torchZip(dictPickle({ w: tensorPickle({ key: '0', numel: 6, offset: 1, shape: [3], strides: [2] }) }), { 0: floats(0, 1, 2, 3, 4, 5) });
  assert.equal([...readCheckpoint('x.pth', strided).tensors.get('w')!.data], [1, 3, 5]);
  writeFileSync(join(root, 'short.pth'), cases[0]![1]);
  refusedByCli('short.pth', cases[0]![2]);
});

test('pickles at the limits: 300,000 items added to a set, a list and a dict at once read without exhausting the stack; an integer of 4096 bytes is refused', () => {
  const count = 300_000;
  const ones = Array.from({ length: count }, () => [0x4b, 1]).flat();
  const pairs = Array.from({ length: count / 2 }, (_, i) => [...int(i), ...pickleOf('N')]).flat();
  const pickle = pickleOf(0x80, 4, '(', 0x8f, '(', ones, 0x90, ']', '(', ones, 'e', '}', '(', pairs, 'u', 't.');
  const { value } = readPickle(pickle, 0, torchPickleHost('zip'));
  const [set, list, dict] = (value as PickleTuple).items as [PickleSet, number[], PickleDict];
  assert.equal([set.items.length, list.length, dict.entries.size], [count, count, count / 2]);
  const long = pickleOf(0x80, 2, 0x8b, [0, 16, 0, 0], new Uint8Array(4096), '.');
  assert.throws(
    () => readPickle(long, 0, torchPickleHost('zip')),
    /^the pickle is malformed: LONG4 at byte 2 holds an integer of 4096 bytes; at most 2048 are read$/,
  );
});

test.run();
