/**
 * COCO detection data: an instances JSON file and its images folder. Images are listed in order of id, as
 * torchvision's CocoDetection and pycocotools' COCOeval (`sorted(getImgIds())`) take them, and each image's
 * annotations in the file's order, as pycocotools' `imgToAnns` keeps them. Segmentations are not read.
 *
 * The images folder, unless given: the folder named like the file's stem without `instances_` beside the folder
 * holding the file (`annotations/instances_val2017.json` → `val2017/`, as COCO ships it), else that folder beside
 * the file itself, else `images/` beside the file.
 */
import { basename, dirname, join } from 'node:path';
import { displayPath } from '../files/display-path.js';
import { readCocoFile, type CocoFile } from './coco-json.js';
import type { Category, DatasetImage, DetectionDataset, DetectionObjects } from './dataset.js';
import { quoted } from '../files/display-path.js';
import { dataFault, decodeRgbFile, requireFolder, statIfAny } from './dataset-files.js';
import { boxWarnings } from './box-warnings.js';

export interface CocoOptions {
  /** The images folder; found beside the annotations file when not given. */
  readonly imagesDir?: string;
  /** Check that every listed image file exists (default true); scoring a results file needs no images. */
  readonly requireImages?: boolean;
  /** Images of more pixels are refused when loaded (default: the decoder's limit). */
  readonly maxPixels?: number;
  /** The most annotations-file bytes read (default COCO_JSON_LIMIT). */
  readonly maxFileBytes?: number;
}

/** How many missing images a message names before counting the rest. */
const NAMED = 3;

/** Opens a COCO detection dataset; every fault of the file or folder is one DataFileError naming it. */
export function openCocoDetection(annotationsPath: string, options: CocoOptions = {}): DetectionDataset {
  const file = readCocoFile(annotationsPath, options.maxFileBytes);
  const fail = (problem: string): never => {
    throw dataFault(annotationsPath, problem);
  };
  const categories = sortedCategories(file.categories, fail);
  const images = sortedImages(file, fail);
  const objects = groupAnnotations(file, images.ids, categories, fail);
  const requireImages = options.requireImages ?? true;
  const imagesDir = options.imagesDir ?? findImagesFolder(annotationsPath, requireImages);
  if (requireImages) {
    requireFolder(imagesDir, `the images that ${displayPath(annotationsPath)} lists`);
    checkImagesExist(annotationsPath, imagesDir, images);
  }
  const image = (index: number): DatasetImage => {
    checkIndex(index, images.ids.length);
    const name = images.fileNames[index]!;
    return { id: images.ids[index]!, name, path: join(imagesDir, name), width: images.widths[index]!, height: images.heights[index]! };
  };
  const objectsOf = (index: number) => {
    checkIndex(index, images.ids.length);
    return objects.of(index);
  };
  return {
    task: 'detection',
    source: `coco:${displayPath(annotationsPath)}`,
    length: images.ids.length,
    categories,
    image,
    objects: objectsOf,
    indexOfImageId: (id) => binarySearch(images.ids, id),
    warnings: boxWarnings(
      displayPath(annotationsPath),
      objects.boxes,
      objects.imageOf,
      images.widths,
      images.heights,
      (a, i) => `annotation id ${objects.annotationIds[a]} of image id ${images.ids[i]}`,
    ),
    load: async (index) => {
      const record = image(index);
      const pixels = await decodeRgbFile(record.path, options.maxPixels);
      if (pixels.width !== record.width || pixels.height !== record.height) {
        throw dataFault(
          record.path,
          `is ${pixels.width}×${pixels.height} but ${displayPath(annotationsPath)} says image id ${record.id} is ${record.width}×${record.height}`,
        );
      }
      return { image: record, pixels, objects: objects.of(index) };
    },
  };
}

function checkIndex(index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) throw new RangeError(`image index ${index} is outside 0 to ${length - 1}`);
}

/** The categories in order of id; two with one id are refused. */
function sortedCategories(categories: readonly Category[], fail: (problem: string) => never): Category[] {
  const first = new Map<number, number>();
  categories.forEach((category, i) => {
    const earlier = first.get(category.id);
    if (earlier !== undefined) fail(`$.categories[${i}].id is ${category.id}, which $.categories[${earlier}] has too`);
    first.set(category.id, i);
  });
  return [...categories].sort((a, b) => a.id - b.id);
}

interface SortedImages {
  readonly ids: Float64Array;
  readonly widths: Uint32Array;
  readonly heights: Uint32Array;
  readonly fileNames: readonly string[];
}

/** The images in order of id; two with one id are refused, naming both records. */
function sortedImages({ images }: CocoFile, fail: (problem: string) => never): SortedImages {
  const order = Uint32Array.from({ length: images.count }, (_, i) => i).sort((a, b) => images.ids[a]! - images.ids[b]! || a - b);
  for (let k = 1; k < order.length; k++) {
    const [a, b] = [order[k - 1]!, order[k]!];
    if (images.ids[a] === images.ids[b]) fail(`$.images[${b}].id is ${images.ids[b]}, which $.images[${a}] has too`);
  }
  return {
    ids: Float64Array.from(order, (i) => images.ids[i]!),
    widths: Uint32Array.from(order, (i) => images.widths[i]!),
    heights: Uint32Array.from(order, (i) => images.heights[i]!),
    fileNames: Array.from(order, (i) => images.fileNames[i]!),
  };
}

/** The position of `value` in ascending `sorted`, or undefined. */
function binarySearch(sorted: Float64Array, value: number): number | undefined {
  let [low, high] = [0, sorted.length - 1];
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = sorted[middle]!;
    if (at === value) return middle;
    if (at < value) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

/** The annotations grouped by image (in the file's order within each), as columns with an offset per image. */
interface GroupedAnnotations {
  readonly boxes: Float64Array;
  readonly annotationIds: Float64Array;
  /** Each annotation's image position. */
  readonly imageOf: Uint32Array;
  of(index: number): DetectionObjects;
}

function groupAnnotations(
  { annotations: a }: CocoFile,
  imageIds: Float64Array,
  categories: readonly Category[],
  fail: (problem: string) => never,
): GroupedAnnotations {
  checkUniqueAnnotationIds(a.ids, fail);
  const categoryIds = Float64Array.from(categories, (c) => c.id);
  const imageOf = new Uint32Array(a.count);
  const labelOf = new Int32Array(a.count);
  const starts = new Uint32Array(imageIds.length + 1);
  for (let k = 0; k < a.count; k++) {
    const image = binarySearch(imageIds, a.imageIds[k]!);
    if (image === undefined) fail(`$.annotations[${k}] (id ${a.ids[k]}) names image id ${a.imageIds[k]}, which $.images lacks`);
    const label = binarySearch(categoryIds, a.categoryIds[k]!);
    if (label === undefined) fail(`$.annotations[${k}] (id ${a.ids[k]}) names category id ${a.categoryIds[k]}, which $.categories lacks`);
    imageOf[k] = image!;
    labelOf[k] = label!;
    starts[image! + 1]!++;
  }
  for (let i = 0; i < imageIds.length; i++) starts[i + 1]! += starts[i]!;
  // A stable placement: each image's annotations keep the file's order.
  const placed = starts.slice(0, imageIds.length);
  const position = new Uint32Array(a.count);
  for (let k = 0; k < a.count; k++) position[k] = placed[imageOf[k]!]!++;
  const grouped = {
    ids: new Float64Array(a.count),
    labels: new Int32Array(a.count),
    boxes: new Float64Array(4 * a.count),
    areas: new Float64Array(a.count),
    crowd: new Uint8Array(a.count),
    imageOf: new Uint32Array(a.count),
  };
  for (let k = 0; k < a.count; k++) {
    const p = position[k]!;
    grouped.ids[p] = a.ids[k]!;
    grouped.labels[p] = labelOf[k]!;
    grouped.boxes.set(a.boxes.subarray(4 * k, 4 * k + 4), 4 * p);
    grouped.areas[p] = a.areas[k]!;
    grouped.crowd[p] = a.crowd[k]!;
    grouped.imageOf[p] = imageOf[k]!;
  }
  return {
    boxes: grouped.boxes,
    annotationIds: grouped.ids,
    imageOf: grouped.imageOf,
    of: (index) => {
      const [start, end] = [starts[index]!, starts[index + 1]!];
      const labels = grouped.labels.slice(start, end);
      return {
        count: end - start,
        boxes: grouped.boxes.slice(4 * start, 4 * end),
        categoryIds: Float64Array.from(labels, (label) => categories[label]!.id),
        labels,
        areas: grouped.areas.slice(start, end),
        crowd: grouped.crowd.slice(start, end),
        difficult: new Uint8Array(end - start),
        annotationIds: grouped.ids.slice(start, end),
      };
    },
  };
}

/** Two annotations with one id are refused (pycocotools' index would keep only the later), naming both records. */
function checkUniqueAnnotationIds(ids: Float64Array, fail: (problem: string) => never): void {
  const sorted = ids.slice().sort();
  for (let k = 1; k < sorted.length; k++) {
    if (sorted[k] !== sorted[k - 1]) continue;
    const first = ids.indexOf(sorted[k]!);
    const second = ids.indexOf(sorted[k]!, first + 1);
    fail(`$.annotations[${second}].id is ${sorted[k]}, which $.annotations[${first}] has too`);
  }
}

/**
 * Where the images are when not given; none found is one line naming the folders looked for, unless the images are
 * not required (scoring a results file), when the first place looked is taken.
 */
function findImagesFolder(annotationsPath: string, required = true): string {
  const stem = basename(annotationsPath)
    .replace(/\.json$/i, '')
    .replace(/^instances_/, '');
  const here = dirname(annotationsPath);
  const candidates = [join(dirname(here), stem), join(here, stem), join(here, 'images')];
  for (const candidate of candidates) {
    const stats = statIfAny(candidate);
    if (stats?.isDirectory()) return candidate;
    // A pipe or file where the folder should be is named, not passed over.
    if (stats !== undefined) requireFolder(candidate, `the images that ${displayPath(annotationsPath)} lists`);
  }
  if (!required) return candidates[0]!;
  throw dataFault(
    annotationsPath,
    `no images folder found at ${candidates.map(displayPath).join(', ')}; name it after the file: coco:${displayPath(annotationsPath)}:IMAGES_DIR`,
  );
}

/** Every listed image must be a file: missing ones are refused, counted, with the first few named. */
function checkImagesExist(annotationsPath: string, imagesDir: string, images: SortedImages): void {
  const missing: number[] = [];
  images.fileNames.forEach((name, i) => {
    const path = join(imagesDir, name);
    const stats = statIfAny(path);
    if (stats === undefined) missing.push(i);
    else if (!stats.isFile())
      throw dataFault(
        path,
        `is ${stats.isDirectory() ? 'a folder' : 'a device, pipe or socket'}, not an image file (image id ${images.ids[i]} of ${displayPath(annotationsPath)})`,
      );
  });
  if (missing.length === 0) return;
  const named = missing.slice(0, NAMED).map((i) => `${quoted(images.fileNames[i]!)} (image id ${images.ids[i]})`);
  const more = missing.length > NAMED ? `, and ${missing.length - NAMED} more` : '';
  const count = `${missing.length} of its ${images.fileNames.length} images ${missing.length === 1 ? 'is' : 'are'}`;
  throw dataFault(
    annotationsPath,
    `${count} not in ${displayPath(imagesDir)}: ${named.join(', ')}${more}; every listed image is scored, so each must be there`,
  );
}
