// Scenes for detection and segmentation tests: discs, squares and triangles on textured backgrounds, drawn from a
// seed. Objects overlap (a later one hides what it covers), come small (< 32² pixels) and medium, one large where
// the image is big enough, and some images hold a crowd: a cluster of tiny discs annotated as one region.

/** The scene classes: COCO category ids with gaps (so mappings are exercised), mask values 1 to 3 after background. */
export const SCENE_CLASSES = [
  { name: 'disc', cocoId: 1, colour: [200, 40, 40] },
  { name: 'square', cocoId: 3, colour: [40, 170, 60] },
  { name: 'triangle', cocoId: 6, colour: [50, 70, 210] },
] as const;

export interface SceneObject {
  /** Index into SCENE_CLASSES; the mask value is this + 1. */
  readonly label: number;
  /** The visible pixels' tight box, [x, y, width, height] in whole pixels. */
  readonly box: readonly [number, number, number, number];
  /** Visible pixels. */
  readonly area: number;
  /** A crowd region (COCO iscrowd = 1; VOC difficult). */
  readonly crowd: boolean;
  /** 1 where the object is visible, row by row. */
  readonly mask: Uint8Array;
}

export interface Scene {
  readonly width: number;
  readonly height: number;
  /** RGB, row by row. */
  readonly pixels: Uint8Array;
  readonly objects: readonly SceneObject[];
  /** Each pixel's class (0 background, label + 1 an object), 255 on each object's one-pixel inner border. */
  readonly classes: Uint8Array;
}

type Random = () => number;

/** mulberry32: a small, well-mixed generator, so scenes are the same on every machine. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (random: Random, low: number, high: number) => low + Math.floor(random() * (high - low + 1));

/** A shape as a test of pixel centres. */
type Shape = (x: number, y: number) => boolean;

interface Placed {
  readonly label: number;
  readonly crowd: boolean;
  readonly shapes: readonly Shape[];
}

/** COCO's large objects cover more than 96² pixels. */
const LARGE_AREA = 96 * 96;

/**
 * Draws the next scene of `random`: `large` asks for one large object at the bottom (with two small ones on top, so
 * it stays large; none where the image cannot hold one), `crowd` for a crowd region drawn last.
 */
export function drawScene(random: Random, width: number, height: number, { large, crowd }: { large: boolean; crowd: boolean }): Scene {
  const placed: Placed[] = [];
  const bigSide = [width - 6, height - 6];
  if (large && bigSide[0]! * bigSide[1]! > LARGE_AREA + 1200) placed.push({ label: 1, crowd: false, shapes: [rectangle(3, 3, bigSide[0]!, bigSide[1]!)] });
  const count = large ? 2 : between(random, 2, 4);
  for (let i = 0; i < count; i++) placed.push(randomObject(random, width, height, large || random() < 0.5 ? 'small' : 'medium'));
  if (crowd) placed.push(crowdOf(random, width, height));
  const owner = new Int16Array(width * height).fill(-1);
  placed.forEach((object, o) => {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (object.shapes.some((inside) => inside(x + 0.5, y + 0.5))) owner[y * width + x] = o;
  });
  const objects = placed.map((object, o) => visible(object, o, owner, width, height)).filter((object): object is SceneObject => object !== undefined);
  const border = borders(owner, width, height);
  return { width, height, pixels: paint(random, placed, owner, border, width, height), objects, classes: classMap(placed, owner, border) };
}

function rectangle(x: number, y: number, w: number, h: number): Shape {
  return (px, py) => px >= x && px < x + w && py >= y && py < y + h;
}

function disc(cx: number, cy: number, r: number): Shape {
  return (px, py) => (px - cx) ** 2 + (py - cy) ** 2 <= r * r;
}

/** An upright triangle: apex at the top centre, base along the bottom. */
function triangle(x: number, y: number, side: number): Shape {
  const h = Math.round(side * 0.87);
  return (px, py) => py >= y && py < y + h && Math.abs(px - (x + side / 2)) <= ((py - y) / h) * (side / 2);
}

/** Small: up to 24 pixels across (area < 32²); medium: 36 to 60 across (area 32² to 96²). */
function randomObject(random: Random, width: number, height: number, size: 'small' | 'medium'): Placed {
  const label = between(random, 0, SCENE_CLASSES.length - 1);
  const side = Math.min(size === 'small' ? between(random, 8, 24) : between(random, 36, 60), width - 2, height - 2);
  const x = between(random, 0, width - side);
  const y = between(random, 0, height - side);
  const shape = label === 0 ? disc(x + side / 2, y + side / 2, side / 2) : label === 1 ? rectangle(x, y, side, side) : triangle(x, y, side);
  return { label, crowd: false, shapes: [shape] };
}

/** Five to eight discs of radius 2 to 3 within a 30-pixel patch: one crowd region of discs. */
function crowdOf(random: Random, width: number, height: number): Placed {
  const [x0, y0] = [between(random, 0, width - 30), between(random, 0, height - 30)];
  const shapes = Array.from({ length: between(random, 5, 8) }, () => disc(x0 + 3 + random() * 24, y0 + 3 + random() * 24, 2 + random()));
  return { label: 0, crowd: true, shapes };
}

/** What is left of an object once later ones cover it; nearly hidden objects (under 6 pixels) are dropped. */
function visible(object: Placed, o: number, owner: Int16Array, width: number, height: number): SceneObject | undefined {
  const mask = new Uint8Array(width * height);
  let [x0, y0, x1, y1, area] = [width, height, -1, -1, 0];
  for (let p = 0; p < owner.length; p++) {
    if (owner[p] !== o) continue;
    const [x, y] = [p % width, Math.floor(p / width)];
    mask[p] = 1;
    area++;
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  if (area < 6) return undefined;
  return { label: object.label, crowd: object.crowd, box: [x0, y0, x1 - x0 + 1, y1 - y0 + 1], area, mask };
}

/**
 * Background texture (gradient, stripes at a random angle, noise) under shaded objects of their class's colour,
 * each outlined a little darker so that objects of one class stay apart where they overlap.
 */
function paint(random: Random, placed: readonly Placed[], owner: Int16Array, border: Uint8Array, width: number, height: number): Uint8Array {
  const base = [between(random, 90, 170), between(random, 90, 170), between(random, 90, 170)];
  const angle = random() * Math.PI;
  const period = between(random, 5, 14);
  const tints = placed.map(() => between(random, -25, 25));
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const o = owner[p]!;
      const stripe = Math.sin(((x * Math.cos(angle) + y * Math.sin(angle)) * 2 * Math.PI) / period) * 18;
      const noise = (random() - 0.5) * 16;
      for (let c = 0; c < 3; c++) {
        const object = () => SCENE_CLASSES[placed[o]!.label]!.colour[c]! + tints[o]! - (y / height) * 20 - border[p]! * 60;
        const value = (o < 0 ? base[c]! + stripe + (y / height - 0.5) * 40 : object()) + noise;
        pixels[3 * p + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return pixels;
}

/** 1 on each object's inner border: its pixels next to (left, right, above, below) another owner's. */
function borders(owner: Int16Array, width: number, height: number): Uint8Array {
  const border = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const o = owner[p]!;
      if (o < 0) continue;
      border[p] =
        (x > 0 && owner[p - 1] !== o) ||
        (x < width - 1 && owner[p + 1] !== o) ||
        (y > 0 && owner[p - width] !== o) ||
        (y < height - 1 && owner[p + width] !== o)
          ? 1
          : 0;
    }
  }
  return border;
}

/** The semantic mask: each pixel's class, 255 (ignore) on object borders as VOC marks them. */
function classMap(placed: readonly Placed[], owner: Int16Array, border: Uint8Array): Uint8Array {
  return Uint8Array.from(owner, (o, p) => (o < 0 ? 0 : border[p] ? 255 : placed[o]!.label + 1));
}
