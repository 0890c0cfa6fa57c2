// The decoded pixels every image function takes, and the checks and conversions that drawing on images and writing
// them share. Portable: plain typed arrays.

/** Decoded pixels, row by row, with 3 (RGB) or 4 (RGBA) bytes per pixel. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

/** A copy of the image's colour channels, interleaved RGB: alpha is dropped, not composited. */
export function toRgb(image: DecodedImage): Uint8Array {
  if (image.channels === 3) return image.data.slice(0, image.width * image.height * 3);
  const out = new Uint8Array(image.width * image.height * 3);
  for (let pixel = 0, i = 0, o = 0; pixel < image.width * image.height; pixel++, i += 4, o += 3) {
    out[o] = image.data[i]!;
    out[o + 1] = image.data[i + 1]!;
    out[o + 2] = image.data[i + 2]!;
  }
  return out;
}

/** Throws unless the image is RGB or RGBA with as many bytes as its size needs. */
export function checkImage(image: DecodedImage): void {
  checkSize('image', image.width, image.height);
  if (image.channels !== 3 && image.channels !== 4) throw new Error(`the image must be RGB or RGBA, got ${image.channels} channels`);
  const expected = image.width * image.height * image.channels;
  if (image.data.length !== expected) throw new Error(`a ${image.width}×${image.height} image of ${image.channels} channels needs ${expected} bytes, got ${image.data.length}`);
}

/** Throws unless `width` × `height` is a size in whole pixels, `what` naming the image or mask in the message. */
export function checkSize(what: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`the ${what} size must be whole numbers from 1, got ${width}×${height}`);
}
