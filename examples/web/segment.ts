// An open-size segmenter's page: every image opened or dropped at once, in one batch at the images' natural sizes
// (torchvision's size policy, padded to the model's multiple), each shown at its own size with its class mask
// blended over it and a colour key; the size the model ran at, the time per image and the MACs at that size.
import * as tf from '@tensorflow/tfjs';
import { blendMask, type ClassMask, type ImageTransform, type Pixels, type Placement, prepareBatch, segmentationPalette } from 'netspec/runtime';
import type { OpenSegmenterModule } from './model.ts';
import { clearError, count, readPixels, setState, ui } from './page.ts';

/** Sides asked for in place of the module's policy, as netspec predict's --min-size and --max-size. */
export interface AskedSizes {
  readonly minSize?: number;
  readonly maxSize?: number;
}

/** PASCAL VOC's colours, as netspec predict blends them. */
const PALETTE = segmentationPalette(256);

/** A class's colour in the blended picture, as #rrggbb. */
const classColour = (label: number) => `#${[...PALETTE.subarray(3 * label, 3 * label + 3)].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** The transform's size policy with the sides asked for; the longer side never past the largest the model takes. */
export function sizedTransform(transform: ImageTransform, sides: OpenSegmenterModule['sizes'], asked: AskedSizes): ImageTransform {
  const policy = transform.sizes;
  if (!policy) throw new Error('an open-size segmenter fits images at their natural size, but this module has no size policy');
  return { ...transform, sizes: { ...policy, minSize: asked.minSize ?? policy.minSize, maxSize: Math.min(asked.maxSize ?? policy.maxSize, sides.maximum) } };
}

/** The loaded model and how the page runs it. */
interface Segmenting {
  readonly compiled: OpenSegmenterModule;
  readonly model: tf.LayersModel;
  readonly names: readonly string[];
  /** The module's transform with the sizes asked for (see sizedTransform). */
  readonly transform: ImageTransform;
  /** The summary's cell for the MACs at the size a batch ran at. */
  readonly totalMacs: HTMLTableCellElement;
}

/** One warm-up run at the smallest size the model takes, then a function that segments the files it is given. */
export function segmenter(segmenting: Segmenting): (files: readonly File[]) => Promise<void> {
  const { compiled, model, transform } = segmenting;
  const side = compiled.sizes.minimum;
  const blank = tf.zeros<tf.Rank.R4>([1, side, side, transform.channels]);
  try {
    // Sets up kernels (and on webgl compiles shaders for this size; each new size compiles its own).
    compiled.segment(model, blank);
  } finally {
    blank.dispose();
  }
  const { minSize, maxSize, multiple } = transform.sizes!;
  ui.sizePolicy.textContent = `Each image at its natural size: shorter side ${minSize}, longer at most ${maxSize}; a batch padded to multiples of ${multiple}.`;
  ui.segmentation.hidden = false;
  ui.preview.hidden = true;
  ui.fileInput.multiple = true;
  ui.openWhat.textContent = 'Open images';
  ui.dropWhat.textContent = 'them';
  return (files) => segmentFiles(segmenting, files);
}

/** Segments the files in one batch and shows each image with its mask, the time per image and the MACs. */
async function segmentFiles({ compiled, model, names, transform, totalMacs }: Segmenting, files: readonly File[]): Promise<void> {
  if (files.length === 0) return;
  clearError();
  setState('busy');
  ui.masks.replaceChildren();
  ui.timeLine.textContent = '';
  const images = await Promise.all(files.map(readPixels));
  const start = performance.now();
  // The generated module's preprocess (prepareBatch with the transform the weights ask for) at the sizes asked for.
  const batch = prepareBatch(images, transform);
  const [, height, width] = batch.input.shape;
  let masks: ClassMask[];
  try {
    masks = compiled.segment(model, batch.input, batch.placements);
  } finally {
    batch.input.dispose();
  }
  const ms = performance.now() - start;
  ui.masks.replaceChildren(...images.map((image, i) => maskFigure(files[i]!.name, image, masks[i]!, batch.placements[i]!, [height, width], names)));
  const batchSize = `${width}×${height}`;
  ui.timeLine.textContent = `${(ms / images.length).toFixed(1)} ms per image (${images.length} in one ${batchSize} batch: preprocess, predict, masks) on ${tf.getBackend()}`;
  const macs = compiled.macs(height, width);
  totalMacs.textContent = `${count(macs)} per image at ${batchSize}`;
  totalMacs.dataset.macs = String(macs);
  setState('done');
}

/** One image with its mask blended over it, the sizes it ran at, and its classes' colours and shares. */
function maskFigure(
  name: string,
  image: Pixels,
  mask: ClassMask,
  placement: Placement,
  [height, width]: readonly [number, number],
  names: readonly string[],
): HTMLElement {
  const figure = document.createElement('figure');
  const canvas = figure.appendChild(document.createElement('canvas'));
  drawRgb(canvas, blendMask(image, mask));
  const { filled } = placement;
  figure.dataset.width = String(mask.width);
  figure.dataset.height = String(mask.height);
  figure.dataset.natural = `${filled.width}×${filled.height}`;
  figure.dataset.batch = `${width}×${height}`;
  figure.appendChild(document.createElement('figcaption')).textContent =
    `${name}: ${image.width}×${image.height}, run at ${filled.width}×${filled.height} in a ${width}×${height} batch`;
  figure.appendChild(colourKey(mask, names));
  return figure;
}

/** The classes in the mask, largest share first: each one's colour (background is left untinted), name and share. */
function colourKey(mask: ClassMask, names: readonly string[]): HTMLUListElement {
  const counts = new Map<number, number>();
  for (const label of mask.classes) counts.set(label, (counts.get(label) ?? 0) + 1);
  const key = document.createElement('ul');
  key.className = 'key';
  const ranked = [...counts].sort(([a, countA], [b, countB]) => countB - countA || a - b);
  for (const [label, pixels] of ranked) {
    const share = pixels / mask.classes.length;
    const item = key.appendChild(document.createElement('li'));
    const swatch = item.appendChild(document.createElement('span'));
    swatch.className = label === 0 ? 'swatch untinted' : 'swatch';
    if (label !== 0) swatch.style.background = classColour(label);
    item.append(`${names[label]} ${(100 * share).toFixed(1)}%`);
    item.dataset.class = String(label);
    item.dataset.share = String(share);
  }
  return key;
}

/** An RGB image drawn onto the canvas at its own size. */
function drawRgb(canvas: HTMLCanvasElement, image: Pixels): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const rgba = new ImageData(image.width, image.height);
  for (let pixel = 0; pixel < image.width * image.height; pixel++) {
    rgba.data.set(image.data.subarray(3 * pixel, 3 * pixel + 3), 4 * pixel);
    rgba.data[4 * pixel + 3] = 255;
  }
  canvas.getContext('2d')?.putImageData(rgba, 0, 0);
}
