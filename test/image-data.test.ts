// The CIFAR binary format and image folders: files written here read back exactly, the bad layouts and files are
// refused or skipped with one line each, the resampling agrees with PIL's, and a folder of drawn shapes trains.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCifar, readCifarFiles } from '../src/data/cifar.js';
import { listEvalFolder, listImageFolder } from '../src/data/image-folder.js';
import { evaluationReport, formatReport } from '../src/metrics/classification.js';
import { fitImage } from '../src/runtime/images/pipeline.js';
import { convertChannels } from '../src/runtime/images/pixels.js';
import { resample } from '../src/runtime/images/resample.js';
import { randomResizedCropBox } from '../src/train/batches.js';
import { mulberry32 } from '../src/random/mulberry32.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { loadImageFolder } from '../src/train/image-folder-data.js';
import { train } from '../src/train/train.js';
import { writeShapeFolder } from './support/shape-folder.js';
import { tinyGraph } from './support/tiny-fashion.js';

let root: string;
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'netspec-image-data-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Record r of a CIFAR file: its label bytes, then plane c's pixel p as (r × 7 + c × 50 + p) mod 256. */
function cifarRecords(count: number, labelBytes: number, labelOf: (r: number) => number[]): Uint8Array {
  const size = labelBytes + 3072;
  const bytes = new Uint8Array(count * size);
  for (let r = 0; r < count; r++) {
    bytes.set(labelOf(r), r * size);
    for (let i = 0; i < 3072; i++) bytes[r * size + labelBytes + i] = (r * 7 + Math.floor(i / 1024) * 50 + (i % 1024)) & 255;
  }
  return bytes;
}

/** The pixel (x, y), channel c, of record r as cifarRecords writes it, channels last. */
const expectedPixel = (r: number, y: number, x: number, c: number) => (r * 7 + c * 50 + y * 32 + x) & 255;

test('CIFAR-10 files of the published size read back exactly: labels, and planes turned channels-last', () => {
  const dir = join(root, 'cifar10');
  mkdirSync(dir);
  // Each file holds the published 10,000 records; file f's record r has the label (f + r) mod 10.
  const names = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];
  names.forEach((name, f) =>
    writeFileSync(
      join(dir, `${name}.bin`),
      cifarRecords(10_000, 1, (r) => [(f + r) % 10]),
    ),
  );
  const { train: set, test: held, classNames } = loadCifar('cifar10', dir);
  assert.is(set.count, 50_000);
  assert.is(held.count, 10_000);
  assert.equal([set.height, set.width, set.channels, set.classes], [32, 32, 3, 10]);
  assert.equal(classNames, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  for (const [i, r, f] of [
    [0, 0, 0],
    [10_001, 1, 1],
    [49_999, 9_999, 4],
  ] as const) {
    assert.is(set.labels[i], (f + r) % 10, `label of image ${i}`);
    for (const [y, x, c] of [
      [0, 0, 0],
      [0, 1, 1],
      [5, 17, 2],
      [31, 31, 2],
    ] as const) {
      assert.is(set.images[i * 3072 + (y * 32 + x) * 3 + c], expectedPixel(r, y, x, c), `image ${i} pixel (${x}, ${y}) channel ${c}`);
    }
  }
  let mismatches = 0;
  for (let r = 0; r < 10_000; r++)
    for (let p = 0; p < 1024; p++)
      for (let c = 0; c < 3; c++) if (held.images[r * 3072 + p * 3 + c] !== expectedPixel(r, Math.floor(p / 32), p % 32, c)) mismatches++;
  assert.is(mismatches, 0, 'every test pixel');
  assert.ok(held.labels.every((label, r) => label === (5 + r) % 10));

  writeFileSync(
    join(dir, 'data_batch_3.bin'),
    cifarRecords(9_999, 1, () => [0]),
  );
  assert.throws(
    () => loadCifar('cifar10', dir),
    (e: Error) =>
      e.message === `${join(dir, 'data_batch_3.bin')}: the file is 30726927 bytes (9999 records of 3073 bytes); it should be 30730000 bytes, 10000 records`,
  );
  writeFileSync(join(dir, 'data_batch_3.bin'), new Uint8Array(30_730_001));
  assert.throws(
    () => loadCifar('cifar10', dir),
    /data_batch_3\.bin: the file is 30730001 bytes \(10000 records of 3073 bytes and 1 byte over\); it should be 30730000 bytes, 10000 records$/,
  );
});

test('CIFAR-100 records: the fine label by default, the coarse one as cifar100-coarse; labels out of range and missing files refused', () => {
  const path = join(root, 'c100.bin');
  writeFileSync(
    path,
    cifarRecords(3, 2, (r) => [r + 10, 90 + r]),
  );
  const fine = readCifarFiles('cifar100', [path], 3);
  assert.equal([...fine.labels], [90, 91, 92]);
  assert.is(fine.classes, 100);
  assert.is(fine.images[2 * 3072 + (3 * 32 + 4) * 3 + 1], expectedPixel(2, 3, 4, 1));
  assert.equal([...readCifarFiles('cifar100-coarse', [path], 3).labels], [10, 11, 12]);
  writeFileSync(
    path,
    cifarRecords(3, 2, (r) => [r + 18, 0]),
  );
  assert.throws(() => readCifarFiles('cifar100-coarse', [path], 3), /c100\.bin: record 2 has the label 20; cifar100-coarse labels are 0 to 19/);
  assert.throws(() => loadCifar('cifar100', join(root, 'nowhere')), /nowhere: the cifar100 folder does not exist/);
  mkdirSync(join(root, 'c100'));
  assert.throws(() => loadCifar('cifar100', join(root, 'c100')), /c100\/train\.bin: the file does not exist/);
});

test('a CIFAR names file that is a FIFO, a device or a folder, and a record file that is a device, are refused without blocking', () => {
  const dir = join(root, 'cifar-odd');
  mkdirSync(dir);
  // Files of the published size without writing them: sparse, all zeros (label 0, black pixels).
  for (const name of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) {
    writeFileSync(join(dir, `${name}.bin`), '');
    truncateSync(join(dir, `${name}.bin`), 30_730_000);
  }
  const names = join(dir, 'batches.meta.txt');
  // In a process of its own, so that a read that blocks fails the test instead of hanging it.
  const load = () =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { loadCifar } from ${JSON.stringify(join(process.cwd(), 'src/data/cifar.ts'))};
try { loadCifar('cifar10', ${JSON.stringify(dir)}); console.log('loaded'); } catch (error) { console.log(error.message); }`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
  const cases: [() => void, string][] = [
    [() => spawnSync('mkfifo', [names]), `${names}: cannot be read: it is not a regular file (a device, pipe or socket)`],
    [() => symlinkSync('/dev/zero', names), `${names}: cannot be read: it is not a regular file (a device, pipe or socket)`],
    [() => mkdirSync(names), `${names}: cannot be read: it is a folder`],
  ];
  for (const [make, message] of cases) {
    rmSync(names, { recursive: true, force: true });
    make();
    const run = load();
    assert.is(run.signal, null, `${message}: did not hang`);
    assert.is(run.stdout, `${message}\n`);
  }
  rmSync(names, { recursive: true });
  rmSync(join(dir, 'test_batch.bin'));
  symlinkSync('/dev/zero', join(dir, 'test_batch.bin'));
  const device = load();
  assert.is(device.stdout, `${join(dir, 'test_batch.bin')}: it is not a regular file (a device, pipe or socket)\n`);
});

test("resampling gives PIL's antialiased bilinear resize byte for byte (python3 with PIL)", () => {
  const width = 37;
  const height = 23;
  const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + (i >> 5) * 11) & 255);
  const image = { width, height, channels: 3 as const, data: rgb };
  const ours = [resample(image, { left: 0, top: 0, width, height }, 11, 7), resample(image, { left: 0, top: 0, width, height }, 60, 40)];
  const script = `
import sys, json
from PIL import Image
img = Image.frombytes('RGB', (${width}, ${height}), bytes(json.loads(sys.stdin.read())))
print(json.dumps([list(img.resize(size, Image.BILINEAR).tobytes()) for size in [(11, 7), (60, 40)]]))`;
  const run = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify([...rgb]), encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const pil = JSON.parse(run.stdout) as number[][];
  ours.forEach((resized, k) => {
    const worst = pil[k]!.reduce((max, value, i) => Math.max(max, Math.abs(value - resized.data[i]!)), 0);
    assert.is(worst, 0, `size ${k}: largest difference ${worst}`);
  });
});

test("fitImage crops as training caches images: the shorter side to the input size, the longer truncated, a centred crop; grey as PIL's luma", () => {
  // 8×4 → shorter side 4 → 2: 4×2, then the centre 2×2 (columns 1 and 2 of the halved image).
  const data = Uint8Array.from({ length: 8 * 4 }, (_, i) => (i % 8) * 10);
  const out = fitImage({ width: 8, height: 4, channels: 1, data }, { height: 2, width: 2, channels: 1, fit: 'crop', cropFraction: 1 }).pixels;
  // Halving widens the triangle filter to a support of 2: output column 1 of 4 centres on source position 3, taps on
  // columns 1 to 4 (values 10, 20, 30, 40) weigh 1/8, 3/8, 3/8, 1/8: (10 + 60 + 90 + 40) / 8 = 25; column 2 on 30 to 60:
  // (30 + 120 + 150 + 60) / 8 = 45. Rows are all alike, so halving them changes nothing.
  assert.equal([...out.data], [25, 45, 25, 45]);
  const grey = convertChannels({ width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) }, 1);
  assert.equal([...grey.data], [76]); // 255 × 19595 / 65536 = 76.24
});

test('randomResizedCropBox: boxes inside the image, of 25–100% of its area and aspect 3/4 to 4/3 (within rounding), the same for the same draws', () => {
  const random = mulberry32(9);
  for (let i = 0; i < 500; i++) {
    const box = randomResizedCropBox(32, 24, random);
    assert.ok(box.left >= 0 && box.top >= 0 && box.left + box.width <= 32 && box.top + box.height <= 24, JSON.stringify(box));
    const area = (box.width * box.height) / (32 * 24);
    assert.ok(area > 0.2 && area <= 1, `area ${area}`);
    const aspect = box.width / box.height;
    assert.ok(aspect > 0.7 && aspect < 1.45, `aspect ${aspect}`);
  }
  assert.equal(randomResizedCropBox(32, 24, mulberry32(4)), randomResizedCropBox(32, 24, mulberry32(4)));
  // A sliver whose every try fails falls back to the centred box of the nearest allowed aspect: 40×1 → round(1 · 4/3) = 1 wide, at (40 − 1) // 2 = 19.
  assert.equal(
    randomResizedCropBox(40, 1, () => 0.99),
    { left: 19, top: 0, width: 1, height: 1 },
  );
});

test('image folders: every bad layout is one line naming the folder', () => {
  const fail = (setup: (dir: string) => void, message: RegExp) => {
    const dir = mkdtempSync(join(root, 'layout-'));
    setup(dir);
    assert.throws(() => listImageFolder(dir, { valSplit: 0.1, seed: 0 }), message);
  };
  fail(() => {}, /holds no class folders/);
  fail((dir) => {
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'a.png'), 'listing does not decode');
  }, /holds one class folder \("x"\); a classifier needs at least two classes/);
  fail((dir) => {
    writeShapeFolder(dir, 2);
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'alsoempty'));
    writeFileSync(join(dir, 'alsoempty', 'notes.txt'), 'x');
  }, /class folders without any \.jpg, \.jpeg, \.png file: "alsoempty", "empty"/);
  fail((dir) => {
    writeShapeFolder(dir, 2, 1, 'train');
    writeShapeFolder(dir, 1, 2, 'val');
    mkdirSync(join(dir, 'val', 'star'));
  }, /val: has classes that .*train lacks: "star"/);
  assert.throws(() => listImageFolder(join(root, 'missing'), { valSplit: 0.1, seed: 0 }), /missing: not a folder of class folders/);
});

test('image folders follow linked class folders and linked folders inside them, once each by real path, as torchvision does; a loop is refused', () => {
  const dir = mkdtempSync(join(root, 'linked-'));
  const elsewhere = mkdtempSync(join(root, 'elsewhere-'));
  const touch = (path: string) => (mkdirSync(join(path, '..'), { recursive: true }), writeFileSync(path, 'listing does not decode'));
  touch(join(dir, 'data', 'cat', '1.png'));
  touch(join(elsewhere, 'dogs', '1.png'));
  touch(join(elsewhere, 'dogs', '2.png'));
  touch(join(elsewhere, 'more-birds', '2.png'));
  touch(join(dir, 'data', 'bird', '1.png'));
  // A class folder that is a link, and a link inside a class folder; a second link to the same place is walked once.
  symlinkSync(join(elsewhere, 'dogs'), join(dir, 'data', 'dog'));
  symlinkSync(join(elsewhere, 'more-birds'), join(dir, 'data', 'bird', 'more'));
  symlinkSync(join(elsewhere, 'more-birds'), join(dir, 'data', 'bird', 'again'));
  const listed = listEvalFolder(join(dir, 'data'));
  assert.equal(listed.classNames, ['bird', 'cat', 'dog']);
  const relative = listed.files.map((file) => [file.path.slice(dir.length + 6), file.label]);
  // bird/again is walked first (sorted names) and bird/more, the same folder, is not walked again.
  assert.equal(relative, [
    ['bird/1.png', 0],
    ['bird/again/2.png', 0],
    ['cat/1.png', 1],
    ['dog/1.png', 2],
    ['dog/2.png', 2],
  ]);
  // A link back up the tree would be walked forever: refused, naming it.
  symlinkSync('..', join(dir, 'data', 'cat', 'up'));
  assert.throws(
    () => listEvalFolder(join(dir, 'data')),
    (error: Error) => /data\/cat\/up: is a symbolic link back to .*data, a folder it is inside: a loop$/.test(error.message),
  );
  rmSync(join(dir, 'data', 'cat', 'up'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'data', 'ghost'));
  assert.throws(
    () => listEvalFolder(join(dir, 'data')),
    (error: Error) => /data\/ghost: is a symbolic link to nothing$/.test(error.message),
  );
});

test("class names with line breaks or U+202E reach the terminal escaped, in messages and in eval's report", () => {
  const dir = mkdtempSync(join(root, 'names-'));
  mkdirSync(join(dir, 'only\nnetspec: all good'));
  writeFileSync(join(dir, 'only\nnetspec: all good', 'a.png'), 'x');
  assert.throws(
    () => listImageFolder(dir, { valSplit: 0.1, seed: 0 }),
    (error: Error) =>
      error.message.endsWith('holds one class folder ("only\\nnetspec: all good"); a classifier needs at least two classes') && !error.message.includes('\n'),
  );
  const report = formatReport(evaluationReport([0, 1], [0, 1], ['cat\u202egod', 'two\nlines']));
  assert.not.match(report, /[\u202e]|two\nlines/);
  assert.match(report, /cat\\u202egod/);
  assert.match(report, /two\\u000alines/);
});

test('image folders: a seeded split per class, the same for the same seed; train/ and val/ used as they are', () => {
  const dir = join(root, 'split');
  writeShapeFolder(dir, 10);
  writeFileSync(join(dir, 'disc', 'README.txt'), 'not an image');
  const a = listImageFolder(dir, { valSplit: 0.2, seed: 3 });
  assert.equal(a.classNames, ['disc', 'hbar', 'vbar']);
  assert.is(a.val.length, 6); // round(10 × 0.2) = 2 of each of 3 classes
  assert.is(a.train.length, 24);
  assert.equal(a.ignored, [join(dir, 'disc', 'README.txt')]);
  assert.equal(listImageFolder(dir, { valSplit: 0.2, seed: 3 }).val, a.val);
  assert.not.equal(listImageFolder(dir, { valSplit: 0.2, seed: 4 }).val, a.val);
  const both = join(root, 'both');
  writeShapeFolder(both, 3, 1, 'train');
  writeShapeFolder(both, 2, 2, 'test');
  const listed = listImageFolder(both, { valSplit: 0.5, seed: 0 });
  assert.is(listed.train.length, 9);
  assert.is(listed.val.length, 6);
  assert.is(listed.valSource, join(both, 'test'));
});

test('image folders: corrupt, truncated and oversized images are listed and skipped with a count, or refused under strict', async () => {
  const dir = join(root, 'faults');
  writeShapeFolder(dir, 4);
  writeFileSync(join(dir, 'disc', 'truncated.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
  writeFileSync(join(dir, 'hbar', 'garbage.jpg'), 'this is not a JPEG');
  const lines: string[] = [];
  const input = [8, 8, 3] as const;
  const data = await loadImageFolder(dir, { input, valSplit: 0.25, maxPixels: 3000, log: (line) => lines.push(line) });
  // 4 drawn images per class of which the 64×64 one (4096 pixels) is past 3000, and two broken files.
  assert.is(data.train.count + data.test.count, 9);
  const skipped = lines.find((line) => line.startsWith('netspec: skipped 5 images that cannot be used: '));
  assert.ok(skipped, lines.join('\n'));
  assert.match(skipped!, /disc\/truncated\.png: cannot be decoded/);
  assert.match(skipped!, /hbar\/garbage\.jpg: cannot be decoded: the image is neither JPEG nor PNG/);
  assert.match(skipped!, /disc-003\.png: the image is 64×64 = 4096 pixels, more than the limit of 3000 \(--max-pixels raises it\)/);
  try {
    await loadImageFolder(dir, { input, strict: true, log: () => {} });
    assert.unreachable('strict should refuse');
  } catch (error) {
    assert.match((error as Error).message, /(truncated\.png|garbage\.jpg): cannot be decoded: .* \(--strict refuses any image that cannot be used\)$/);
  }
});

test('a folder of drawn shapes (JPEG and PNG; RGB, RGBA and grey; four sizes) trains to at least 95% validation accuracy', async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  const dir = join(root, 'shapes');
  writeShapeFolder(dir, 60, 7);
  const graph = tinyGraph({ name: 'tiny_shapes', input: { height: 16, width: 16, channels: 3 }, head: { type: 'classifier', classes: 3 } });
  const data = await loadImageFolder(dir, { input: [16, 16, 3], valSplit: 0.2, log: () => {} });
  assert.is(data.test.count, 36);
  const config = { ...DEFAULT_CONFIG, epochs: 4, batchSize: 16, learningRate: 0.05, replicas: 1 };
  const result = await train({ graph, data, config, out: join(root, 'shapes-run'), log: () => {}, progress: { step: () => {}, end: () => {} } });
  assert.ok(result.testAccuracy >= 0.95, `validation accuracy ${result.testAccuracy}`);
});

test.run();
