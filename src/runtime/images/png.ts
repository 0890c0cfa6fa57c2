// PNG files of drawn images. Node only: pngjs needs zlib and Buffer, so this stays apart from the portable overlay code.
import { PNG } from 'pngjs';
import { checkImage, toRgb, type DecodedImage } from './pixels.js';

const COLOR_TYPE_RGB = 2;

/** An 8-bit RGB PNG of the image; an RGBA image's alpha channel is dropped (pngjs would composite it over white). */
export function encodePng(image: DecodedImage): Uint8Array {
  checkImage(image);
  const rgb = toRgb(image);
  const pixels = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  // write reads only the size and the pixels; a PNG object would allocate an RGBA buffer of its own first.
  const png = { width: image.width, height: image.height, data: pixels } as PNG;
  return PNG.sync.write(png, { colorType: COLOR_TYPE_RGB, inputColorType: COLOR_TYPE_RGB, inputHasAlpha: false, bitDepth: 8 });
}
