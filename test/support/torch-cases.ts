// What the .pth tests share: Debian's PyTorch writing torch.save files (test/support/torch-save-cases.py), the small
// spec they are written for, the CLI, and pickles assembled byte by byte for the cases PyTorch would never write.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { zipSync } from 'fflate';
import { pythonHas } from './python.js';

export const PYTHON = '/usr/bin/python3';
export const torchAvailable = pythonHas(PYTHON, 'torch', 'torchvision');
export const skipReason = `skipped: the torch.save files are written by Debian's python3-torch and python3-torchvision at ${PYTHON} (apt-get install -y python3-torch python3-torchvision)`;

/** The spec the tests' checkpoints are for: 47 tensors, grouped bottlenecks, a projection shortcut. */
export const TINY_SPEC = {
  name: 'tiny',
  input: { height: 8, width: 8, channels: 2 },
  stem: { type: 'conv', width: 4, kernelSize: 3, stride: 1 },
  block: { type: 'bottleneck', groups: 2, widthPerGroup: 32, expansion: 2 },
  stages: { widths: [4, 8], depths: [1, 1], strides: [1, 2] },
  head: { type: 'classifier', classes: 3 },
};

export function cli(args: readonly string[], cwd: string) {
  return spawnSync(process.execPath, [resolve('dist', 'cli.js'), ...args], { cwd, encoding: 'utf8' });
}

/**
 * Writes `tiny.json` into `folder`, compiles its PyTorch module with netspec, and has PyTorch write the given
 * sections of torch-save-cases.py into `folder/cases`.
 */
export function writeTorchCases(folder: string, sections: readonly string[]): string {
  writeFileSync(join(folder, 'tiny.json'), JSON.stringify(TINY_SPEC));
  const compiled = cli(['compile', 'tiny.json', '--target', 'pytorch', '--out', 'generated'], folder);
  if (compiled.status !== 0) throw new Error(`compile --target pytorch failed:\n${compiled.stderr}`);
  const cases = join(folder, 'cases');
  mkdirSync(cases);
  const run = spawnSync(PYTHON, ['test/support/torch-save-cases.py', cases, join(folder, 'generated', 'tiny.py'), ...sections], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`torch-save-cases.py failed:\n${run.stderr}`);
  return cases;
}

/** Pickle bytes from opcodes (one-character strings or codes) and their arguments (byte arrays). */
export function pickleOf(...parts: (string | number | readonly number[] | Uint8Array)[]): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string') for (const c of part) bytes.push(c.charCodeAt(0));
    else if (typeof part === 'number') bytes.push(part);
    else for (const byte of part) bytes.push(byte);
  }
  return Uint8Array.from(bytes);
}

const u32 = (value: number) => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];

/** BINUNICODE. */
export const str = (text: string) => pickleOf('X', u32(new TextEncoder().encode(text).length), new TextEncoder().encode(text));
/** BININT. */
export const int = (value: number) => pickleOf('J', u32(value >>> 0));
/** GLOBAL. */
export const global = (module: string, name: string) => pickleOf('c', `${module}\n${name}\n`);
/** A tuple of ints. */
export const ints = (values: readonly number[]) => pickleOf('(', ...values.map(int), 't');

/** `_rebuild_tensor_v2` of a float32 storage, with the storage's size, the view's offset, shape and strides as given. */
export function tensorPickle(view: { key: string; numel: number; offset: number; shape: readonly number[]; strides: readonly number[] }): Uint8Array {
  return pickleOf(
    global('torch._utils', '_rebuild_tensor_v2'),
    '(',
    ...[pickleOf('('), str('storage'), global('torch', 'FloatStorage'), str(view.key), str('cpu'), int(view.numel), pickleOf('t', 'Q')],
    int(view.offset),
    ints(view.shape),
    ints(view.strides),
    0x89,
    global('collections', 'OrderedDict'),
    ')R',
    'tR',
  );
}

/** A pickle of protocol 2 of a dict of the given pickled values. */
export function dictPickle(entries: Record<string, Uint8Array>): Uint8Array {
  return pickleOf(0x80, 2, '}(', ...Object.entries(entries).flatMap(([name, value]) => [str(name), value]), 'u.');
}

/** A torch.save zip archive of a pickle and storages, stored uncompressed, unless `deflate` says otherwise. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}, deflate = false): Uint8Array {
  const level = deflate ? 6 : 0;
  return zipSync({
    'archive/data.pkl': [pickle, { level }],
    ...Object.fromEntries(Object.entries(storages).map(([key, data]) => [`archive/data/${key}`, [data, { level }]])),
    'archive/version': [new TextEncoder().encode('3\n'), { level: 0 }],
  });
}

export const floats = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
