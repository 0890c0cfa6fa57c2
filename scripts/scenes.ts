// The scene dataset: scenes drawn from a seed (scripts/scene-draw.ts), written in the three layouts netspec reads —
// COCO (annotations/instances_<split>.json beside <split>/), Pascal VOC (Annotations/, JPEGImages/,
// SegmentationClass/, ImageSets/, labelmap.txt) and a mask folder (<split>/images/, <split>/masks/) — with train and
// val splits. Every layout holds the very same image files (a third PNG, the rest JPEG).
//
//   npx tsx scripts/scenes.ts OUT_DIR [--seed 1] [--train 24] [--val 8] [--width 128] [--height 96]
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { encodeMaskPng, vocPalette } from '../src/data/mask-png.js';
import { encodePng } from '../src/runtime/images/png.js';
import { drawScene, SCENE_CLASSES, seededRandom, type Scene } from './scene-draw.js';

export interface SceneOptions {
  readonly seed?: number;
  readonly train?: number;
  readonly val?: number;
  readonly width?: number;
  readonly height?: number;
  /** `png` writes every image losslessly, so that any two decoders read the very same pixels; default a third PNG, the rest JPEG. */
  readonly formats?: 'mixed' | 'png';
}

export interface WrittenScene extends Scene {
  /** The file stem, `scene_0007`. */
  readonly name: string;
  /** The COCO image id (1-based over both splits). */
  readonly id: number;
  readonly split: 'train' | 'val';
  readonly format: 'png' | 'jpeg';
}

export interface SceneDataset {
  readonly scenes: readonly WrittenScene[];
  /** The --data values of each layout: COCO's per split, VOC's and the mask folder's with --split. */
  readonly coco: { readonly train: string; readonly val: string };
  readonly voc: string;
  readonly masks: string;
}

const JPEG_QUALITY = 92;
/** The mask layout's classes by value, in labelmap.txt's format (name:r,g,b::). */
const LABELS = ['background', ...SCENE_CLASSES.map((c) => c.name)];

/** Draws the scenes and writes all three layouts into `dir` (created if absent; it must be empty). */
export function writeSceneDataset(dir: string, options: SceneOptions = {}): SceneDataset {
  const { seed = 1, train = 24, val = 8, width = 128, height = 96, formats = 'mixed' } = options;
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new Error(`${dir} is not empty; the scene dataset is written into an empty folder`);
  const random = seededRandom(seed);
  const scenes: WrittenScene[] = Array.from({ length: train + val }, (_, i) => ({
    ...drawScene(random, width, height, { large: i % 5 === 4, crowd: i % 4 === 1 }),
    name: `scene_${String(i).padStart(4, '0')}`,
    id: i + 1,
    split: i < train ? 'train' : 'val',
    format: formats === 'png' || i % 3 === 2 ? 'png' : 'jpeg',
  }));
  const files = scenes.map(encodeImage);
  writeCoco(join(dir, 'coco'), scenes, files);
  writeVoc(join(dir, 'voc'), scenes, files);
  writeMaskFolder(join(dir, 'masks'), scenes, files);
  const annotations = (split: string) => `coco:${join(dir, 'coco', 'annotations', `instances_${split}.json`)}`;
  return { scenes, coco: { train: annotations('train'), val: annotations('val') }, voc: `voc:${join(dir, 'voc')}`, masks: `masks:${join(dir, 'masks')}` };
}

function encodeImage(scene: WrittenScene): { name: string; bytes: Uint8Array } {
  const image = { width: scene.width, height: scene.height, channels: 3 as const, data: scene.pixels };
  if (scene.format === 'png') return { name: `${scene.name}.png`, bytes: encodePng(image) };
  const rgba = new Uint8Array(scene.width * scene.height * 4).fill(255);
  for (let p = 0; p < scene.width * scene.height; p++) rgba.set(scene.pixels.subarray(3 * p, 3 * p + 3), 4 * p);
  return { name: `${scene.name}.jpg`, bytes: jpeg.encode({ width: scene.width, height: scene.height, data: rgba }, JPEG_QUALITY).data };
}

function write(path: string, bytes: Uint8Array | string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
}

/**
 * COCO: images listed from the highest id down and annotations interleaved across images (all first objects, then
 * all second ones), so a reader must order them itself; segmentations as uncompressed RLE, column by column.
 */
function writeCoco(dir: string, scenes: readonly WrittenScene[], files: readonly { name: string; bytes: Uint8Array }[]): void {
  for (const split of ['train', 'val'] as const) {
    const chosen = scenes.map((scene, i) => ({ scene, file: files[i]! })).filter(({ scene }) => scene.split === split);
    const depth = Math.max(...chosen.map(({ scene }) => scene.objects.length));
    const annotations = [];
    for (let k = 0; k < depth; k++) {
      for (const { scene } of chosen) {
        const object = scene.objects[k];
        if (object === undefined) continue;
        const segmentation = { counts: columnRuns(object.mask, scene.width, scene.height), size: [scene.height, scene.width] };
        annotations.push({
          id: 100 * scene.id + k,
          image_id: scene.id,
          category_id: SCENE_CLASSES[object.label]!.cocoId,
          bbox: object.box,
          area: object.area,
          iscrowd: object.crowd ? 1 : 0,
          segmentation,
        });
      }
    }
    const images = chosen.map(({ scene, file }) => ({ id: scene.id, file_name: file.name, width: scene.width, height: scene.height })).reverse();
    const categories = SCENE_CLASSES.map((c) => ({ id: c.cocoId, name: c.name, supercategory: 'shape' }));
    write(
      join(dir, 'annotations', `instances_${split}.json`),
      JSON.stringify({ info: { description: 'netspec scene dataset' }, images, annotations, categories }),
    );
    for (const { file } of chosen) write(join(dir, split, file.name), file.bytes);
  }
}

/** COCO's uncompressed RLE: run lengths over the mask read column by column, starting with a run of zeros. */
function columnRuns(mask: Uint8Array, width: number, height: number): number[] {
  const runs: number[] = [];
  let [value, run] = [0, 0];
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      if (mask[y * width + x] === value) {
        run++;
        continue;
      }
      runs.push(run);
      value = 1 - value;
      run = 1;
    }
  }
  runs.push(run);
  return runs;
}

/** VOC: 1-based inclusive boxes (xmin = x + 1, xmax = x + width), crowds as difficult, truncated at the edges. */
function writeVoc(dir: string, scenes: readonly WrittenScene[], files: readonly { name: string; bytes: Uint8Array }[]): void {
  const palette = vocPalette();
  scenes.forEach((scene, i) => {
    const objects = scene.objects.map((o) => {
      const [x, y, w, h] = o.box;
      const truncated = x === 0 || y === 0 || x + w === scene.width || y + h === scene.height ? 1 : 0;
      const box = `<bndbox><xmin>${x + 1}</xmin><ymin>${y + 1}</ymin><xmax>${x + w}</xmax><ymax>${y + h}</ymax></bndbox>`;
      return `  <object><name>${SCENE_CLASSES[o.label]!.name}</name><truncated>${truncated}</truncated><difficult>${o.crowd ? 1 : 0}</difficult>${box}</object>`;
    });
    const size = `<size><width>${scene.width}</width><height>${scene.height}</height><depth>3</depth></size>`;
    write(
      join(dir, 'Annotations', `${scene.name}.xml`),
      `<annotation>\n  <filename>${files[i]!.name}</filename>\n  ${size}\n${objects.join('\n')}\n</annotation>\n`,
    );
    write(join(dir, 'JPEGImages', files[i]!.name), files[i]!.bytes);
    write(join(dir, 'SegmentationClass', `${scene.name}.png`), encodeMaskPng({ width: scene.width, height: scene.height, classes: scene.classes }, palette));
  });
  const list = (split?: string) =>
    `${scenes
      .filter((s) => split === undefined || s.split === split)
      .map((s) => s.name)
      .join('\n')}\n`;
  for (const sets of ['Main', 'Segmentation']) {
    write(join(dir, 'ImageSets', sets, 'train.txt'), list('train'));
    write(join(dir, 'ImageSets', sets, 'val.txt'), list('val'));
    write(join(dir, 'ImageSets', sets, 'trainval.txt'), list());
  }
  write(join(dir, 'labelmap.txt'), labelmap(palette));
}

/** Masks alternate between palette and grey PNGs, so both kinds are read. */
function writeMaskFolder(dir: string, scenes: readonly WrittenScene[], files: readonly { name: string; bytes: Uint8Array }[]): void {
  const palette = vocPalette();
  scenes.forEach((scene, i) => {
    write(join(dir, scene.split, 'images', files[i]!.name), files[i]!.bytes);
    const mask = { width: scene.width, height: scene.height, classes: scene.classes };
    write(join(dir, scene.split, 'masks', `${scene.name}.png`), encodeMaskPng(mask, i % 2 === 0 ? palette : undefined));
  });
  write(join(dir, 'labelmap.txt'), labelmap(palette));
}

/** Datumaro's labelmap.txt: `name:r,g,b::` a class, its colour the palette's. */
function labelmap(palette: Uint8Array): string {
  const lines = LABELS.map((name, value) => `${name}:${Array.from(palette.subarray(3 * value, 3 * value + 3)).join(',')}::`);
  return `# label:color_rgb:parts:actions\n${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string' }, train: { type: 'string' }, val: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new Error('usage: npx tsx scripts/scenes.ts OUT_DIR [--seed N] [--train N] [--val N] [--width W] [--height H]');
  const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
  const written = writeSceneDataset(positionals[0]!, {
    seed: number(values.seed),
    train: number(values.train),
    val: number(values.val),
    width: number(values.width),
    height: number(values.height),
  });
  const objects = written.scenes.reduce((sum, scene) => sum + scene.objects.length, 0);
  console.log(
    `${written.scenes.length} scenes, ${objects} objects:\n  ${written.coco.train}\n  ${written.coco.val}\n  ${written.voc} (--split train|val|trainval)\n  ${written.masks} (--split train|val)`,
  );
}
