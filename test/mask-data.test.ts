// Class masks against PIL's reading of the same files, mask folders and their splits, the class check against a
// head, and every bad mask or layout as one line naming the file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openMaskFolder } from '../src/data/mask-folder.js';
import { checkMaskClasses, decodeMaskFile, encodeMaskPng, vocPalette } from '../src/data/mask-png.js';
import { encodePng } from '../src/runtime/images/png.js';
import { asyncRefusal, refusal } from './support/data-faults.js';

const root = mkdtempSync(join(tmpdir(), 'netspec-masks-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const PYTHON = '/usr/bin/python3';
const havePil = spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { encoding: 'utf8' }).status === 0;

/** Runs Python with PIL and numpy, returning what it prints as JSON. */
function python(script: string): unknown {
  const run = spawnSync(PYTHON, ['-c', `import json, numpy as np\nfrom PIL import Image\n${script}`], { encoding: 'utf8', cwd: root });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

const rows = (classes: Uint8Array, width: number) =>
  Array.from({ length: classes.length / width }, (_, y) => Array.from(classes.subarray(y * width, (y + 1) * width)));

(havePil ? test : test.skip)('palette and grey masks read as PIL reads them: index or value, transparency and bit depth aside', async () => {
  // PIL writes each kind: 8-bit palette with a tRNS chunk, 2-bit palette, grey with a transparent value of 21.
  const expected = python(`
a = (np.arange(7 * 5).reshape(5, 7) * 7 % 256).astype(np.uint8); a[0, 0] = 255; a[1, 1] = 21
p = Image.fromarray(a, mode='P'); p.putpalette([0, 0, 0, 128, 0, 0] + [0, 0, 0] * 254); p.save('p8.png', transparency=0)
Image.fromarray(a % 4, mode='P').save('p2.png', bits=2)
Image.fromarray(a, mode='L').save('l8.png', transparency=21)
print(json.dumps({name: np.array(Image.open(name)).tolist() for name in ['p8.png', 'p2.png', 'l8.png']}))`) as Record<string, number[][]>;
  for (const name of ['p8.png', 'p2.png', 'l8.png']) {
    const mask = await decodeMaskFile(join(root, name));
    assert.equal(rows(mask.classes, mask.width), expected[name], name);
  }
  assert.is(expected['p8.png']![0]![0], 255);
});

(havePil ? test : test.skip)("masks written by encodeMaskPng read back in PIL as mode P with VOC's palette, or mode L", () => {
  const classes = Uint8Array.from({ length: 6 * 4 }, (_, i) => (i * 11) % 22).map((v, i) => (i === 5 ? 255 : v));
  writeFileSync(join(root, 'written-p.png'), encodeMaskPng({ width: 6, height: 4, classes }, vocPalette()));
  writeFileSync(join(root, 'written-l.png'), encodeMaskPng({ width: 6, height: 4, classes }));
  const read = python(`
p, l = Image.open('written-p.png'), Image.open('written-l.png')
print(json.dumps({'modes': [p.mode, l.mode], 'p': np.array(p).tolist(), 'l': np.array(l).tolist(), 'palette': p.getpalette()[:6] + p.getpalette()[3 * 255:]}))`) as {
    modes: string[];
    p: number[][];
    l: number[][];
    palette: number[];
  };
  assert.equal(read.modes, ['P', 'L']);
  assert.equal(read.p, rows(classes, 6));
  assert.equal(read.l, rows(classes, 6));
  // The VOC development kit's colormap: 0 black, 1 dark red, 255 (ignore) the cream 224, 224, 192.
  assert.equal(read.palette, [0, 0, 0, 128, 0, 0, 224, 224, 192]);
});

/** A PNG written by pngjs with the given colour type and bit depth (2 RGB, 4 grey and alpha, 6 RGBA, 0 grey). */
function pngOf(colorType: number, bitDepth = 8): Uint8Array {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(7);
  return PNG.sync.write(png, { colorType: colorType as 0 | 2 | 4 | 6, bitDepth: bitDepth as 8 | 16 });
}

const SAVE_AS = 'save masks as palette (PIL mode P) or 8-bit grey (mode L) PNGs of class indices';
const badMasks: [title: string, bytes: Uint8Array, message: string][] = [
  ['an RGB mask', pngOf(2), `is an RGB PNG; ${SAVE_AS}`],
  ['an RGBA mask', pngOf(6), `is an RGBA PNG; ${SAVE_AS}`],
  ['a grey-and-alpha mask', pngOf(4), `is a grey-and-alpha PNG; ${SAVE_AS}`],
  ['a 16-bit grey mask', pngOf(0, 16), `is a 16-bit grey PNG; ${SAVE_AS}`],
  ['a JPEG mask', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]), `is a JPEG; JPEG's lossy compression changes class indices, so ${SAVE_AS}`],
  ['text', new TextEncoder().encode('class 1 everywhere, trust me'), `is not a PNG; ${SAVE_AS}`],
];

for (const [title, bytes, message] of badMasks) {
  test(`refused: ${title}`, async () => {
    const path = join(root, `bad-${title.replace(/\W+/g, '-')}.png`);
    writeFileSync(path, bytes);
    assert.is(await asyncRefusal(() => decodeMaskFile(path)), `${path}: ${message}`);
  });
}

test('the class check against a head: values below the class count or 255 pass; any other is named with its pixel', () => {
  const mask = { width: 3, height: 2, classes: Uint8Array.from([0, 20, 255, 21, 3, 200]) };
  checkMaskClasses(mask, 201, 'm.png');
  // With 21 classes (0 to 20), 21 at (0, 1) is the first stray and 200 at (2, 1) the second.
  assert.is(
    refusal(() => checkMaskClasses(mask, 21, 'm.png')),
    'm.png: has the class 21 at pixel (0, 1) and 1 more pixels of classes the head lacks: it outputs 21 classes (0 to 20; 255 means ignore)',
  );
});

let folders = 0;
/** A mask folder: each stem's image (a 4×3 PNG) and mask, under `split` when given, and extra files by path. */
function maskFolder(stems: readonly string[], split?: string, extra: Record<string, Uint8Array | string> = {}): string {
  const dir = join(root, `folder${folders++}`);
  const base = split === undefined ? dir : join(dir, split);
  mkdirSync(join(base, 'images'), { recursive: true });
  mkdirSync(join(base, 'masks'), { recursive: true });
  stems.forEach((stem, i) => {
    writeFileSync(join(base, 'images', `${stem}.png`), encodePng({ width: 4, height: 3, channels: 3, data: new Uint8Array(36).fill(10 * i) }));
    writeFileSync(
      join(base, 'masks', `${stem}.png`),
      encodeMaskPng({ width: 4, height: 3, classes: new Uint8Array(12).fill(i) }, i % 2 === 0 ? vocPalette() : undefined),
    );
  });
  for (const [path, content] of Object.entries(extra)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

test('a mask folder pairs images and masks by stem, in order of stem, with class names from labelmap.txt', async () => {
  const dir = maskFolder(['b', 'a', 'c'], undefined, { 'labelmap.txt': 'background:0,0,0::\nroad:1,1,1::\n' });
  const data = openMaskFolder(dir);
  assert.is(data.source, `masks:${dir}`);
  assert.equal(
    [0, 1, 2].map((i) => data.image(i).name),
    ['a', 'b', 'c'],
  );
  assert.equal(data.classNames, ['background', 'road']);
  const sample = await data.load(0);
  // a was written second (i = 1): a grey mask of 1s over an image of 10s.
  assert.equal(Array.from(sample.mask), new Array(12).fill(1));
  assert.equal(Array.from(sample.pixels.data.subarray(0, 3)), [10, 10, 10]);
  assert.is(openMaskFolder(maskFolder(['x'])).classNames, undefined);
});

test('a mask folder of splits: --split picks one; none chosen, or an unknown one, lists those found', () => {
  const dir = maskFolder(['a'], 'train');
  mkdirSync(join(dir, 'val', 'images'), { recursive: true });
  mkdirSync(join(dir, 'val', 'masks'), { recursive: true });
  writeFileSync(join(dir, 'val', 'images', 'z.png'), readFileSync(join(dir, 'train', 'images', 'a.png')));
  writeFileSync(join(dir, 'val', 'masks', 'z.png'), readFileSync(join(dir, 'train', 'masks', 'a.png')));
  assert.is(openMaskFolder(dir, { split: 'val' }).image(0).name, 'z');
  assert.is(
    refusal(() => openMaskFolder(dir)),
    `${dir}: holds the splits train, val; choose one with --split`,
  );
  assert.is(
    refusal(() => openMaskFolder(dir, { split: 'test' })),
    `${dir}: has no split "test"; its splits are train, val`,
  );
  assert.is(
    refusal(() => openMaskFolder(maskFolder(['a']), { split: 'val' })).endsWith(
      ': has no split "val"; it has no split folders (each holding images/ and masks/); leave out --split',
    ),
    true,
  );
});

test('refused: images without masks, masks without images, two images of one stem, masks of another size on loading', async () => {
  const noMask = maskFolder(['a', 'b', 'c', 'd', 'e']);
  for (const stem of ['b', 'c', 'd', 'e']) rmSync(join(noMask, 'masks', `${stem}.png`));
  assert.is(
    refusal(() => openMaskFolder(noMask)),
    `${noMask}/masks: lacks the masks of 4 images: "b.png", "c.png", "d.png", and 1 more`,
  );
  const noImage = maskFolder(['a', 'b']);
  rmSync(join(noImage, 'images', 'b.png'));
  assert.is(
    refusal(() => openMaskFolder(noImage)),
    `${noImage}/images: lacks the images of 1 mask: "b.png"`,
  );
  const twice = maskFolder(['a'], undefined, { 'images/a.jpg': '' });
  assert.is(
    refusal(() => openMaskFolder(twice)),
    `${twice}/images: holds both "a.jpg" and "a.png"; one file a name, so images and masks pair`,
  );
  const resized = maskFolder(['a'], undefined, { 'masks/a.png': encodeMaskPng({ width: 3, height: 4, classes: new Uint8Array(12) }) });
  assert.is(
    await asyncRefusal(() => openMaskFolder(resized).load(0)),
    `${resized}/masks/a.png: is 3×4 but its image a.png is 4×3; a mask has its image's size`,
  );
});

test('refused without blocking: a FIFO as the masks folder or as a mask, a link to nothing, a loop of links', async () => {
  const fifoFolder = maskFolder(['a']);
  rmSync(join(fifoFolder, 'masks'), { recursive: true });
  spawnSync('mkfifo', [join(fifoFolder, 'masks')]);
  assert.is(
    refusal(() => openMaskFolder(fifoFolder)),
    `${fifoFolder}/masks: a device, pipe or socket, not a folder; it should hold the files that pair images and masks by name`,
  );
  const fifoMask = maskFolder(['a']);
  rmSync(join(fifoMask, 'masks', 'a.png'));
  spawnSync('mkfifo', [join(fifoMask, 'masks', 'a.png')]);
  assert.is(
    await asyncRefusal(() => openMaskFolder(fifoMask).load(0)),
    `${fifoMask}/masks/a.png: cannot be read: it is not a regular file (a device, pipe or socket)`,
  );
  const dangling = maskFolder(['a']);
  symlinkSync(join(dangling, 'nowhere.png'), join(dangling, 'images', 'b.png'));
  assert.is(
    refusal(() => openMaskFolder(dangling)),
    `${dangling}/images/b.png: is a symbolic link to nothing`,
  );
  const loop = maskFolder(['a']);
  symlinkSync(join(loop, 'images', 'y.png'), join(loop, 'images', 'x.png'));
  symlinkSync(join(loop, 'images', 'x.png'), join(loop, 'images', 'y.png'));
  assert.is(
    refusal(() => openMaskFolder(loop)),
    `${loop}/images/x.png: too many levels of symbolic links`,
  );
});

test.run();
