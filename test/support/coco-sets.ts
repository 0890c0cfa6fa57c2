// Seeded COCO-style ground truth and detections on which the box evaluator is compared with pycocotools. Each set
// is a pure function of its options, so the committed reference figures can be checked against the very data
// they were computed on (test/reference/pycocotools/README.md says how). The sets reach every rule of the
// evaluator: crowds, all three size ranges, annotation areas that differ from the box's, score ties, images
// without ground truth, categories without detections, boxes past the image, boxes of zero or negative size,
// more than 100 detections of one category in an image, and ids that are neither sorted nor start at 1.
import type { CocoAnnotation, CocoDetection } from '../../src/metrics/coco-evaluator.js';
import type { CocoGroundTruth } from '../../src/metrics/coco.js';
import { seededRandom, type Random } from './mutate.js';

export interface CocoSetOptions {
  readonly seed: number;
  readonly images: number;
  /** The categories' ids, in the order the categories list gives them. */
  readonly categoryIds: readonly number[];
  /** Most detections an image gets besides those placed on its objects. */
  readonly clutter: number;
  /** Scores rounded to this step, so that many tie (0 keeps them as drawn). */
  readonly scoreStep: number;
  /** Coordinates on whole pixels, so that IoUs of 1/2, 3/4… land exactly on thresholds. */
  readonly integerBoxes: boolean;
  /** The first annotation id; 0 meets pycocotools' reading of id 0 as "no match". */
  readonly firstAnnotationId: number;
  /** Images that get one category's detections by the hundred, past maxDets. */
  readonly crowdedImages: number;
}

export interface CocoSet {
  readonly groundTruth: CocoGroundTruth;
  readonly detections: readonly CocoDetection[];
}

/** The sets the reference figures were computed on. */
export const COCO_REFERENCE_SETS: Readonly<Record<string, CocoSetOptions>> = {
  small: { seed: 11, images: 8, categoryIds: [1, 2, 3], clutter: 4, scoreStep: 0.25, integerBoxes: true, firstAnnotationId: 1, crowdedImages: 0 },
  'random-a': { seed: 2024, images: 50, categoryIds: [1, 2, 3, 4, 5], clutter: 40, scoreStep: 0, integerBoxes: false, firstAnnotationId: 1, crowdedImages: 0 },
  'random-b': {
    seed: 77,
    images: 50,
    categoryIds: [90, 7, 13, 1000, 2],
    clutter: 60,
    scoreStep: 0.05,
    integerBoxes: true,
    firstAnnotationId: 0,
    crowdedImages: 2,
  },
  'random-c': {
    seed: 5,
    images: 60,
    categoryIds: [3, 1, 4, 15, 9],
    clutter: 100,
    scoreStep: 0.01,
    integerBoxes: false,
    firstAnnotationId: 500,
    crowdedImages: 3,
  },
};

/** Object sizes (side in pixels) spanning the small, medium and large ranges. */
const SIDES = [
  [2, 31],
  [33, 95],
  [97, 300],
] as const;

export function cocoSet(options: CocoSetOptions): CocoSet {
  const random = seededRandom(options.seed);
  const coordinate = (value: number) => (options.integerBoxes ? Math.round(value) : value);
  // Clutter scores lower on the whole than detections of objects, as a detector's would.
  const score = (scale = 1) => {
    const drawn = scale * random.next();
    return options.scoreStep > 0 ? Math.round(Math.round(drawn / options.scoreStep) * options.scoreStep * 1e6) / 1e6 : drawn;
  };
  // Image ids are not in ascending order in the file, and skip numbers.
  const images = Array.from({ length: options.images }, (_, i) => ({
    id: 1 + ((i * 37) % options.images) * 3,
    width: 200 + random.int(440),
    height: 160 + random.int(480),
  }));
  // The last category gets ground truth but never a detection.
  const detected = options.categoryIds.slice(0, -1);
  const annotations: CocoAnnotation[] = [];
  const detections: CocoDetection[] = [];
  images.forEach((image, index) => {
    // Every fifth image has no ground truth at all, only detections.
    const objects = index % 5 === 4 ? 0 : 1 + random.int(8);
    for (let o = 0; o < objects; o++) {
      const bbox = objectBox(random, image, coordinate);
      // The set's first object is always found, so that a first annotation id of 0 is met by a match.
      const first = annotations.length === 0;
      const crowd = !first && random.chance(0.08);
      const categoryId = first ? detected[0]! : random.pick(options.categoryIds);
      // A segmentation's area is often smaller than its box's; some are given as the box's exactly.
      const area = random.chance(0.3) ? bbox[2]! * bbox[3]! : bbox[2]! * bbox[3]! * (0.4 + 0.6 * random.next());
      annotations.push({ id: options.firstAnnotationId + annotations.length, image_id: image.id, category_id: categoryId, bbox, area, iscrowd: crowd ? 1 : 0 });
      if (!detected.includes(categoryId)) continue;
      if (first) detections.push({ image_id: image.id, category_id: categoryId, bbox, score: 0.95 });
      for (let n = random.int(4); n > 0; n--) {
        const wrongClass = random.chance(0.15);
        detections.push({
          image_id: image.id,
          category_id: wrongClass ? random.pick(detected) : categoryId,
          bbox: jittered(random, bbox, coordinate),
          score: score(),
        });
      }
    }
    for (let n = random.int(options.clutter + 1); n > 0; n--) {
      detections.push({ image_id: image.id, category_id: random.pick(detected), bbox: clutterBox(random, image, coordinate), score: score(0.7) });
    }
    if (index < options.crowdedImages) {
      const categoryId = detected[index % detected.length]!;
      for (let n = 0; n < 150; n++)
        detections.push({ image_id: image.id, category_id: categoryId, bbox: clutterBox(random, image, coordinate), score: score() });
    }
  });
  // Detections arrive grouped by image in a results file, but not in image order; shuffle whole images.
  const byImage = new Map<number, CocoDetection[]>();
  for (const d of detections) byImage.set(d.image_id, [...(byImage.get(d.image_id) ?? []), d]);
  const imageOrder = [...byImage.keys()].sort((a, b) => ((a * 7919) % 101) - ((b * 7919) % 101) || a - b);
  const categories = options.categoryIds.map((id) => ({ id, name: `class-${id}` }));
  return { groundTruth: { images, annotations, categories }, detections: imageOrder.flatMap((id) => byImage.get(id)!) };
}

type Image = { readonly width: number; readonly height: number };

/** An object of a random size range, now and then reaching past the right or bottom edge. */
function objectBox(random: Random, image: Image, coordinate: (v: number) => number): number[] {
  const [low, high] = random.pick(SIDES);
  const w = coordinate(low + random.next() * (high - low));
  const h = coordinate(low + random.next() * (high - low));
  const x = coordinate(random.next() * Math.max(1, image.width - w * 0.7));
  const y = coordinate(random.next() * Math.max(1, image.height - h * 0.7));
  return [x, y, w, h];
}

/** A detection near an object: shifted and scaled by up to 15% of its size, sometimes exactly on it. */
function jittered(random: Random, [x, y, w, h]: readonly number[], coordinate: (v: number) => number): number[] {
  if (random.chance(0.1)) return [x!, y!, w!, h!];
  const shift = (size: number) => (random.next() - 0.5) * 0.3 * size;
  return [coordinate(x! + shift(w!)), coordinate(y! + shift(h!)), coordinate(w! * (0.85 + 0.3 * random.next())), coordinate(h! * (0.85 + 0.3 * random.next()))];
}

/** A false positive anywhere; a few have zero or negative width or height. */
function clutterBox(random: Random, image: Image, coordinate: (v: number) => number): number[] {
  const box = objectBox(random, image, coordinate);
  if (random.chance(0.03)) box[2] = 0;
  if (random.chance(0.02)) box[3] = -coordinate(5 * random.next());
  return box;
}
