// Resampling exactly as PIL's Image.resize does it for 8-bit images, which torchvision's transforms call: the
// filter widened by the scale when shrinking (antialiasing), coefficients in 22-bit fixed point, a horizontal pass
// rounded to bytes, then a vertical one, and images with alpha resampled premultiplied. Plain TypeScript, portable.
import type { Pixels } from './pixels.js';

export type Interpolation = 'bilinear' | 'bicubic';

/** A region of the source image in pixels; fractional edges are allowed, as PIL's `box` allows them. */
export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Output rows or columns to compute, `[first, first + count)`: a crop taken from the resized image. */
interface Span {
  readonly first: number;
  readonly count: number;
}

const PRECISION_BITS = 32 - 8 - 2;

/** PIL's filters by their support: the triangle (bilinear) and Keys' cubic with a = −0.5 (bicubic). */
const FILTERS: Readonly<Record<Interpolation, { readonly support: number; readonly weight: (x: number) => number }>> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    weight: (value) => {
      const a = -0.5;
      const x = Math.abs(value);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** Per output position: the first source index and the fixed-point weights (PIL's precompute_coeffs and normalize_coeffs_8bpc). */
interface Taps {
  readonly first: Int32Array;
  readonly weights: Int32Array[];
}

function filterTaps(inSize: number, start: number, end: number, outSize: number, span: Span, interpolation: Interpolation): Taps {
  const filter = FILTERS[interpolation];
  const scale = (Math.fround(end) - Math.fround(start)) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const first = new Int32Array(span.count);
  const weights: Int32Array[] = [];
  for (let i = 0; i < span.count; i++) {
    const centre = Math.fround(start) + (span.first + i + 0.5) * scale;
    // C's (int) truncates toward zero; PIL clamps to the whole image, not the box.
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const raw = Array.from({ length: Math.max(0, hi - lo) }, (_, k) => filter.weight((k + lo - centre + 0.5) / filterScale));
    const total = raw.reduce((sum, w) => sum + w, 0);
    const normalised = raw.map((w) => (total !== 0 ? w / total : w));
    first[i] = lo;
    weights.push(Int32Array.from(normalised, (w) => Math.trunc(w < 0 ? -0.5 + w * 2 ** PRECISION_BITS : 0.5 + w * 2 ** PRECISION_BITS)));
  }
  return { first, weights };
}

/** A fixed-point sum back to a byte: PIL's clip8. */
const clip8 = (sum: number): number => Math.min(255, Math.max(0, sum >> PRECISION_BITS));

/**
 * The `box` of an image resized to `width` × `height`, or only the part of that result a crop keeps (`rows` and
 * `columns` of the resized image), as PIL's `image.resize((width, height), filter, box)` followed by a crop
 * computes it: every pixel kept is the byte PIL gives.
 */
export function resample(
  image: Pixels,
  box: Box,
  width: number,
  height: number,
  options: { interpolation?: Interpolation; rows?: Span; columns?: Span } = {},
): Pixels {
  const { interpolation = 'bilinear', rows = { first: 0, count: height }, columns = { first: 0, count: width } } = options;
  const whole = box.left === 0 && box.top === 0 && box.width === image.width && box.height === image.height;
  if (whole && width === image.width && height === image.height)
    return crop(image, { left: columns.first, top: rows.first, width: columns.count, height: rows.count });
  const alpha = image.channels % 2 === 0;
  const source = alpha ? premultiply(image) : image;
  const needHorizontal = width !== image.width || box.left !== 0 || box.width !== width;
  const needVertical = height !== image.height || box.top !== 0 || box.height !== height;
  const horizontal = needHorizontal ? filterTaps(image.width, box.left, box.left + box.width, width, columns, interpolation) : undefined;
  const vertical = needVertical ? filterTaps(image.height, box.top, box.top + box.height, height, rows, interpolation) : undefined;
  // Only the source rows the vertical taps read are resampled across.
  const firstRow = vertical ? vertical.first[0]! : rows.first;
  const lastRow = vertical ? vertical.first[rows.count - 1]! + vertical.weights[rows.count - 1]!.length : rows.first + rows.count;
  const across = horizontal
    ? resampleRows(source, horizontal, firstRow, lastRow)
    : crop(source, { left: columns.first, top: firstRow, width: columns.count, height: lastRow - firstRow });
  const down = vertical ? resampleColumns(across, vertical, firstRow) : across;
  return alpha ? unpremultiply(down) : down;
}

/** The horizontal pass over source rows [firstRow, lastRow), rounded to bytes as PIL rounds between its passes. */
function resampleRows(image: Pixels, taps: Taps, firstRow: number, lastRow: number): Pixels {
  const { channels } = image;
  const width = taps.first.length;
  const out = new Uint8Array((lastRow - firstRow) * width * channels);
  for (let y = firstRow; y < lastRow; y++) {
    const row = y * image.width * channels;
    for (let x = 0; x < width; x++) {
      const weights = taps.weights[x]!;
      const from = row + taps.first[x]! * channels;
      for (let c = 0; c < channels; c++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let k = 0; k < weights.length; k++) sum += image.data[from + k * channels + c]! * weights[k]!;
        out[((y - firstRow) * width + x) * channels + c] = clip8(sum);
      }
    }
  }
  return { width, height: lastRow - firstRow, channels, data: out };
}

/** The vertical pass, over rows that start at source row `firstRow`. */
function resampleColumns(image: Pixels, taps: Taps, firstRow: number): Pixels {
  const { channels, width } = image;
  const height = taps.first.length;
  const stride = width * channels;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const weights = taps.weights[y]!;
    const from = (taps.first[y]! - firstRow) * stride;
    for (let i = 0; i < stride; i++) {
      let sum = 1 << (PRECISION_BITS - 1);
      for (let k = 0; k < weights.length; k++) sum += image.data[from + k * stride + i]! * weights[k]!;
      out[y * stride + i] = clip8(sum);
    }
  }
  return { width, height, channels, data: out };
}

/** A region of whole pixels, copied. */
export function crop(image: Pixels, box: Box): Pixels {
  const { channels } = image;
  const out = new Uint8Array(box.width * box.height * channels);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * image.width + box.left) * channels;
    out.set(image.data.subarray(from, from + box.width * channels), y * box.width * channels);
  }
  return { width: box.width, height: box.height, channels, data: out };
}

/** PIL's RGBA → RGBa (and LA → La): colour times alpha / 255, rounded as its MULDIV255 rounds. */
function premultiply(image: Pixels): Pixels {
  const { channels, data } = image;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += channels) {
    const alpha = data[i + channels - 1]!;
    for (let c = 0; c < channels - 1; c++) {
      const product = data[i + c]! * alpha + 128;
      out[i + c] = ((product >> 8) + product) >> 8;
    }
    out[i + channels - 1] = alpha;
  }
  return { ...image, data: out };
}

/** PIL's RGBa → RGBA: colour × 255 / alpha, truncated and clipped; kept as it is where alpha is 0 or 255. */
function unpremultiply(image: Pixels): Pixels {
  const { channels, data } = image;
  for (let i = 0; i < data.length; i += channels) {
    const alpha = data[i + channels - 1]!;
    if (alpha === 0 || alpha === 255) continue;
    for (let c = 0; c < channels - 1; c++) data[i + c] = Math.min(255, Math.trunc((255 * data[i + c]!) / alpha));
  }
  return image;
}
