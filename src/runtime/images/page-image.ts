// Images already in a page (an <img>, a video frame, a canvas, an ImageBitmap or ImageData) as decoded pixels, so the
// same preprocess() that Node applies to files applies to them.
import type { DecodedImage } from './pixels.js';

/** The image sources a page has; the DOM types are declared structurally so Node builds need no DOM library. */
export type PageImage =
  | { readonly data: Uint8ClampedArray; readonly width: number; readonly height: number } // ImageData
  | { readonly naturalWidth: number; readonly naturalHeight: number } // HTMLImageElement
  | { readonly videoWidth: number; readonly videoHeight: number } // HTMLVideoElement
  | { readonly width: number; readonly height: number }; // canvases, ImageBitmap

interface Context2D {
  drawImage(image: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, width: number, height: number): { readonly data: Uint8ClampedArray };
}

/** A page's OffscreenCanvas, when there is one (not in Node). */
const { OffscreenCanvas } = globalThis as {
  OffscreenCanvas?: new (width: number, height: number) => { getContext(kind: '2d', options?: object): Context2D | null };
};

/**
 * The RGBA pixels of a page image at its natural size, unscaled: drawn once onto an OffscreenCanvas, or taken as they
 * are from ImageData (which works anywhere). Pass the result to preprocess() for the spec's evaluation transform.
 */
export function pageImagePixels(image: PageImage): DecodedImage {
  if ('data' in image)
    return { width: image.width, height: image.height, channels: 4, data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength) };
  const [width, height] =
    'naturalWidth' in image
      ? [image.naturalWidth, image.naturalHeight]
      : 'videoWidth' in image
        ? [image.videoWidth, image.videoHeight]
        : [image.width, image.height];
  if (!(width > 0 && height > 0)) throw new Error(`the image has no pixels yet (${width}×${height}); wait for it to load`);
  if (!OffscreenCanvas) throw new Error('reading an image element needs a browser (OffscreenCanvas); pass ImageData here');
  const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser has no 2D canvas to read the image with');
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, width, height);
  return { width, height, channels: 4, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
