// Image files decoded in Node: pngjs needs zlib, streams and Buffer, so this stays out of the portable runtime.
import type { DecodedImage } from './pixels.js';
import { DEFAULT_MAX_PIXELS, ImageFormatError, ImageTooLargeError, readImageHeader } from './header.js';
import { checkPng, pngDecoderProblem } from './png-check.js';

export interface DecodeOptions {
  /** Refuse images of more than this many pixels (width × height) before decoding (default: DEFAULT_MAX_PIXELS). */
  readonly maxPixels?: number;
}

/**
 * What jpeg-js counts against maxMemoryUsageInMB for a pixel of a four-component (CMYK) image: per component 4 bytes
 * of DCT coefficients, 1 of sample lines and 1 of colour conversion, then 3 of RGB output: 4 × 6 + 3 = 27. The fixed
 * part covers tables and the padding of blocks.
 */
const JPEG_BYTES_PER_PIXEL = 27;
const JPEG_FIXED_MB = 16;

/**
 * Decodes a JPEG or PNG file (told apart by their first bytes) with pure-JavaScript decoders. The size is read
 * from the header first, and an image of more than `maxPixels` pixels throws ImageTooLargeError undecoded; a file
 * that is not an image these decoders read, or a damaged one, throws ImageFormatError.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const { maxPixels = DEFAULT_MAX_PIXELS } = options;
  if (!(maxPixels > 0)) throw new RangeError(`maxPixels must be a positive number, got ${maxPixels}`);
  const header = readImageHeader(bytes);
  if (header.width * header.height > maxPixels) throw new ImageTooLargeError(header.width, header.height, maxPixels);
  if (header.format === 'jpeg') {
    const { default: jpeg } = await import('jpeg-js');
    // The same limits again, for what the header walk does not see: a later frame, or blocks padded far past a narrow image.
    const limits = { maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.ceil((maxPixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + JPEG_FIXED_MB };
    const decoded = decoding(() => jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, ...limits }));
    return { width: decoded.width, height: decoded.height, channels: 3, data: decoded.data };
  }
  checkPng(bytes);
  const { PNG } = await import('pngjs');
  const decoded = decoding(() => PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)), pngDecoderProblem);
  return {
    width: decoded.width,
    height: decoded.height,
    channels: 4,
    data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength),
  };
}

/** What a decoder returns; whatever it throws is about the bytes it was given, so an ImageFormatError, in `words` when given. */
function decoding<T>(decode: () => T, words: (message: string) => string = (message) => message): T {
  try {
    return decode();
  } catch (error) {
    throw new ImageFormatError(words(error instanceof Error ? error.message : String(error)));
  }
}
