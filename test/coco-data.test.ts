// The COCO reader on files written here: pycocotools' orders, the images folder's lookup, boxes and warnings, the
// category mapping, and every bad input as one line naming the file and the record.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { categoryMapping, restoreCategoryMapping } from '../src/data/categories.js';
import { openCocoDetection } from '../src/data/coco.js';
import { readBoundedChunks } from '../src/files/read-bounded.js';
import { encodePng } from '../src/runtime/images/png.js';
import { asyncRefusal, refusal } from './support/data-faults.js';

const root = mkdtempSync(join(tmpdir(), 'netspec-coco-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

let folders = 0;
/** A fresh COCO layout: annotations/instances_val.json holding `content`, and val/ with empty files of `images`. */
function cocoFolder(content: unknown, images: readonly string[] = []): { json: string; dir: string } {
  const dir = join(root, `case${folders++}`);
  mkdirSync(join(dir, 'annotations'), { recursive: true });
  mkdirSync(join(dir, 'val'));
  const json = join(dir, 'annotations', 'instances_val.json');
  writeFileSync(json, typeof content === 'string' ? content : JSON.stringify(content));
  for (const name of images) writeFileSync(join(dir, 'val', name), '');
  return { json, dir };
}

const image = (id: number, width = 40, height = 30) => ({ id, file_name: `${id}.png`, width, height });
const annotation = (id: number, imageId: number, categoryId: number, bbox = [1, 2, 3, 4], extra = {}) => ({
  id,
  image_id: imageId,
  category_id: categoryId,
  bbox,
  area: bbox[2]! * bbox[3]!,
  iscrowd: 0,
  ...extra,
});
const categories = [
  { id: 7, name: 'cat' },
  { id: 2, name: 'dog' },
];
const valid = (images: readonly unknown[] = [image(5), image(3)], annotations: readonly unknown[] = [annotation(10, 5, 7)]) => ({
  images,
  annotations,
  categories,
});

test("images in order of id and each image's annotations in the file's order, as pycocotools indexes them", () => {
  // pycocotools: COCOeval takes p.imgIds = sorted(cocoGt.getImgIds()) and createIndex appends each annotation to
  // imgToAnns[ann['image_id']] in the file's order; torchvision's CocoDetection lists sorted(coco.imgs.keys()).
  const content = {
    images: [image(30), image(4), image(12)],
    annotations: [
      annotation(1, 12, 2, [0, 0, 5, 5]),
      annotation(9, 30, 7),
      annotation(2, 12, 7, [1, 1, 2, 2], { iscrowd: 1, area: 3.5 }),
      annotation(3, 12, 2, [2, 3, 4, 5]),
    ],
    categories,
  };
  const { json } = cocoFolder(content, ['30.png', '4.png', '12.png']);
  const data = openCocoDetection(json);
  assert.is(data.length, 3);
  assert.equal(
    [0, 1, 2].map((i) => data.image(i).id),
    [4, 12, 30],
  );
  assert.equal(data.categories, [
    { id: 2, name: 'dog' },
    { id: 7, name: 'cat' },
  ]);
  const objects = data.objects(1);
  assert.equal(Array.from(objects.annotationIds), [1, 2, 3]);
  assert.equal(Array.from(objects.boxes), [0, 0, 5, 5, 1, 1, 2, 2, 2, 3, 4, 5]);
  assert.equal(Array.from(objects.categoryIds), [2, 7, 2]);
  // labels index the categories sorted by id: dog (2) is 0, cat (7) is 1.
  assert.equal(Array.from(objects.labels), [0, 1, 0]);
  assert.equal(Array.from(objects.areas), [25, 3.5, 20]);
  assert.equal(Array.from(objects.crowd), [0, 1, 0]);
  assert.equal(Array.from(objects.difficult), [0, 0, 0]);
  assert.is(data.objects(0).count, 0);
  assert.is(data.indexOfImageId(30), 2);
  assert.is(data.indexOfImageId(31), undefined);
  assert.equal(data.image(0), { id: 4, name: '4.png', path: join(json, '..', '..', 'val', '4.png'), width: 40, height: 30 });
  assert.equal(data.warnings, []);
});

test('iscrowd may be absent (0, as pycocotools reads it) or true/false', () => {
  const plain = { id: 1, image_id: 5, category_id: 7, bbox: [1, 1, 2, 2], area: 4 };
  const { json } = cocoFolder(valid([image(5)], [plain, { ...plain, id: 2, iscrowd: true }, { ...plain, id: 3, iscrowd: false }]), ['5.png']);
  assert.equal(Array.from(openCocoDetection(json).objects(0).crowd), [0, 1, 0]);
});

test('the images folder: <stem>/ beside annotations/, <stem>/ beside the file, images/ beside it, or as given', () => {
  const layouts = cocoFolder(valid([image(5)], []));
  // COCO's own layout: annotations/instances_val.json → val/ beside annotations/.
  writeFileSync(join(layouts.dir, 'val', '5.png'), '');
  assert.is(openCocoDetection(layouts.json).image(0).path, join(layouts.dir, 'val', '5.png'));
  const flat = join(root, 'flat');
  mkdirSync(join(flat, 'images'), { recursive: true });
  writeFileSync(join(flat, 'shapes.json'), JSON.stringify(valid([image(5)], [])));
  writeFileSync(join(flat, 'images', '5.png'), '');
  assert.is(openCocoDetection(join(flat, 'shapes.json')).image(0).path, join(flat, 'images', '5.png'));
  mkdirSync(join(flat, 'shapes'));
  writeFileSync(join(flat, 'shapes', '5.png'), '');
  assert.is(openCocoDetection(join(flat, 'shapes.json')).image(0).path, join(flat, 'shapes', '5.png'));
  assert.is(openCocoDetection(join(flat, 'shapes.json'), { imagesDir: join(flat, 'images') }).image(0).path, join(flat, 'images', '5.png'));
  const lonely = join(root, 'lonely');
  mkdirSync(lonely);
  writeFileSync(join(lonely, 'instances_x.json'), JSON.stringify(valid([image(5)], [])));
  assert.is(
    refusal(() => openCocoDetection(join(lonely, 'instances_x.json'))),
    `${lonely}/instances_x.json: no images folder found at ${root}/x, ${lonely}/x, ${lonely}/images; name it after the file: coco:${lonely}/instances_x.json:IMAGES_DIR`,
  );
});

test('boxes of no size and boxes past their image are counted, the first named, and kept as they are', () => {
  const content = valid(
    [image(5, 40, 30), image(6, 40, 30)],
    [
      annotation(1, 5, 7, [0, 0, 0, 4]),
      annotation(2, 6, 7, [1, 1, 5, -2], { area: 0 }),
      annotation(3, 6, 2, [38, 1, 3, 4]),
      annotation(4, 5, 2, [1, 1, 39, 29]),
      annotation(5, 5, 2, [-1, 0, 3, 3]),
    ],
  );
  const { json } = cocoFolder(content, ['5.png', '6.png']);
  const data = openCocoDetection(json);
  // 38 + 3 = 41 > 40 and x = -1 < 0 reach past; 1 + 39 = 40 and 1 + 29 = 30 end exactly on the border, inside.
  assert.equal(data.warnings, [
    `${json}: 2 boxes of zero or negative width or height (the first: annotation id 1 of image id 5, [0, 0, 0, 4]); kept as pycocotools keeps them`,
    `${json}: 2 boxes reaching past their image (the first: annotation id 5 of image id 5, [-1, 0, 3, 3] in a 40×30 image); kept as pycocotools keeps them`,
  ]);
  assert.equal(Array.from(data.objects(1).boxes), [1, 1, 5, -2, 38, 1, 3, 4]);
});

test("a record split across the reader's one-megabyte chunks reads whole", () => {
  // 3,000 annotations with 400-number polygons make about 5 MB, so records straddle every chunk boundary.
  const polygon = Array.from({ length: 400 }, (_, i) => i + 0.25);
  const annotations = Array.from({ length: 3000 }, (_, k) => ({
    ...annotation(k + 1, 5 + (k % 2), k % 3 === 0 ? 2 : 7, [k, k + 0.5, 2, 3]),
    segmentation: [polygon],
  }));
  const { json } = cocoFolder(valid([image(5, 9000, 9000), image(6, 9000, 9000)], annotations), ['5.png', '6.png']);
  const data = openCocoDetection(json);
  const even = data.objects(0);
  assert.is(even.count, 1500);
  assert.equal(Array.from(even.boxes.subarray(4 * 1499)), [2998, 2998.5, 2, 3]);
  assert.equal(Array.from(data.objects(1).annotationIds.subarray(0, 3)), [2, 4, 6]);
});

test('the chunked bounded reader: a file that reports size 0 is read to its end, and counted against the limit', () => {
  // /proc files report size 0 to fstat; their bytes arrive all the same and are counted as they come.
  const chunks: number[] = [];
  assert.is(
    readBoundedChunks('/proc/self/status', 1 << 20, 64, (chunk) => chunks.push(chunk.length)),
    undefined,
  );
  assert.ok(chunks.length > 2 && chunks.every((length) => length <= 64));
  assert.equal(
    readBoundedChunks('/proc/self/status', 100, 64, () => {}),
    { kind: 'tooLarge', size: 'more than 100 bytes' },
  );
  assert.equal(
    readBoundedChunks('/dev/zero', 100, 64, () => {}),
    { kind: 'unreadable', reason: 'it is not a regular file (a device, pipe or socket)' },
  );
  assert.equal(
    readBoundedChunks(root, 100, 64, () => {}),
    { kind: 'unreadable', reason: 'it is a folder' },
  );
});

test('an image is decoded as RGB and must have the size its record states', async () => {
  const pixels = new Uint8Array(4 * 3 * 3).map((_, i) => i * 7);
  const content = valid([image(5, 4, 3), image(6, 4, 3)], []);
  const { json, dir } = cocoFolder(content);
  writeFileSync(join(dir, 'val', '5.png'), encodePng({ width: 4, height: 3, channels: 3, data: pixels }));
  writeFileSync(join(dir, 'val', '6.png'), encodePng({ width: 3, height: 4, channels: 3, data: pixels }));
  const data = openCocoDetection(json);
  const sample = await data.load(0);
  assert.equal([sample.pixels.width, sample.pixels.height, sample.pixels.channels], [4, 3, 3]);
  assert.equal(Array.from(sample.pixels.data), Array.from(pixels));
  assert.is(await asyncRefusal(() => data.load(1)), `${join(dir, 'val', '6.png')}: is 3×4 but ${json} says image id 6 is 4×3`);
});

/** Each bad annotations file: its content and the line it is refused with, after the file's path. */
const faults: [title: string, content: unknown, message: string][] = [
  ['an array at the top', [valid()], '$ is an array, not an object holding images, annotations and categories'],
  ['a string at the top', '"images"', '$ is a string, not an object holding images, annotations and categories'],
  ['an empty file', '', '$ is missing: the file holds no JSON value'],
  ['no annotations list', { images: [], categories: [] }, '$ has no annotations; a COCO annotations file has images, annotations and categories'],
  ['images an object', { images: { a: image(5) }, annotations: [], categories }, '$.images is an object, not an array'],
  ['images twice', '{"images": [], "annotations": [], "images": [], "categories": []}', '$.images appears twice at the top level'],
  ['an image that is a number', valid([image(5), 3]), '$.images[1] is 3, not an object'],
  ['an image id that is a string', valid([image(5), { ...image(3), id: '3' }]), '$.images[1].id is the string "3"; it should be an integer'],
  ['an image id with a fraction', valid([{ ...image(5), id: 5.5 }]), '$.images[0].id is 5.5; it should be an integer'],
  ['a width of 0', valid([{ ...image(5), width: 0 }]), '$.images[0].width is 0; it should be a whole number of pixels ≥ 1'],
  ['no file name', valid([{ id: 5, width: 4, height: 4 }]), '$.images[0].file_name is missing'],
  [
    'a file name climbing out',
    valid([{ ...image(5), file_name: '../../etc/passwd' }]),
    '$.images[0].file_name is "../../etc/passwd"; it should name a file inside the images folder',
  ],
  [
    'an absolute file name',
    valid([{ ...image(5), file_name: '/etc/passwd' }]),
    '$.images[0].file_name is "/etc/passwd"; it should name a file inside the images folder',
  ],
  [
    'a bbox of three numbers',
    valid(undefined, [annotation(1, 5, 7, [1, 2, 3])]),
    '$.annotations[0].bbox is [1, 2, 3]; it should be [x, y, width, height], four finite numbers',
  ],
  [
    'a bbox with a string',
    valid(undefined, [{ ...annotation(1, 5, 7), bbox: [1, '2', 3, 4] }]),
    '$.annotations[0].bbox is [1, "2", 3, 4]; it should be [x, y, width, height], four finite numbers',
  ],
  [
    'a bbox past a double',
    '{"images": [], "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1e400, 0, 1, 1], "area": 1}], "categories": []}',
    '$.annotations[0].bbox is [Infinity, 0, 1, 1]; it should be [x, y, width, height], four finite numbers',
  ],
  [
    'no area',
    valid(undefined, [{ id: 1, image_id: 5, category_id: 7, bbox: [1, 2, 3, 4] }]),
    '$.annotations[0].area is missing; pycocotools needs it to sort objects into small, medium and large',
  ],
  ['a negative area', valid(undefined, [{ ...annotation(1, 5, 7), area: -1 }]), '$.annotations[0].area is -1; it should be a finite number ≥ 0'],
  ['iscrowd 2', valid(undefined, [{ ...annotation(1, 5, 7), iscrowd: 2 }]), '$.annotations[0].iscrowd is 2; it should be 0 or 1'],
  ['a category without a name', { images: [], annotations: [], categories: [{ id: 1 }] }, '$.categories[0].name is missing'],
  [
    'an annotation of an image the list lacks',
    valid(undefined, [annotation(1, 5, 7), annotation(4, 99, 7)]),
    '$.annotations[1] (id 4) names image id 99, which $.images lacks',
  ],
  [
    'an annotation of a category the list lacks',
    valid(undefined, [annotation(1, 5, 7), annotation(4, 5, 12)]),
    '$.annotations[1] (id 4) names category id 12, which $.categories lacks',
  ],
  ['two images of one id', valid([image(5), image(3), image(5)]), '$.images[2].id is 5, which $.images[0] has too'],
  [
    'two annotations of one id',
    valid(undefined, [annotation(8, 5, 7), annotation(1, 3, 7), annotation(8, 3, 2)]),
    '$.annotations[2].id is 8, which $.annotations[0] has too',
  ],
  [
    'two categories of one id',
    { images: [], annotations: [], categories: [...categories, { id: 7, name: 'lynx' }] },
    '$.categories[2].id is 7, which $.categories[0] has too',
  ],
  [
    'a __proto__ key standing in for a field',
    '{"images": [{"__proto__": {"id": 5}, "file_name": "5.png", "width": 4, "height": 4}], "annotations": [], "categories": []}',
    '$.images[0].id is missing',
  ],
  ['JSON cut short', '{"images": [{"id": 5', 'is not valid JSON at byte 19: Parser ended in mid-parsing (state: COMMA).'],
  [
    'NaN, which Python writes',
    '{"images": [], "annotations": [{"area": NaN}], "categories": []}',
    'is not valid JSON at byte 40: Unexpected "N" in state START',
  ],
];

for (const [title, content, message] of faults) {
  test(`refused: ${title}`, () => {
    const { json } = cocoFolder(content, ['5.png', '3.png']);
    const line = refusal(() => openCocoDetection(json));
    assert.is(line, `${json}: ${message}`);
    assert.not.match(line, '\n');
  });
}

test('refused: annotations naming image files that are not there, counted with the first three named', () => {
  const { json, dir } = cocoFolder(
    valid(
      [1, 2, 3, 4, 5, 6].map((id) => image(id)),
      [],
    ),
    ['2.png', '4.png'],
  );
  assert.is(
    refusal(() => openCocoDetection(json)),
    `${json}: 4 of its 6 images are not in ${dir}/val: "1.png" (image id 1), "3.png" (image id 3), "5.png" (image id 5), and 1 more; every listed image is scored, so each must be there`,
  );
  // Scoring a results file reads no image, so it may go without them, as pycocotools does.
  assert.is(openCocoDetection(json, { requireImages: false }).length, 6);
});

test('refused: a file past the size bound, the bound stated', () => {
  const { json } = cocoFolder(valid(), ['5.png', '3.png']);
  const size = JSON.stringify(valid()).length;
  assert.is(
    refusal(() => openCocoDetection(json, { maxFileBytes: 100 })),
    `${json}: the file is ${size} bytes, past the limit of 100 bytes for annotation files`,
  );
});

test('refused without blocking: a FIFO as the annotations file or the images folder, a loop of links as the folder', () => {
  const fifo = cocoFolder(valid(), []);
  rmSync(fifo.json);
  spawnSync('mkfifo', [fifo.json]);
  assert.is(
    refusal(() => openCocoDetection(fifo.json)),
    `${fifo.json}: cannot be read: it is not a regular file (a device, pipe or socket)`,
  );
  const pipeFolder = cocoFolder(valid(), []);
  rmSync(join(pipeFolder.dir, 'val'), { recursive: true });
  spawnSync('mkfifo', [join(pipeFolder.dir, 'val')]);
  assert.is(
    refusal(() => openCocoDetection(pipeFolder.json)),
    `${pipeFolder.dir}/val: a device, pipe or socket, not a folder; it should hold the images that ${pipeFolder.json} lists`,
  );
  const loop = cocoFolder(valid(), []);
  rmSync(join(loop.dir, 'val'), { recursive: true });
  symlinkSync(join(loop.dir, 'loop'), join(loop.dir, 'val'));
  symlinkSync(join(loop.dir, 'val'), join(loop.dir, 'loop'));
  assert.is(
    refusal(() => openCocoDetection(loop.json, { imagesDir: join(loop.dir, 'val') })),
    `${loop.dir}/val: too many levels of symbolic links`,
  );
});

test('category mapping: identity for a 91-class head over COCO ids 1–90, else contiguous in order of id', () => {
  const coco = categoryMapping(
    [
      { id: 90, name: 'toothbrush' },
      { id: 1, name: 'person' },
    ],
    91,
    'x.json',
  );
  assert.is(coco.kind, 'identity');
  assert.is(coco.outputOf(90), 90);
  assert.equal(coco.categoryOf(1), { id: 1, name: 'person' });
  assert.is(coco.categoryOf(0), undefined);
  const own = categoryMapping(categories, 91, 'x.json');
  // Ids 2 and 7 fit within 1–90, so a 91-class head takes them by identity too.
  assert.is(own.kind, 'identity');
  const small = categoryMapping([{ id: 0, name: 'zero' }, ...categories], 3, 'x.json');
  assert.is(small.kind, 'contiguous');
  assert.equal(
    [0, 2, 7].map((id) => small.outputOf(id)),
    [0, 1, 2],
  );
  assert.equal(small.categoryOf(2), { id: 7, name: 'cat' });
  assert.is(
    refusal(() => categoryMapping(categories, 1, 'x.json')),
    "x.json: has 2 categories but the head outputs 1 classes; it needs at least 2 (or 91 for COCO's ids 1 to 90 by identity)",
  );
});

test('category mapping: saved as JSON and read back; a tampered one is refused', () => {
  const mapping = categoryMapping(categories, 5, 'x.json');
  const saved = JSON.parse(JSON.stringify(mapping));
  assert.equal(saved, {
    kind: 'contiguous',
    categories: [
      { id: 2, name: 'dog', output: 0 },
      { id: 7, name: 'cat', output: 1 },
    ],
  });
  const restored = restoreCategoryMapping(saved, 'w/manifest.json');
  assert.equal(restored.categories, mapping.categories);
  assert.is(restored.outputOf(7), 1);
  const swapped = {
    kind: 'contiguous',
    categories: [
      { id: 2, name: 'dog', output: 1 },
      { id: 7, name: 'cat', output: 0 },
    ],
  };
  assert.is(
    refusal(() => restoreCategoryMapping(swapped, 'w/manifest.json')),
    'w/manifest.json: the category mapping gives category id 2 the output 1, which a contiguous mapping of these ids does not',
  );
  assert.is(
    refusal(() => restoreCategoryMapping({ kind: 'other', categories: [] }, 'm')),
    'm: the category mapping has kind "other"; it is "identity" or "contiguous"',
  );
  assert.is(
    refusal(() => restoreCategoryMapping({ kind: 'identity', categories: [{ id: 1 }] }, 'm')),
    'm: the category mapping entry 0 is not {"id": integer, "name": string, "output": integer ≥ 0}',
  );
});

test.run();
