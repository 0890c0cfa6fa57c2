// Image folders drawn by the tests: classes of shapes in random colours, as JPEG and PNG (RGB, RGBA and grey), at
// mixed sizes, so that a run has something learnable that is not in any file shipped with the repository.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { mulberry32 } from '../../src/random/mulberry32.js';

export const SHAPES = ['disc', 'hbar', 'vbar'] as const;
const SIZES = [
  [40, 40],
  [48, 36],
  [30, 52],
  [64, 64],
] as const;

/** RGBA pixels of one shape: a bright shape in a random colour on a dark background, jittered in place and size. */
export function drawShape(shape: (typeof SHAPES)[number], width: number, height: number, random: () => number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  const colour = [0, 1, 2].map(() => 140 + Math.floor(random() * 116));
  const cx = width * (0.4 + 0.2 * random());
  const cy = height * (0.4 + 0.2 * random());
  const side = Math.min(width, height);
  const r = side * (0.25 + 0.1 * random());
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const inside =
        shape === 'disc'
          ? dx * dx + dy * dy < r * r
          : shape === 'hbar'
            ? Math.abs(dy) < side * 0.1 && Math.abs(dx) < r * 1.5
            : Math.abs(dx) < side * 0.1 && Math.abs(dy) < r * 1.5;
      const i = 4 * (y * width + x);
      for (let c = 0; c < 3; c++) data[i + c] = inside ? colour[c]! : Math.floor(random() * 40);
      data[i + 3] = 255;
    }
  }
  return data;
}

/** The image as a file: JPEG, or PNG of colour type 2 (RGB), 6 (RGBA) or 0 (grey), chosen by `mode`. */
export function encodeImage(rgba: Uint8Array, width: number, height: number, mode: number): { bytes: Uint8Array; ext: string } {
  if (mode % 4 === 0) return { bytes: jpeg.encode({ data: rgba, width, height }, 90).data, ext: 'jpg' };
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  const colorType = [2, 6, 0][(mode % 4) - 1] as 0 | 2 | 6;
  return { bytes: PNG.sync.write(png, { colorType }), ext: 'png' };
}

/** Writes `perClass` drawn images of each shape into DIR/<shape>/ (or under DIR/<split>/ for each split given). */
export function writeShapeFolder(dir: string, perClass: number, seed = 1, split?: string): void {
  const random = mulberry32(seed);
  for (const shape of SHAPES) {
    const folder = split ? join(dir, split, shape) : join(dir, shape);
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const [width, height] = SIZES[i % SIZES.length]!;
      const { bytes, ext } = encodeImage(drawShape(shape, width, height, random), width, height, i);
      writeFileSync(join(folder, `${shape}-${String(i).padStart(3, '0')}.${ext}`), bytes);
    }
  }
}
