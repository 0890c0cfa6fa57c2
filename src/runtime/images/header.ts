// Image dimensions read from the file header, so that an image too large to decode is refused before any pixel
// buffer is allocated: a few hundred kilobytes of PNG can declare gigabytes of pixels.

/**
 * The default limit on width × height: 50 megapixels, above the 45-megapixel frames of full-frame cameras
 * (8256×5504) and the 12 to 48 of phones, so photographs pass and only absurd sizes are refused. Decoding and
 * preprocessing peak near 32 bytes a pixel for PNG and 49 for JPEG (jpeg-js keeps every DCT block), so one image
 * at the limit takes 1.6 to 2.5 GB. PIL only warns at 89 megapixels, but it decodes into 3 or 4 bytes a pixel.
 */
export const DEFAULT_MAX_PIXELS = 50_000_000;

export interface ImageHeader {
  readonly format: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
}

/** An image whose header declares more pixels than allowed; nothing was decoded. */
export class ImageTooLargeError extends Error {
  override readonly name = 'ImageTooLargeError';
  constructor(
    readonly width: number,
    readonly height: number,
    readonly maxPixels: number,
  ) {
    super(`the image is ${width}×${height} = ${width * height} pixels, more than the limit of ${maxPixels}`);
  }
}

/** A file that is not an image netspec decodes: neither JPEG nor PNG, or a truncated or damaged one. */
export class ImageFormatError extends Error {
  override readonly name = 'ImageFormatError';
}

/** Width and height from a PNG's IHDR chunk or a JPEG's frame header; throws on other, truncated or damaged files. */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (!isPng && !isJpeg) throw new ImageFormatError('the image is neither JPEG nor PNG');
  const header = isPng ? readPngHeader(bytes) : readJpegHeader(bytes);
  if (header.width === 0 || header.height === 0)
    throw new ImageFormatError(`the ${header.format.toUpperCase()} header declares an empty ${header.width}×${header.height} image`);
  return header;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Signature (8), IHDR length and type (8), width and height (8): the bytes needed to size the image. */
const PNG_SIZE_END = 24;

/** IHDR must be the first chunk: length 13, then width and height as big-endian 32-bit integers. */
function readPngHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length < PNG_SIZE_END)
    throw new ImageFormatError(`the PNG header is truncated: its ${bytes.length} bytes end before the IHDR chunk's width and height`);
  if (PNG_SIGNATURE.some((byte, i) => bytes[i] !== byte)) throw new ImageFormatError('the PNG signature is damaged');
  const view = new DataView(bytes.buffer, bytes.byteOffset, PNG_SIZE_END);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (view.getUint32(8) !== 13 || type !== 'IHDR') throw new ImageFormatError('the PNG does not start with an IHDR chunk');
  return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
}

/** Start-of-frame markers SOF0–SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
/** Markers without a length: TEM, RST0–RST7 and SOI. */
const isStandalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8);

/**
 * Walks the segments after SOI to the first frame header (SOFn), whose payload is precision (1 byte), height and
 * width (2 bytes each, big-endian). Every length is checked against the end of the file, and a precision other
 * than 8 bits is refused.
 */
function readJpegHeader(bytes: Uint8Array): ImageHeader {
  const truncated = () =>
    new ImageFormatError(`the JPEG header is truncated: its ${bytes.length} bytes end before the frame header (SOFn) with its width and height`);
  const uint16 = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
  let offset = 2;
  for (;;) {
    if (offset >= bytes.length) throw truncated();
    if (bytes[offset] !== 0xff) throw new ImageFormatError(`the JPEG has no marker at byte ${offset}, where a segment should start`);
    // Any number of 0xFF fill bytes may precede a marker.
    while (bytes[offset] === 0xff) offset++;
    if (offset >= bytes.length) throw truncated();
    const marker = bytes[offset++]!;
    if (isStandalone(marker)) continue;
    if (marker === 0xd9 || marker === 0xda) throw new ImageFormatError('the JPEG has no frame header (SOFn) before its image data');
    if (offset + 2 > bytes.length) throw truncated();
    const length = uint16(offset);
    if (length < 2) throw new ImageFormatError(`the JPEG segment at byte ${offset - 2} has an invalid length ${length}`);
    if (isStartOfFrame(marker)) {
      if (length < 7) throw new ImageFormatError(`the JPEG frame header at byte ${offset - 2} is too short to hold a size (length ${length})`);
      if (offset + 7 > bytes.length) throw truncated();
      // jpeg-js reads every sample as 8 bits: a 12-bit JPEG (SOF1, SOF3) would decode into wrong pixels without a word.
      const precision = bytes[offset + 2]!;
      if (precision !== 8)
        throw new ImageFormatError(`the JPEG has ${precision}-bit samples (its SOF${marker - 0xc0} frame header says so); only 8-bit JPEGs are decoded`);
      return { format: 'jpeg', height: uint16(offset + 3), width: uint16(offset + 5) };
    }
    offset += length;
  }
}
