// The IDX reader against hand-built files (every header and size fault, gzip handling), the Fashion-MNIST loader
// on small hand-made folders, and, when Debian's dataset-fashion-mnist is installed, the real dataset.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultFashionMnistDir, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { DataFileError } from '../src/data/data-file-error.js';
import { readIdx, readIdxFile } from '../src/data/idx.js';

/** An IDX file built by hand: zero magic, type byte, dimension count, big-endian dimensions, then the data. */
function idx(dimensions: number[], data: ArrayLike<number>, type = 0x08): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dimensions.length + data.length);
  const view = new DataView(bytes.buffer);
  bytes[2] = type;
  bytes[3] = dimensions.length;
  dimensions.forEach((size, i) => view.setUint32(4 + 4 * i, size, false));
  bytes.set(data, 4 + 4 * dimensions.length);
  return bytes;
}

const counting = (length: number) => Array.from({ length }, (_, i) => i % 256);

/** The message of the DataFileError that `read` throws; fails the test on any other outcome. */
function refusal(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    if (error instanceof DataFileError) return error.message;
    throw error;
  }
  throw new Error('expected a DataFileError, but reading succeeded');
}

const folder = mkdtempSync(join(tmpdir(), 'netspec-data-'));
test.after(() => rmSync(folder, { recursive: true, force: true }));

test('a 2×3×2 unsigned-byte file returns its shape and a view on its 12 data bytes', () => {
  const bytes = idx([2, 3, 2], counting(12));
  const read = readIdx(bytes, 'a.idx');
  assert.equal(read.shape, [2, 3, 2]);
  assert.equal([...read.data], counting(12));
  // A view, not a copy: same buffer, starting after the 4 + 3·4 = 16 header bytes.
  assert.is(read.data.buffer, bytes.buffer);
  assert.is(read.data.byteOffset, 16);
});

const faults: [title: string, bytes: Uint8Array, message: string][] = [
  ['shorter than the 4-byte header', new Uint8Array([0, 0, 8]), 'f: the file is 3 bytes long, shorter than the 4-byte IDX header'],
  ['wrong magic bytes', new Uint8Array([0xab, 0xcd, 8, 1, 0, 0, 0, 0]), 'f: not an IDX file: magic bytes 0xAB 0xCD where an IDX file starts with 0x00 0x00'],
  [
    'gzip magic given to readIdx',
    gzipSync(idx([1], [7])),
    'f: not an IDX file: magic bytes 0x1F 0x8B where an IDX file starts with 0x00 0x00 (it is gzipped; read it with readIdxFile)',
  ],
  ['0 dimensions', idx([], []), 'f: declares 0 dimensions; only 1 to 4 are supported'],
  ['5 dimensions', idx([1, 1, 1, 1, 1], [0]), 'f: declares 5 dimensions; only 1 to 4 are supported'],
  // 3 dimensions need 4 + 3·4 = 16 header bytes; the file stops 2 bytes into the second dimension: 4 + 4 + 2 = 10.
  [
    'a header cut inside the dimensions',
    idx([2, 3, 2], []).subarray(0, 10),
    'f: the header declares 3 dimensions and needs 16 bytes, but the file is 10 bytes long',
  ],
  // 2·3·2 = 12 bytes of data are needed.
  ['data truncated by one byte', idx([2, 3, 2], counting(11)), 'f: the data is truncated: shape [2, 3, 2] needs 12 bytes but 11 follow the 16-byte header'],
  ['one trailing byte', idx([2, 3, 2], counting(13)), 'f: the data has 1 trailing byte: shape [2, 3, 2] needs 12 bytes but 13 follow the 16-byte header'],
  ['int32 data', idx([1], [0, 0, 0, 1], 0x0c), 'f: holds int32 data (type 0x0C); only unsigned bytes (0x08) are supported'],
  ['float64 data', idx([1], counting(8), 0x0e), 'f: holds float64 data (type 0x0E); only unsigned bytes (0x08) are supported'],
  ['an unknown type', idx([1], [0], 0x07), 'f: has an unknown data type (type 0x07); only unsigned bytes (0x08) are supported'],
  // 2^32 − 1 = 4294967295, exact in a double; the reader must compare, not allocate.
  [
    'a dimension of 2^32 − 1',
    idx([2 ** 32 - 1], counting(3)),
    'f: the data is truncated: shape [4294967295] needs 4294967295 bytes but 3 follow the 8-byte header',
  ],
  // 65536 · 65536 = 2^32, which 32-bit arithmetic wraps to 0 — and 0 data bytes would then wrongly match.
  [
    'dimensions whose product wraps to 0 in 32 bits',
    idx([65536, 65536], []),
    'f: the data is truncated: shape [65536, 65536] needs 4294967296 bytes but 0 follow the 12-byte header',
  ],
  // (2^32 − 1)^4 ≈ 3.40e38 is beyond 2^53, so the figure is given approximately.
  [
    'four dimensions of 2^32 − 1',
    idx([2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1], []),
    'f: the data is truncated: shape [4294967295, 4294967295, 4294967295, 4294967295] needs about 3.40e+38 bytes but 0 follow the 20-byte header',
  ],
];

for (const [title, bytes, message] of faults) {
  test(`refused: ${title}`, () => {
    assert.is(
      refusal(() => readIdx(bytes, 'f')),
      message,
    );
  });
}

test('DataFileError names the file and has its own name', () => {
  const error = new DataFileError('x.idx', 'a problem');
  assert.instance(error, Error);
  assert.is(error.name, 'DataFileError');
  assert.is(error.file, 'x.idx');
  assert.is(error.message, 'x.idx: a problem');
});

test('readIdxFile gunzips .gz files, and gzip content under any name', () => {
  const bytes = idx([2, 3, 2], counting(12));
  writeFileSync(join(folder, 'small-idx3-ubyte.gz'), gzipSync(bytes));
  writeFileSync(join(folder, 'compressed-without-suffix'), gzipSync(bytes));
  writeFileSync(join(folder, 'plain-idx3-ubyte'), bytes);
  for (const name of ['small-idx3-ubyte.gz', 'compressed-without-suffix', 'plain-idx3-ubyte']) {
    const read = readIdxFile(join(folder, name));
    assert.equal(read.shape, [2, 3, 2], name);
    assert.equal([...read.data], counting(12), name);
  }
});

test('readIdxFile refuses a corrupt .gz saying why, and a missing file by name', () => {
  const whole = gzipSync(idx([2, 3, 2], counting(12)));
  const cut = join(folder, 'cut.gz');
  writeFileSync(cut, whole.subarray(0, whole.length - 4));
  assert.is(
    refusal(() => readIdxFile(cut)),
    `${cut}: not a valid gzip file: unexpected end of file`,
  );
  const notGzip = join(folder, 'not-gzip.gz');
  writeFileSync(notGzip, idx([1], [1]));
  assert.is(
    refusal(() => readIdxFile(notGzip)),
    `${notGzip}: not a valid gzip file: incorrect header check`,
  );
  const missing = join(folder, 'nothing-here');
  assert.is(
    refusal(() => readIdxFile(missing)),
    `${missing}: the file does not exist`,
  );
});

/**
 * A gzip file whose IDX header declares `dimensions` but whose data inflates to `mebibytes` MiB of zeros: a bomb of
 * about 1 KiB per MiB, built from one compressed MiB repeated (non-final deflate blocks ending on a byte boundary),
 * so the test never holds what it declares.
 */
function gzipBomb(dimensions: number[], mebibytes: number): Uint8Array {
  const flush = { finishFlush: constants.Z_SYNC_FLUSH };
  const header = deflateRawSync(idx(dimensions, []), flush);
  const mebibyte = deflateRawSync(new Uint8Array(2 ** 20), flush);
  const end = deflateRawSync(new Uint8Array(0));
  const parts = [new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), header, ...Array.from({ length: mebibytes }, () => mebibyte), end, new Uint8Array(8)];
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((at, part) => (bytes.set(part, at), at + part.length), 0);
  return bytes;
}

test('a gzip bomb is inflated no further than the size its IDX header declares', () => {
  const path = join(folder, 'bomb-idx3-ubyte.gz');
  writeFileSync(path, gzipBomb([10, 28, 28], 512));
  const before = process.memoryUsage().rss;
  const started = performance.now();
  // 10 × 28 × 28 = 7,840 bytes declared after the 16-byte header.
  assert.is(
    refusal(() => readIdxFile(path)),
    `${path}: the data inflates past the 7840 bytes its header declares ([10, 28, 28])`,
  );
  assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, `memory stayed bounded (${((process.memoryUsage().rss - before) / 2 ** 20).toFixed(0)} MiB)`);
  assert.ok(performance.now() - started < 2000, 'stopped early');
});

test('an IDX header declaring more than the size limit is refused before the rest is inflated or read', () => {
  const gz = join(folder, 'huge-idx3-ubyte.gz');
  writeFileSync(gz, gzipBomb([60000, 28000, 28], 1));
  assert.is(
    refusal(() => readIdxFile(gz)),
    `${gz}: the header declares shape [60000, 28000, 28], 47040000000 bytes, more than the 1073741824-byte limit for IDX data`,
  );
  const plain = join(folder, 'huge-idx3-ubyte');
  writeFileSync(plain, idx([60000, 28000, 28], []));
  assert.is(
    refusal(() => readIdxFile(plain)),
    `${plain}: the data is truncated: shape [60000, 28000, 28] needs 47040000000 bytes but 0 follow the 16-byte header`,
  );
});

test('a FIFO, a device or a folder as an IDX file is refused without blocking, naming it', () => {
  const dir = join(folder, 'odd');
  mkdirSync(dir);
  spawnSync('mkfifo', [join(dir, 'train-images-idx3-ubyte')]);
  symlinkSync('/dev/zero', join(dir, 't10k-images-idx3-ubyte'));
  mkdirSync(join(dir, 'train-labels-idx1-ubyte'));
  // In a process of its own, so that a read that blocks fails the test instead of hanging it.
  const script = `import { readIdxFile } from ${JSON.stringify(join(process.cwd(), 'src/data/idx.ts'))};
for (const name of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte', 'train-labels-idx1-ubyte']) {
  try { readIdxFile(${JSON.stringify(dir)} + '/' + name); } catch (error) { console.log(error.message); }
}`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.is(run.signal, null, 'did not hang');
  assert.is(
    run.stdout,
    `${dir}/train-images-idx3-ubyte: the file cannot be read: it is not a regular file (a device, pipe or socket)\n` +
      `${dir}/t10k-images-idx3-ubyte: the file cannot be read: it is not a regular file (a device, pipe or socket)\n` +
      `${dir}/train-labels-idx1-ubyte: the file cannot be read: it is a folder\n`,
  );
});

/** A Fashion-MNIST folder of `trainCount` and `testCount` 28×28 images; images gzipped, labels not, to cover both. */
function fashionFolder(name: string, trainCount: number, testCount: number, labels = (i: number) => i % 10): string {
  const dir = join(folder, name);
  mkdirSync(dir);
  const pixels = (count: number, seed: number) => Array.from({ length: count * 28 * 28 }, (_, i) => (i * 7 + seed) % 256);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([trainCount, 28, 28], pixels(trainCount, 1))));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([testCount, 28, 28], pixels(testCount, 2))));
  writeFileSync(
    join(dir, 'train-labels-idx1-ubyte'),
    idx(
      [trainCount],
      Array.from({ length: trainCount }, (_, i) => labels(i)),
    ),
  );
  writeFileSync(
    join(dir, 't10k-labels-idx1-ubyte'),
    idx(
      [testCount],
      Array.from({ length: testCount }, (_, i) => labels(i + 1)),
    ),
  );
  return dir;
}

test('loadFashionMnist reads a small folder of mixed gzipped and plain files', () => {
  const { train, test: testSet } = loadFashionMnist(fashionFolder('small', 5, 3));
  assert.equal(
    { ...train, images: train.images.length, labels: [...train.labels] },
    { images: 5 * 784, labels: [0, 1, 2, 3, 4], count: 5, height: 28, width: 28, channels: 1, classes: 10 },
  );
  assert.equal(
    { ...testSet, images: testSet.images.length, labels: [...testSet.labels] },
    { images: 3 * 784, labels: [1, 2, 3], count: 3, height: 28, width: 28, channels: 1, classes: 10 },
  );
  // Pixel i of the train file is (7i + 1) mod 256: image 2, row 5, column 9 is i = 2·784 + 5·28 + 9 = 1717 → 12020 mod 256 = 244.
  assert.is(train.images[2 * 784 + 5 * 28 + 9], 244);
});

test('NETSPEC_FASHION_MNIST overrides the folder, read at call time', () => {
  const dir = fashionFolder('from-environment', 2, 1);
  const saved = process.env.NETSPEC_FASHION_MNIST;
  try {
    process.env.NETSPEC_FASHION_MNIST = dir;
    assert.is(defaultFashionMnistDir(), dir);
    assert.is(loadFashionMnist().train.count, 2);
    delete process.env.NETSPEC_FASHION_MNIST;
    assert.is(defaultFashionMnistDir(), FASHION_MNIST_DIR);
  } finally {
    if (saved === undefined) delete process.env.NETSPEC_FASHION_MNIST;
    else process.env.NETSPEC_FASHION_MNIST = saved;
  }
});

test('a missing labels file is named, with the package that provides it', () => {
  const dir = fashionFolder('no-test-labels', 5, 3);
  rmSync(join(dir, 't10k-labels-idx1-ubyte'));
  const message = refusal(() => loadFashionMnist(dir));
  assert.ok(message.startsWith(`${join(dir, 't10k-labels-idx1-ubyte')}: missing, neither gzipped (.gz) nor uncompressed;`), message);
  assert.ok(message.includes('apt-get install dataset-fashion-mnist'), message);
  assert.ok(message.includes('NETSPEC_FASHION_MNIST'), message);
});

test('a missing folder says how to get the dataset', () => {
  const dir = join(folder, 'absent');
  const message = refusal(() => loadFashionMnist(dir));
  assert.ok(message.startsWith(`${dir}: the Fashion-MNIST folder does not exist;`), message);
  assert.ok(message.includes('apt-get install dataset-fashion-mnist'), message);
});

test('image and label counts that disagree are refused, naming both files', () => {
  const dir = fashionFolder('mismatch', 5, 3);
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([4], [0, 1, 2, 3]));
  assert.is(
    refusal(() => loadFashionMnist(dir)),
    `${join(dir, 'train-labels-idx1-ubyte')}: holds 4 labels but ${join(dir, 'train-images-idx3-ubyte.gz')} holds 5 images`,
  );
});

test('a label of 10 is refused with its index', () => {
  const dir = fashionFolder('label-ten', 5, 3, (i) => (i === 3 ? 10 : 0));
  assert.is(
    refusal(() => loadFashionMnist(dir)),
    `${join(dir, 'train-labels-idx1-ubyte')}: the label at index 3 is 10; Fashion-MNIST labels are 0 to 9`,
  );
});

test('images that are not 28×28 are refused', () => {
  const dir = fashionFolder('wrong-size', 5, 3);
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([3, 32, 32], new Uint8Array(3 * 32 * 32))));
  assert.is(
    refusal(() => loadFashionMnist(dir)),
    `${join(dir, 't10k-images-idx3-ubyte.gz')}: holds an array of shape [3, 32, 32]; Fashion-MNIST images are [N, 28, 28]`,
  );
});

test('the class names follow the published label order', () => {
  assert.equal([...FASHION_MNIST_CLASSES], ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
});

// The real dataset is checked wherever it is installed; a folder that exists but fails to load fails the tests.
const realDir = defaultFashionMnistDir();
const realInstalled = existsSync(realDir);
const defineReal = realInstalled ? test : test.skip;
let real: ReturnType<typeof loadFashionMnist>;
test.before(() => {
  if (realInstalled) real = loadFashionMnist(realDir);
  else console.log(`\n  data.test.ts skipped the real dataset: ${realDir} does not exist (apt-get install dataset-fashion-mnist)\n`);
});

defineReal('the real Fashion-MNIST: 60,000 train and 10,000 test images of 28×28', () => {
  assert.equal([real.train.count, real.train.height, real.train.width, real.train.images.length], [60000, 28, 28, 60000 * 28 * 28]);
  assert.equal([real.test.count, real.test.height, real.test.width, real.test.images.length], [10000, 28, 28, 10000 * 28 * 28]);
});

defineReal('the real Fashion-MNIST is balanced: 6,000 train and 1,000 test images per class', () => {
  const perClass = (labels: Uint8Array) => {
    const counts = new Array<number>(10).fill(0);
    for (const label of labels) counts[label]!++;
    return counts;
  };
  assert.equal(perClass(real.train.labels), new Array(10).fill(6000));
  assert.equal(perClass(real.test.labels), new Array(10).fill(1000));
});

defineReal("the real train labels start 9, 0, 0 and end 3, 0, 5, as TensorFlow's tutorial prints them", () => {
  // TensorFlow's "classify images of clothing" tutorial shows train_labels as array([9, 0, 0, ..., 3, 0, 5]).
  const labels = real.train.labels;
  assert.equal([...labels.subarray(0, 3), ...labels.subarray(-3)], [9, 0, 0, 3, 0, 5]);
  assert.is(FASHION_MNIST_CLASSES[labels[0]!], 'Ankle boot');
});

test.run();
