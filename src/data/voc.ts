/**
 * Pascal VOC's layout (`VOCdevkit/VOC2012`): `Annotations/<id>.xml`, `JPEGImages/<id>.jpg` (netspec also takes .jpeg
 * and .png), `SegmentationClass/<id>.png` palette masks, and the splits as lists of ids in `ImageSets/Main/` (detection)
 * and `ImageSets/Segmentation/` (segmentation). A split's images come in its file's order, as torchvision's VOC
 * datasets take them; without a split, every annotation file (or mask) in order of name. The classes are VOC's 20
 * after background, or those of a `labelmap.txt` beside the folders.
 */
import { join } from 'node:path';
import { displayPath } from '../files/display-path.js';
import { boxWarnings } from './box-warnings.js';
import type { Category, DatasetImage, DetectionDataset, DetectionObjects, MaskedImage, SegmentationDataset } from './dataset.js';
import { quoted } from '../files/display-path.js';
import { dataFault, decodeRgbFile, isFolder, listFiles, readDataFile, requireFolder, splitExtension, statIfAny } from './dataset-files.js';
import { LABELMAP_FILE, vocClassNames } from './labelmap.js';
import { requireFiles, segmentationDataset } from './segmentation-set.js';
import { readVocAnnotation, type VocObject } from './voc-xml.js';

export interface VocOptions {
  /** A split listed in ImageSets (`train`, `val`, …); every annotated image when not given. */
  readonly split?: string;
  /** Check that every image file exists (default true); scoring a results file needs no images. */
  readonly requireImages?: boolean;
  /** Images of more pixels are refused when loaded (default: the decoder's limit). */
  readonly maxPixels?: number;
}

type VocTask = 'detection' | 'segmentation';
const LAYOUT = {
  detection: { annotations: 'Annotations', extension: '.xml', sets: join('ImageSets', 'Main') },
  segmentation: { annotations: 'SegmentationClass', extension: '.png', sets: join('ImageSets', 'Segmentation') },
} as const;
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];
/** The folders of VOCdevkit, suggested when it is named instead of one of them. */
const VOC_YEARS = ['VOC2007', 'VOC2008', 'VOC2009', 'VOC2010', 'VOC2011', 'VOC2012'];
/** Split files list ids, some tens of bytes a line: 16 MiB holds a million. */
const SPLIT_FILE_LIMIT = 16 * 2 ** 20;

/** Opens VOC detection data; every fault of its files is one DataFileError naming the file (and the object). */
export function openVocDetection(dir: string, options: VocOptions = {}): DetectionDataset {
  requireVocFolder(dir, 'detection');
  const classNames = vocClassNames(dir);
  const categories: Category[] = classNames.map((name, id) => ({ id, name })).filter((c) => c.name.toLowerCase() !== 'background');
  const ids = vocIds(dir, 'detection', options.split);
  const annotations = ids.map((id) => readVocAnnotation(join(dir, 'Annotations', `${id}.xml`)));
  const images: DatasetImage[] = ids.map((id, i) => ({
    id: i + 1,
    name: id,
    path: imagePath(dir, id),
    width: annotations[i]!.width,
    height: annotations[i]!.height,
  }));
  if (options.requireImages ?? true)
    requireFiles(
      splitListing(dir, 'detection', options.split),
      displayPath(join(dir, 'JPEGImages')),
      images.map((image) => image.path),
      'images',
    );
  const objects = vocObjects(
    dir,
    ids,
    annotations.map((a) => a.objects),
    categories,
  );
  const describe = (box: number, image: number) => `object ${box - objects.starts[image]! + 1} of ${quoted(`${ids[image]}.xml`)}`;
  const widths = Uint32Array.from(images, (image) => image.width ?? 0);
  const heights = Uint32Array.from(images, (image) => image.height ?? 0);
  const image = (index: number): DatasetImage => {
    const found = images[index];
    if (!Number.isInteger(index) || found === undefined) throw new RangeError(`image index ${index} is outside 0 to ${images.length - 1}`);
    return found;
  };
  return {
    task: 'detection',
    source: `voc:${displayPath(dir)}`,
    length: images.length,
    categories,
    image,
    objects: (index) => {
      image(index);
      return objects.of(index);
    },
    indexOfImageId: (id) => (Number.isInteger(id) && id >= 1 && id <= images.length ? id - 1 : undefined),
    warnings: boxWarnings(displayPath(join(dir, 'Annotations')), objects.boxes, objects.imageOf, widths, heights, describe),
    load: async (index) => {
      const record = image(index);
      const pixels = await decodeRgbFile(record.path, options.maxPixels);
      if ((record.width !== undefined && pixels.width !== record.width) || (record.height !== undefined && pixels.height !== record.height)) {
        throw dataFault(record.path, `is ${pixels.width}×${pixels.height} but ${record.name}.xml gives its <size> as ${record.width}×${record.height}`);
      }
      return { image: record, pixels, objects: objects.of(index) };
    },
  };
}

/** Opens VOC segmentation data: each listed id's image and SegmentationClass mask, checked to exist. */
export function openVocSegmentation(dir: string, options: VocOptions = {}): SegmentationDataset {
  requireVocFolder(dir, 'segmentation');
  const classNames = vocClassNames(dir);
  const ids = vocIds(dir, 'segmentation', options.split);
  const items: MaskedImage[] = ids.map((id, i) => ({
    id: i + 1,
    name: id,
    path: imagePath(dir, id),
    maskPath: join(dir, 'SegmentationClass', `${id}.png`),
    width: undefined,
    height: undefined,
  }));
  const listing = splitListing(dir, 'segmentation', options.split);
  requireFiles(
    listing,
    displayPath(join(dir, 'SegmentationClass')),
    items.map((item) => item.maskPath),
    'masks',
  );
  if (options.requireImages ?? true)
    requireFiles(
      listing,
      displayPath(join(dir, 'JPEGImages')),
      items.map((item) => item.path),
      'images',
    );
  return segmentationDataset(`voc:${displayPath(dir)}`, items, classNames, options.maxPixels);
}

/** The splits that ImageSets lists for the task (`train`, `val`, …; not VOC's per-class lists such as `dog_train`). */
export function vocSplits(dir: string, task: VocTask): string[] {
  const folder = join(dir, LAYOUT[task].sets);
  if (!isFolder(folder)) return [];
  return listFiles(folder)
    .map((file) => splitExtension(file.name))
    .filter(({ stem, extension }) => extension === '.txt' && !stem.includes('_'))
    .map(({ stem }) => stem);
}

function requireVocFolder(dir: string, task: VocTask): void {
  const { annotations } = LAYOUT[task];
  requireFolder(dir, `a Pascal VOC dataset (${annotations}/, JPEGImages/, ImageSets/)`);
  if (statIfAny(join(dir, annotations)) !== undefined) {
    requireFolder(join(dir, annotations), `the ${task} annotations`);
    return;
  }
  const years = VOC_YEARS.filter((name) => isFolder(join(dir, name)));
  const hint = years.length > 0 ? `; it holds ${years.join(', ')}: name one of them, as voc:${displayPath(join(dir, years[0]!))}` : '';
  throw dataFault(dir, `has no ${annotations}/ folder, so it is not a Pascal VOC dataset for ${task}${hint}`);
}

/** The ids of the split (its file's order), or of every annotation file when no split is named. */
function vocIds(dir: string, task: VocTask, split: string | undefined): string[] {
  const { annotations, extension, sets } = LAYOUT[task];
  if (split === undefined) {
    const ids = listFiles(join(dir, annotations))
      .map((file) => splitExtension(file.name))
      .filter((name) => name.extension === extension)
      .map((name) => name.stem);
    if (ids.length === 0) throw dataFault(join(dir, annotations), `holds no ${extension} file`);
    return ids;
  }
  const splits = vocSplits(dir, task);
  if (!splits.includes(split)) {
    const found =
      splits.length === 0 ? `it has no ${sets}/ folder of splits; leave out --split to take every ${annotations} file` : `its splits are ${splits.join(', ')}`;
    throw dataFault(dir, `has no split ${quoted(split)} for ${task} (${join(sets, `${split}.txt`)}); ${found}`);
  }
  return readSplitFile(join(dir, sets, `${split}.txt`));
}

/** The ids a split file lists, one a line; an id twice, or one that is not a plain file name, is refused. */
function readSplitFile(path: string): string[] {
  const text = new TextDecoder().decode(readDataFile(path, SPLIT_FILE_LIMIT, 'split files'));
  const lines = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, i) => {
    const id = line.trim();
    if (id === '') return;
    if (/[\\/\0]/.test(id) || id === '.' || id === '..')
      throw dataFault(path, `line ${i + 1} is ${quoted(id)}, not an image id (a file name without its extension)`);
    const earlier = lines.get(id);
    if (earlier !== undefined) throw dataFault(path, `line ${i + 1} lists the id ${quoted(id)} that line ${earlier} lists already`);
    lines.set(id, i + 1);
  });
  if (lines.size === 0) throw dataFault(path, 'lists no image id');
  return [...lines.keys()];
}

function splitListing(dir: string, task: VocTask, split: string | undefined): string {
  const { annotations, sets } = LAYOUT[task];
  return split === undefined ? join(dir, annotations) : join(dir, sets, `${split}.txt`);
}

/** JPEGImages/<id> with the first of .jpg, .jpeg and .png that exists (.jpg when none does). */
function imagePath(dir: string, id: string): string {
  const candidates = IMAGE_EXTENSIONS.map((extension) => join(dir, 'JPEGImages', `${id}${extension}`));
  return candidates.find((path) => statIfAny(path) !== undefined) ?? candidates[0]!;
}

interface VocColumns {
  readonly boxes: Float64Array;
  readonly imageOf: Uint32Array;
  /** Each image's first object. */
  readonly starts: Uint32Array;
  of(index: number): DetectionObjects;
}

/**
 * The objects as columns, boxes converted to COCO's [x, y, width, height] from 0: VOC's xmin and ymin are 1-based
 * and xmax, ymax inclusive, so x = xmin − 1, y = ymin − 1, width = xmax − xmin + 1, height = ymax − ymin + 1, as
 * torchvision's references and detectron2 convert them. A class that the class list lacks is refused.
 */
function vocObjects(dir: string, ids: readonly string[], perImage: readonly (readonly VocObject[])[], categories: readonly Category[]): VocColumns {
  const starts = new Uint32Array(ids.length + 1);
  perImage.forEach((objects, i) => (starts[i + 1] = starts[i]! + objects.length));
  const count = starts[ids.length]!;
  const columns = { boxes: new Float64Array(4 * count), labels: new Int32Array(count), difficult: new Uint8Array(count), imageOf: new Uint32Array(count) };
  const known = new Map(categories.map((category, label) => [category.name, label]));
  perImage.forEach((objects, i) => {
    objects.forEach((object, j) => {
      const k = starts[i]! + j;
      const label = known.get(object.name);
      if (label === undefined) throw unknownClass(dir, ids[i]!, j, object.name, categories);
      columns.boxes.set([object.xmin - 1, object.ymin - 1, object.xmax - object.xmin + 1, object.ymax - object.ymin + 1], 4 * k);
      columns.labels[k] = label;
      columns.difficult[k] = object.difficult ? 1 : 0;
      columns.imageOf[k] = i;
    });
  });
  return {
    boxes: columns.boxes,
    imageOf: columns.imageOf,
    starts,
    of: (index) => {
      const [start, end] = [starts[index]!, starts[index + 1]!];
      const boxes = columns.boxes.slice(4 * start, 4 * end);
      const labels = columns.labels.slice(start, end);
      return {
        count: end - start,
        boxes,
        categoryIds: Float64Array.from(labels, (label) => categories[label]!.id),
        labels,
        areas: Float64Array.from({ length: end - start }, (_, j) => boxes[4 * j + 2]! * boxes[4 * j + 3]!),
        crowd: new Uint8Array(end - start),
        difficult: columns.difficult.slice(start, end),
        annotationIds: Float64Array.from({ length: end - start }, (_, j) => start + j + 1),
      };
    },
  };
}

function unknownClass(dir: string, id: string, object: number, name: string, categories: readonly Category[]): Error {
  const listed = categories.map((c) => c.name);
  const shown = listed.length > 6 ? `${listed.slice(0, 5).join(', ')}, …` : listed.join(', ');
  const source =
    statIfAny(join(dir, LABELMAP_FILE)) === undefined
      ? `VOC's ${listed.length} classes (${shown}); a dataset of other classes names them in ${LABELMAP_FILE}`
      : `the ${listed.length} classes of ${LABELMAP_FILE} (${shown})`;
  return dataFault(join(dir, 'Annotations', `${id}.xml`), `object ${object + 1} is a ${quoted(name)}, not one of ${source}`);
}
