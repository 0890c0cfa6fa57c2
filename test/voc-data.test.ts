// The Pascal VOC reader on folders written here: boxes converted by hand-worked arithmetic, splits and their order,
// classes from VOC or a labelmap, segmentation masks, and every bad input as one line naming the file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMaskPng, vocPalette } from '../src/data/mask-png.js';
import { openVocDetection, openVocSegmentation, vocSplits } from '../src/data/voc.js';
import { encodePng } from '../src/runtime/images/png.js';
import { asyncRefusal, refusal } from './support/data-faults.js';

const root = mkdtempSync(join(tmpdir(), 'netspec-voc-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

interface Box {
  readonly name: string;
  readonly box: readonly [number, number, number, number];
  readonly difficult?: 0 | 1;
}

const xml = (objects: readonly Box[], size = '<size><width>40</width><height>30</height><depth>3</depth></size>') =>
  `<annotation><filename>x.jpg</filename>${size}${objects
    .map(
      ({ name, box: [xmin, ymin, xmax, ymax], difficult = 0 }) =>
        `<object><name>${name}</name><truncated>0</truncated><difficult>${difficult}</difficult><bndbox><xmin>${xmin}</xmin><ymin>${ymin}</ymin><xmax>${xmax}</xmax><ymax>${ymax}</ymax></bndbox></object>`,
    )
    .join('')}</annotation>`;

let folders = 0;
/** A VOC folder of the given annotation files (name → XML text), an empty JPEG for each, and the given extra files. */
function vocFolder(annotations: Record<string, string>, extra: Record<string, string | Uint8Array> = {}): string {
  const dir = join(root, `voc${folders++}`);
  for (const [id, text] of Object.entries(annotations)) {
    write(join(dir, 'Annotations', `${id}.xml`), text);
    write(join(dir, 'JPEGImages', `${id}.jpg`), '');
  }
  for (const [path, content] of Object.entries(extra)) write(join(dir, path), content);
  return dir;
}

function write(path: string, content: string | Uint8Array): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

test('VOC boxes become COCO boxes: x = xmin − 1, y = ymin − 1, width = xmax − xmin + 1, height = ymax − ymin + 1', () => {
  const dir = vocFolder({
    a: xml([
      { name: 'dog', box: [1, 1, 10, 5] },
      { name: 'person', box: [12.5, 3, 40, 30], difficult: 1 },
    ]),
  });
  const data = openVocDetection(dir);
  const objects = data.objects(0);
  // dog: pixels 1..10 across (10 of them) and 1..5 down (5), so [0, 0, 10, 5]; person: [11.5, 2, 28.5, 28].
  assert.equal(Array.from(objects.boxes), [0, 0, 10, 5, 11.5, 2, 28.5, 28]);
  // dog is VOC's 12th class and person its 15th, counting background as 0.
  assert.equal(Array.from(objects.categoryIds), [12, 15]);
  assert.equal(Array.from(objects.labels), [11, 14]);
  // VOC states no area; the box's: 10 × 5 = 50 and 28.5 × 28 = 798.
  assert.equal(Array.from(objects.areas), [50, 798]);
  assert.equal(Array.from(objects.difficult), [0, 1]);
  assert.equal(Array.from(objects.crowd), [0, 0]);
  assert.equal(data.categories.length, 20);
  assert.equal(data.categories[0], { id: 1, name: 'aeroplane' });
  assert.equal(data.categories[19], { id: 20, name: 'tvmonitor' });
  assert.equal(data.image(0), { id: 1, name: 'a', path: join(dir, 'JPEGImages', 'a.jpg'), width: 40, height: 30 });
  // x + width = 11.5 + 28.5 = 40 and y + height = 30: on the border, inside.
  assert.equal(data.warnings, []);
});

test("a split lists images in its file's order, as torchvision's VOC datasets read it; without one, every file by name", () => {
  const files = { b: xml([{ name: 'cat', box: [1, 1, 2, 2] }]), a: xml([]), c: xml([{ name: 'cow', box: [1, 1, 2, 2] }]) };
  const dir = vocFolder(files, { 'ImageSets/Main/val.txt': 'c\n\na\n', 'ImageSets/Main/train.txt': 'b\n', 'ImageSets/Main/cat_val.txt': 'c -1\n' });
  assert.equal(vocSplits(dir, 'detection'), ['train', 'val']);
  const val = openVocDetection(dir, { split: 'val' });
  assert.equal(
    [0, 1].map((i) => val.image(i).name),
    ['c', 'a'],
  );
  assert.equal([val.image(0).id, val.indexOfImageId(2), val.indexOfImageId(3)], [1, 1, undefined]);
  const all = openVocDetection(dir);
  assert.equal(
    [0, 1, 2].map((i) => all.image(i).name),
    ['a', 'b', 'c'],
  );
  // Annotation ids run over the dataset: a has none, b's object is 1, c's is 2.
  assert.equal(Array.from(all.objects(2).annotationIds), [2]);
  assert.is(
    refusal(() => openVocDetection(dir, { split: 'test' })),
    `${dir}: has no split "test" for detection (ImageSets/Main/test.txt); its splits are train, val`,
  );
});

test("the classes of a labelmap.txt (Datumaro's format) replace VOC's, numbered by line from background", () => {
  const labelmap = '# label:color_rgb:parts:actions\nbackground:0,0,0::\nwidget:128,0,0::\ngizmo:0,128,0::\n';
  const dir = vocFolder({ a: xml([{ name: 'gizmo', box: [1, 1, 4, 4] }]) }, { 'labelmap.txt': labelmap });
  const data = openVocDetection(dir);
  assert.equal(data.categories, [
    { id: 1, name: 'widget' },
    { id: 2, name: 'gizmo' },
  ]);
  assert.equal(Array.from(data.objects(0).categoryIds), [2]);
});

test('boxes of no size or past the <size> are counted and kept', () => {
  const dir = vocFolder({
    a: xml([
      { name: 'cat', box: [5, 5, 4, 9] },
      { name: 'cat', box: [30, 1, 41, 30] },
    ]),
  });
  // [5, 5, 4, 9]: width 4 − 5 + 1 = 0. [30, 1, 41, 30]: x 29 + width 12 = 41 > 40.
  assert.equal(openVocDetection(dir).warnings, [
    `${dir}/Annotations: 1 box of zero or negative width or height (the first: object 1 of "a.xml", [4, 4, 0, 5]); kept as pycocotools keeps them`,
    `${dir}/Annotations: 1 box reaching past their image (the first: object 2 of "a.xml", [29, 0, 12, 30] in a 40×30 image); kept as pycocotools keeps them`,
  ]);
});

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><object><name>&lol3;</name></object></annotation>`;

const faults: [title: string, text: string, message: string][] = [
  [
    'a DOCTYPE declaring entities (billion laughs)',
    BILLION_LAUGHS,
    'has a document type declaration (<!DOCTYPE …>); XML with a DOCTYPE or entities is refused, never expanded',
  ],
  [
    'an external entity',
    '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><annotation>&x;</annotation>',
    'has a document type declaration (<!DOCTYPE …>); XML with a DOCTYPE or entities is refused, never expanded',
  ],
  [
    'an entity without a DOCTYPE',
    '<annotation><object><name>&x;</name></object></annotation>',
    'is not well-formed XML: 1:29: undefined entity. (XML with entities is refused, never expanded)',
  ],
  ['an unclosed element', '<annotation><object>', 'is not well-formed XML: 1:20: unclosed tag: object'],
  ['another root', '<voc/>', 'has the root element <voc>, not <annotation>'],
  ['an object without a name', '<annotation><object><bndbox/></object></annotation>', 'object 1 has no <name>'],
  ['an object without a box', '<annotation><object><name>cat</name></object></annotation>', 'object 1 ("cat") has no <bndbox>'],
  [
    'a coordinate that is no number',
    xml([{ name: 'cat', box: [1, 1, 2, 2] }]).replace('<xmax>2</xmax>', '<xmax>2px</xmax>'),
    'object 1 ("cat") has <xmax> "2px"; it should be a number',
  ],
  [
    'difficult 2',
    xml([{ name: 'cat', box: [1, 1, 2, 2] }]).replace('<difficult>0</difficult>', '<difficult>2</difficult>'),
    'object 1 ("cat") has <difficult> "2"; it should be 0 or 1',
  ],
  ['a size that is no number', xml([], '<size><width>4O</width></size>'), 'has <size><width> "4O"; it should be a whole number of pixels'],
  [
    'a class VOC lacks',
    xml([
      { name: 'cat', box: [1, 1, 2, 2] },
      { name: 'dgo\u202e', box: [1, 1, 2, 2] },
    ]),
    'object 2 is a "dgo\\u202e", not one of VOC\'s 20 classes (aeroplane, bicycle, bird, boat, bottle, …); a dataset of other classes names them in labelmap.txt',
  ],
];

for (const [title, text, message] of faults) {
  test(`refused: ${title}`, () => {
    const dir = vocFolder({ a: text });
    const line = refusal(() => openVocDetection(dir));
    assert.is(line, `${join(dir, 'Annotations', 'a.xml')}: ${message}`);
    assert.not.match(line, '\n');
  });
}

test('refused: split files listing an id twice or a path, images that are not there, VOCdevkit named for its year', () => {
  const twice = vocFolder({ a: xml([]) }, { 'ImageSets/Main/val.txt': 'a\nb\na\n' });
  assert.is(
    refusal(() => openVocDetection(twice, { split: 'val' })),
    `${twice}/ImageSets/Main/val.txt: line 3 lists the id "a" that line 1 lists already`,
  );
  const climbing = vocFolder({ a: xml([]) }, { 'ImageSets/Main/val.txt': '../../a\n' });
  assert.is(
    refusal(() => openVocDetection(climbing, { split: 'val' })),
    `${climbing}/ImageSets/Main/val.txt: line 1 is "../../a", not an image id (a file name without its extension)`,
  );
  const missing = vocFolder({ a: xml([]), b: xml([]) });
  rmSync(join(missing, 'JPEGImages', 'b.jpg'));
  assert.is(
    refusal(() => openVocDetection(missing)),
    `${missing}/Annotations: 1 of its 2 images is not in ${missing}/JPEGImages: "b.jpg"`,
  );
  assert.is(openVocDetection(missing, { requireImages: false }).length, 2);
  const devkit = join(root, 'VOCdevkit');
  mkdirSync(join(devkit, 'VOC2012'), { recursive: true });
  assert.is(
    refusal(() => openVocDetection(devkit)),
    `${devkit}: has no Annotations/ folder, so it is not a Pascal VOC dataset for detection; it holds VOC2012: name one of them, as voc:${devkit}/VOC2012`,
  );
  const noSplits = vocFolder({ a: xml([]) });
  assert.is(
    refusal(() => openVocDetection(noSplits, { split: 'val' })),
    `${noSplits}: has no split "val" for detection (ImageSets/Main/val.txt); it has no ImageSets/Main/ folder of splits; leave out --split to take every Annotations file`,
  );
});

test('refused without blocking: a FIFO as the Annotations folder or as an annotation file', () => {
  const folder = vocFolder({});
  mkdirSync(folder);
  spawnSync('mkfifo', [join(folder, 'Annotations')]);
  assert.is(
    refusal(() => openVocDetection(folder)),
    `${folder}/Annotations: a device, pipe or socket, not a folder; it should hold the detection annotations`,
  );
  const file = vocFolder({ a: xml([]) });
  spawnSync('mkfifo', [join(file, 'Annotations', 'b.xml')]);
  assert.is(
    refusal(() => openVocDetection(file)),
    `${file}/Annotations/b.xml: cannot be read: it is not a regular file (a device, pipe or socket)`,
  );
});

test('refused: a labelmap naming a class twice', () => {
  const dir = vocFolder({ a: xml([]) }, { 'labelmap.txt': 'background:0,0,0::\ncat:1,1,1::\ncat:2,2,2::\n' });
  assert.is(
    refusal(() => openVocDetection(dir)),
    `${dir}/labelmap.txt: line 3 names the class "cat" a second time`,
  );
});

test('segmentation: SegmentationClass palette masks by split, 255 kept as ignore, masks of another size refused on loading', async () => {
  const [width, height] = [4, 3];
  // Classes by pixel, row by row: background, cat (8), 255 (ignore) on the border, person (15).
  const classes = Uint8Array.from([0, 8, 8, 255, 0, 8, 255, 15, 0, 0, 15, 15]);
  const image = encodePng({ width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(90) });
  const dir = vocFolder(
    {},
    {
      'JPEGImages/a.png': image,
      'JPEGImages/b.png': image,
      'SegmentationClass/a.png': encodeMaskPng({ width, height, classes }, vocPalette()),
      'SegmentationClass/b.png': encodeMaskPng({ width: 3, height: 4, classes }, vocPalette()),
      'ImageSets/Segmentation/val.txt': 'b\na\n',
    },
  );
  assert.equal(vocSplits(dir, 'segmentation'), ['val']);
  const data = openVocSegmentation(dir, { split: 'val' });
  assert.is(data.classNames?.length, 21);
  assert.is(data.classNames?.[15], 'person');
  assert.equal(data.image(1), {
    id: 2,
    name: 'a',
    path: join(dir, 'JPEGImages', 'a.png'),
    maskPath: join(dir, 'SegmentationClass', 'a.png'),
    width: undefined,
    height: undefined,
  });
  const sample = await data.load(1);
  assert.equal(Array.from(sample.mask), Array.from(classes));
  assert.equal([sample.pixels.width, sample.pixels.height], [4, 3]);
  assert.is(await asyncRefusal(() => data.load(0)), `${dir}/SegmentationClass/b.png: is 3×4 but its image b.png is 4×3; a mask has its image's size`);
  rmSync(join(dir, 'SegmentationClass', 'a.png'));
  assert.is(
    refusal(() => openVocSegmentation(dir, { split: 'val' })),
    `${dir}/ImageSets/Segmentation/val.txt: 1 of its 2 masks is not in ${dir}/SegmentationClass: "a.png"`,
  );
});

test.run();
