// Pictures of what a segmentation or detection model predicted, drawn on the input image. Portable: plain typed-array
// arithmetic, no Node or tfjs imports. Every result is a new RGB image; an RGBA input's alpha channel is dropped
// (the colour channels are kept as they are, not composited over any background).
import type { Detections } from './detection.js';
import { checkImage, checkSize, toRgb, type DecodedImage } from '../images/pixels.js';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphPixel, textWidth } from './font.js';

/** One class index per pixel, row-major. */
export interface SegmentationMask {
  readonly width: number;
  readonly height: number;
  readonly classes: Uint8Array | Int32Array;
}

export interface BlendOptions {
  /** Weight of the class colour, 0 to 1. Default 0.5. */
  readonly alpha?: number;
  /** RGB triples, one per class. Default: segmentationPalette(256). */
  readonly palette?: Uint8Array;
}

export interface DrawOptions {
  /** Width of box outlines in pixels. Default 2. */
  readonly lineWidth?: number;
}

type Colour = readonly [number, number, number];

/** An RGB image being drawn on. */
interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * The PASCAL VOC colour map: bit k of the class index goes to bit 7 − ⌊k / 3⌋ of red, green or blue (k mod 3 = 0, 1,
 * 2), so class 0 is black, 1 (128, 0, 0), 2 (0, 128, 0), 3 (128, 128, 0), 4 (0, 0, 128) and 15 (192, 128, 128).
 */
export function segmentationPalette(classes: number): Uint8Array {
  if (!Number.isInteger(classes) || classes < 0) throw new RangeError(`the palette needs a whole number of classes, got ${classes}`);
  const palette = new Uint8Array(classes * 3);
  for (let index = 0; index < classes; index++) {
    for (let bits = index, shift = 7; bits > 0; bits >>= 3, shift--) {
      for (let channel = 0; channel < 3; channel++) palette[index * 3 + channel]! |= ((bits >> channel) & 1) << shift;
    }
  }
  return palette;
}

/**
 * Blends each pixel's class colour into the image: round((1 − alpha) · pixel + alpha · colour), halves rounding
 * up. Class 0 is background and keeps the image's pixel unblended. A mask of another size than the image is read by
 * nearest neighbour with PyTorch's F.interpolate(mode="nearest") rule: source index = min(⌊dst · in / out⌋, in − 1),
 * with the scale and the product in float32 as PyTorch computes them, so it matches upsampling the mask in PyTorch.
 */
export function blendMask(image: DecodedImage, mask: SegmentationMask, options: BlendOptions = {}): DecodedImage {
  checkImage(image);
  checkMask(mask);
  const { alpha = 0.5, palette = segmentationPalette(256) } = options;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be between 0 and 1, got ${alpha}`);
  if (palette.length === 0 || palette.length % 3 !== 0) throw new Error(`the palette must hold RGB triples, got ${palette.length} values`);
  const out = toRgb(image);
  const sourceColumns = nearestSources(image.width, mask.width);
  const sourceRows = nearestSources(image.height, mask.height);
  for (let y = 0; y < image.height; y++) {
    const maskRow = sourceRows[y]! * mask.width;
    for (let x = 0; x < image.width; x++) {
      const label = mask.classes[maskRow + sourceColumns[x]!]!;
      if (label === 0) continue;
      if (label < 0 || label * 3 >= palette.length)
        throw new RangeError(`mask class ${label} at (${sourceColumns[x]}, ${sourceRows[y]}) has no colour in a palette of ${palette.length / 3}`);
      const o = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round((1 - alpha) * out[o + c]! + alpha * palette[label * 3 + c]!);
    }
  }
  return { width: image.width, height: image.height, channels: 3, data: out };
}

/** For each of `outSize` destination indices, the source index PyTorch's nearest interpolation reads. */
function nearestSources(outSize: number, inSize: number): Int32Array {
  // PyTorch's kernel holds the scale in a float and multiplies in float; doubles would differ where dst · in / out is whole.
  const scale = Math.fround(inSize / outSize);
  return Int32Array.from({ length: outSize }, (_, dst) => Math.min(Math.floor(Math.fround(dst * scale)), inSize - 1));
}

/**
 * Kelly's colours of maximum contrast without white and black, one per label (label mod 20), so neighbouring
 * label numbers look different.
 */
const LABEL_COLOURS: readonly Colour[] = [
  0xf3c300, 0x875692, 0xf38400, 0xa1caf1, 0xbe0032, 0xc2b280, 0x848482, 0x008856, 0xe68fac, 0x0067a5, 0xf99379, 0x604e97, 0xf6a600, 0xb3446c, 0xdcd300,
  0x882d17, 0x8db600, 0x654522, 0xe25822, 0x2b3d26,
].map((rgb) => [rgb >> 16, (rgb >> 8) & 0xff, rgb & 0xff] as const);

/** The outline and tag colour of a label. */
export function labelColour(label: number): Colour {
  const count = LABEL_COLOURS.length;
  return LABEL_COLOURS[((label % count) + count) % count]!;
}

const TAG_PADDING = 1;

/**
 * Outlines each box in its label's colour with a tag `name 0.87` above it (inside the box when there is no room above).
 * A box (x1, y1, x2, y2) covers pixel columns ⌊x1⌋ … ⌈x2⌉ − 1 and rows ⌊y1⌋ … ⌈y2⌉ − 1 (at least one of each);
 * the outline lies inside that span, `lineWidth` pixels wide. Boxes partly outside the image are clipped: only their
 * pixels inside it are drawn, so an edge beyond the border is not drawn. Boxes with a non-finite coordinate, with
 * x2 < x1 or y2 < y1, or wholly outside the image are skipped. The first (highest-scoring) detection is drawn last,
 * on top.
 */
export function drawDetections(image: DecodedImage, detections: Detections, labelNames: (label: number) => string, options: DrawOptions = {}): DecodedImage {
  checkImage(image);
  const { boxes, scores, labels } = detections;
  const count = scores.length;
  if (boxes.length !== count * 4 || labels.length !== count)
    throw new Error(
      `detections need 4 box coordinates, a score and a label each: got ${boxes.length} coordinates, ${count} scores and ${labels.length} labels`,
    );
  const { lineWidth = 2 } = options;
  if (!Number.isInteger(lineWidth) || lineWidth < 1) throw new RangeError(`lineWidth must be a whole number of pixels from 1, got ${lineWidth}`);
  const canvas: Canvas = { width: image.width, height: image.height, data: toRgb(image) };
  for (let i = count - 1; i >= 0; i--) {
    const span = pixelSpan(canvas, boxes.subarray(i * 4, i * 4 + 4));
    if (span === undefined) continue;
    const colour = labelColour(labels[i]!);
    drawOutline(canvas, span, colour, lineWidth);
    drawTag(canvas, span, `${labelNames(labels[i]!)} ${scores[i]!.toFixed(2)}`, colour);
  }
  return { width: image.width, height: image.height, channels: 3, data: canvas.data };
}

/** Inclusive pixel bounds of a box. */
interface Span {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** The pixels a box covers, or undefined for a box that is not drawn. */
function pixelSpan(canvas: Canvas, box: Float32Array): Span | undefined {
  const [x1, y1, x2, y2] = [box[0]!, box[1]!, box[2]!, box[3]!];
  if (![x1, y1, x2, y2].every(Number.isFinite) || x2 < x1 || y2 < y1) return undefined;
  const left = Math.floor(x1);
  const top = Math.floor(y1);
  const span = { left, top, right: Math.max(left, Math.ceil(x2) - 1), bottom: Math.max(top, Math.ceil(y2) - 1) };
  const visible = span.right >= 0 && span.bottom >= 0 && span.left < canvas.width && span.top < canvas.height;
  return visible ? span : undefined;
}

/** Four bands of `lineWidth` pixels along the inside of the span. */
function drawOutline(canvas: Canvas, { left, top, right, bottom }: Span, colour: Colour, lineWidth: number): void {
  fillRect(canvas, left, top, right + 1, top + lineWidth, colour);
  fillRect(canvas, left, bottom + 1 - lineWidth, right + 1, bottom + 1, colour);
  fillRect(canvas, left, top, left + lineWidth, bottom + 1, colour);
  fillRect(canvas, right + 1 - lineWidth, top, right + 1, bottom + 1, colour);
}

/** A filled tag in the box's colour, its text black or white, whichever stands out more. */
function drawTag(canvas: Canvas, span: Span, text: string, colour: Colour): void {
  const width = textWidth(text) + 2 * TAG_PADDING;
  const height = GLYPH_HEIGHT + 2 * TAG_PADDING;
  // Kept inside the image where it fits, so a box at the right edge still shows its label.
  const left = Math.max(0, Math.min(span.left, canvas.width - width));
  const top = span.top - height >= 0 ? span.top - height : Math.max(span.top, 0);
  fillRect(canvas, left, top, left + width, top + height, colour);
  drawText(canvas, left + TAG_PADDING, top + TAG_PADDING, text, contrastingText(colour));
}

/** Black on light colours, white on dark ones, by the Rec. 601 luma. */
function contrastingText([r, g, b]: Colour): Colour {
  return 0.299 * r + 0.587 * g + 0.114 * b >= 128 ? [0, 0, 0] : [255, 255, 255];
}

/** Draws text with its top-left glyph pixel at (x, y); pixels outside the canvas are skipped. */
function drawText(canvas: Canvas, x: number, y: number, text: string, colour: Colour): void {
  let glyphLeft = x;
  for (const char of text) {
    for (let column = 0; column < GLYPH_WIDTH; column++) {
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        if (glyphPixel(char, column, row)) setPixel(canvas, glyphLeft + column, y + row, colour);
      }
    }
    glyphLeft += GLYPH_ADVANCE;
  }
}

/** Fills columns x0 … x1 − 1 and rows y0 … y1 − 1, clipped to the canvas. */
function fillRect(canvas: Canvas, x0: number, y0: number, x1: number, y1: number, colour: Colour): void {
  for (let y = Math.max(y0, 0); y < Math.min(y1, canvas.height); y++) {
    for (let x = Math.max(x0, 0); x < Math.min(x1, canvas.width); x++) setPixel(canvas, x, y, colour);
  }
}

function setPixel(canvas: Canvas, x: number, y: number, colour: Colour): void {
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
  canvas.data.set(colour, (y * canvas.width + x) * 3);
}

function checkMask(mask: SegmentationMask): void {
  checkSize('mask', mask.width, mask.height);
  const expected = mask.width * mask.height;
  if (mask.classes.length !== expected) throw new Error(`a ${mask.width}×${mask.height} mask needs ${expected} classes, got ${mask.classes.length}`);
}
