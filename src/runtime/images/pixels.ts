// The one pixel type every image function takes — decoders, the image pipeline, drawing, PNG writing — and the
// conversions between channel counts. Portable: plain typed arrays.

/** 8-bit pixels, row by row, channels interleaved: 1 grey, 2 grey and alpha, 3 RGB or 4 RGBA. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array;
}

/** What the decoders return: the same type, under the name the runtime has always exported. */
export type DecodedImage = Pixels;

/** ITU-R BT.601 luma weights in 16-bit fixed point, as PIL's convert('L') applies them: they sum to 65536. */
const LUMA = [19595, 38470, 7471] as const;

/** The luma of an RGB triple as PIL's convert('L') rounds it. */
export const luma = (r: number, g: number, b: number): number => (r * LUMA[0] + g * LUMA[1] + b * LUMA[2] + 0x8000) >> 16;

/**
 * Pixels as `channels` channels, as PIL's convert() makes them: grey from colour by luma, colour from grey by copying,
 * alpha dropped (not composited) or set to 255 where there was none.
 */
export function convertChannels(image: Pixels, channels: 1 | 2 | 3 | 4): Pixels {
  const { data, channels: stride } = image;
  if (stride === channels) return image;
  const count = image.width * image.height;
  const fromGrey = stride <= 2;
  const toGrey = channels <= 2;
  const alpha = channels % 2 === 0;
  const out = new Uint8Array(count * channels);
  for (let pixel = 0, i = 0, o = 0; pixel < count; pixel++, i += stride) {
    if (toGrey) {
      out[o++] = fromGrey ? data[i]! : luma(data[i]!, data[i + 1]!, data[i + 2]!);
    } else {
      const [r, g, b] = fromGrey ? [data[i]!, data[i]!, data[i]!] : [data[i]!, data[i + 1]!, data[i + 2]!];
      out[o++] = r;
      out[o++] = g;
      out[o++] = b;
    }
    if (alpha) out[o++] = stride % 2 === 0 ? data[i + stride - 1]! : 255;
  }
  return { width: image.width, height: image.height, channels, data: out };
}

/** A copy of the image's colour channels, interleaved RGB: alpha is dropped, not composited. */
export function toRgb(image: Pixels): Uint8Array {
  const rgb = convertChannels(image, 3);
  return rgb === image ? image.data.slice(0, image.width * image.height * 3) : rgb.data;
}

/** Throws unless the image is RGB or RGBA with as many bytes as its size needs. */
export function checkImage(image: Pixels): void {
  checkSize('image', image.width, image.height);
  if (image.channels !== 3 && image.channels !== 4) throw new Error(`the image must be RGB or RGBA, got ${image.channels} channels`);
  const expected = image.width * image.height * image.channels;
  if (image.data.length !== expected)
    throw new Error(`a ${image.width}×${image.height} image of ${image.channels} channels needs ${expected} bytes, got ${image.data.length}`);
}

/** Throws unless `width` × `height` is a size in whole pixels, `what` naming the image or mask in the message. */
export function checkSize(what: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`the ${what} size must be whole numbers from 1, got ${width}×${height}`);
}
