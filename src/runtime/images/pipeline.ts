// The one image pipeline: how an image becomes a model's input in training, evaluation, prediction, calibration,
// the browser and generated modules alike, and how boxes and masks on that input go back to the image's own pixels.
// Plain TypeScript over bytes and floats, so it runs in Node, pages and workers, with or without tfjs.
import type { InputNormalization } from '../weights/folder.js';
import { convertChannels, type Pixels } from './pixels.js';
import { resample, type Interpolation } from './resample.js';

/** torchvision's ImageNet normalisation. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** torchvision's evaluation crop: 224 of 256. */
export const IMAGENET_CROP_FRACTION = 224 / 256;

/**
 * How images are fitted to a model's input of `height` × `width` × `channels`:
 * - `crop`, torchvision's and timm's evaluation transform for classifiers: the shorter side resized to
 *   ⌊side / cropFraction⌋ (`side` the input's side when square, else its longer side), then the centre cut out;
 * - `letterbox`, for detectors and segmenters at a fixed size: scaled to fit with the aspect kept, then padded at the
 *   bottom and right with zeros after normalisation, as torchvision pads a batch (zero is the mean colour);
 * - `natural`, for detectors and segmenters of an open size, torchvision's GeneralizedRCNNTransform: each image
 *   scaled by min(minSize / shorter side, maxSize / longer side) and padded at the bottom and right to the batch's
 *   `height` × `width`, its largest scaled sides rounded up to `multiple` (see naturalBatchSize).
 * Pixels are then scaled to [0, 1], less the mean, over the deviation, per channel.
 */
export interface ImageGeometry {
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly fit: 'crop' | 'letterbox' | 'natural';
  /** For `crop`: the share of the resized image's side the crop keeps (0.875 is 224 of 256; 1 keeps the whole frame). */
  readonly cropFraction?: number;
  /** For `crop`: the size of the resized shorter side, instead of one derived from the crop fraction. */
  readonly resize?: number;
  readonly interpolation?: Interpolation;
  /** For `natural`: the size policy. */
  readonly sizes?: SizePolicy;
}

/** torchvision's detection size policy: the shorter side to `minSize`, the longer at most `maxSize`, sides padded to `multiple`. */
export interface SizePolicy {
  readonly minSize: number;
  readonly maxSize: number;
  readonly multiple: number;
  /** The smallest side a batch may have: the model's. */
  readonly smallest?: number;
}

export interface ImageTransform extends ImageGeometry {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * Where an image sits in the model's input: input x = scale·(image x) − left, and the part of the input it fills.
 * Boxes and masks on the input go back through it to the image's own pixels.
 */
export interface Placement {
  /** The image's own size. */
  readonly source: { readonly width: number; readonly height: number };
  /** Input pixels per image pixel, across and down. */
  readonly scaleX: number;
  readonly scaleY: number;
  /** Input pixels cut away at the left and top (a centre crop), 0 for a letterbox. */
  readonly left: number;
  readonly top: number;
  /** The input rectangle the image covers, within the input. */
  readonly filled: { readonly width: number; readonly height: number };
}

/** An image as the model takes it: height × width × channels floats, channels last, and where the image sits. */
export interface PreparedImage {
  readonly data: Float32Array;
  readonly placement: Placement;
}

/**
 * ImageNet's normalisation for a model of 1 to 4 channels. Grey gets the luma of the RGB means and deviations:
 * exact for the mean, and for the deviation as far as the channels move together. Alpha is only scaled to [0, 1].
 */
export function imagenetNormalization(channels: number): { mean: number[]; std: number[] } {
  const weights = [19595 / 65536, 38470 / 65536, 7471 / 65536];
  const luma = (rgb: readonly number[]) => rgb.reduce((sum, value, c) => sum + value * weights[c]!, 0);
  const colour = channels <= 2 ? { mean: [luma(IMAGENET_MEAN)], std: [luma(IMAGENET_STD)] } : { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  return channels % 2 === 0 ? { mean: [...colour.mean, 0], std: [...colour.std, 1] } : colour;
}

/** What the pipeline needs to know of a model: its input and whether it has a dense head (an analysed graph is one). */
export interface ImageModel {
  /** [height, width, channels]. */
  readonly inputShape: readonly number[];
  /** A segmentation or detection head, which takes letterboxed images (at natural sizes when its size is open); classifiers take centre crops. */
  readonly task?: { readonly kind: string };
  /** An open input size: the sides the model takes. */
  readonly sizes?: { readonly minimum: number; readonly maximum: number; readonly multiple: number };
  /** What the spec declares its pretrained weights expect, in place of ImageNet's defaults. */
  readonly preprocess?: {
    readonly mean: readonly number[];
    readonly std: readonly number[];
    readonly cropFraction: number;
    readonly interpolation: Interpolation;
  };
}

/**
 * The transform a model's images get: what its weights folder `saved` of its input, else what its spec declares of
 * its pretrained weights, else ImageNet's normalisation with a centre crop (classifiers) or a letterbox (dense heads). Every command, generated module and
 * page takes its transform from here.
 */
export function imageTransformFor(model: ImageModel, saved?: InputNormalization): ImageTransform {
  const [height, width, channels] = model.inputShape as [number, number, 1 | 2 | 3 | 4];
  const declared = model.preprocess;
  const { mean, std } = declared ?? imagenetNormalization(channels);
  const cropFraction = declared?.cropFraction ?? IMAGENET_CROP_FRACTION;
  const fit =
    model.task === undefined
      ? { fit: 'crop' as const, cropFraction }
      : model.sizes
        ? { fit: 'natural' as const, sizes: defaultSizePolicy(model.task.kind, model.sizes) }
        : { fit: 'letterbox' as const };
  return withSavedInput({ height, width, channels, ...fit, interpolation: declared?.interpolation ?? 'bilinear', mean: [...mean], std: [...std] }, saved);
}

/** The sides asked for in place of torchvision's (`--min-size`, `--max-size`): each absent takes its default. */
export interface AskedSizes {
  readonly minSize?: number;
  readonly maxSize?: number;
}

/**
 * torchvision's sizes for an open-size dense model: its detectors' shorter side 800 and longer at most 1333, its
 * segmentation reference's shorter side 520; within the sides the model takes.
 */
export function defaultSizePolicy(task: string, sides: NonNullable<ImageModel['sizes']>, asked: AskedSizes = {}): SizePolicy {
  const [minSize, maxSize] = task === 'detection' ? [800, 1333] : [520, sides.maximum];
  return {
    minSize: asked.minSize ?? minSize,
    maxSize: Math.min(asked.maxSize ?? maxSize, sides.maximum),
    multiple: sides.multiple,
    smallest: sides.minimum,
  };
}

/** The transform with the sides asked for (`--min-size`, `--max-size`) in place of torchvision's, for an open-size dense model. */
export function withAskedSizes(transform: ImageTransform, model: ImageModel, asked: AskedSizes): ImageTransform {
  if (transform.fit !== 'natural' || !model.sizes || !model.task) return transform;
  return { ...transform, sizes: defaultSizePolicy(model.task.kind, model.sizes, asked) };
}

/**
 * `transform` with what a weights folder saved of its input: its normalisation, filter and, for classifiers, its crop.
 * A folder that saved a normalisation but no crop was trained by netspec on whole frames.
 */
export function withSavedInput(transform: ImageTransform, saved: InputNormalization | undefined): ImageTransform {
  if (!saved) return transform;
  const crop = transform.fit === 'crop' ? { cropFraction: saved.cropFraction ?? 1, resize: undefined } : {};
  return { ...transform, ...crop, mean: saved.mean, std: saved.std, interpolation: saved.interpolation ?? transform.interpolation };
}

/** Throws unless the transform can be applied: whole positive sizes, 1 to 4 channels, a usable normalisation. */
export function checkTransform(transform: ImageTransform): void {
  checkGeometry(transform);
  const { channels, mean, std } = transform;
  if (mean.length !== channels || std.length !== channels)
    throw new RangeError(`the normalisation has ${mean.length} means and ${std.length} deviations for ${channels} channels`);
  if (![...mean, ...std].every(Number.isFinite) || !std.every((s) => s > 0 && Number.isFinite(1 / s)))
    throw new RangeError(`the normalisation must be finite with positive deviations, got mean ${JSON.stringify(mean)} and std ${JSON.stringify(std)}`);
}

function checkGeometry(geometry: ImageGeometry): void {
  const { height, width, channels, cropFraction = 1, resize } = geometry;
  if (![height, width].every((side) => Number.isInteger(side) && side > 0))
    throw new RangeError(`the input size must be whole pixels from 1, got ${height}×${width}`);
  if (![1, 2, 3, 4].includes(channels))
    throw new RangeError(`images become grey (1 channel), grey and alpha (2), RGB (3) or RGBA (4) input, not ${channels} channels`);
  if (!(cropFraction > 0 && cropFraction <= 1)) throw new RangeError(`the crop fraction must be above 0 and at most 1, got ${cropFraction}`);
  if (resize !== undefined && !(Number.isInteger(resize) && resize > 0)) throw new RangeError(`the resized side must be whole pixels from 1, got ${resize}`);
}

/** An image through the transform: its pixels as the model takes them, and where it sits in them. */
export function prepareImage(image: Pixels, transform: ImageTransform): PreparedImage {
  checkTransform(transform);
  const fitted = fitImage(image, transform);
  return { data: normalisePixels(fitted.pixels, transform), placement: fitted.placement };
}

/**
 * The transform's geometry alone: the image in the model's channels, cropped or scaled to fit, still bytes (what
 * training caches), and where it sits. A letterboxed image is only its filled part.
 */
export function fitImage(image: Pixels, geometry: ImageGeometry): { pixels: Pixels; placement: Placement } {
  checkGeometry(geometry);
  const pixels = convertChannels(image, geometry.channels);
  if (geometry.fit === 'crop') return centreCrop(pixels, geometry);
  return geometry.fit === 'natural' ? atNaturalSize(pixels, geometry) : letterbox(pixels, geometry);
}

/**
 * An image's size under the policy, as torchvision's GeneralizedRCNNTransform resizes it: scale = min(minSize /
 * shorter, maxSize / longer), in float32 as PyTorch divides a number by a tensor (the tensor's reciprocal, times the
 * number), and each side ⌊side × scale⌋ in double, as F.interpolate with recompute_scale_factor gives it — so a
 * 375×500 image's shorter side becomes 799 and a 480×640 image's 800.
 */
export function naturalSize(image: { readonly width: number; readonly height: number }, policy: SizePolicy): { width: number; height: number } {
  const short = Math.min(image.width, image.height);
  const long = Math.max(image.width, image.height);
  const divided = (size: number, side: number) => Math.fround(Math.fround(1 / side) * size);
  const scale = Math.min(divided(policy.minSize, short), divided(policy.maxSize, long));
  return { width: Math.max(1, Math.floor(image.width * scale)), height: Math.max(1, Math.floor(image.height * scale)) };
}

/** The transform for one batch of `images`: at natural sizes, sized to the batch; else as it is. */
export function batchTransform<T extends ImageGeometry>(transform: T, images: readonly { readonly width: number; readonly height: number }[]): T {
  return transform.fit === 'natural' && transform.sizes ? { ...transform, ...naturalBatchSize(images, transform.sizes) } : transform;
}

/** The input size of a batch under the policy: its images' largest natural sides, each rounded up to the multiple. */
export function naturalBatchSize(
  images: readonly { readonly width: number; readonly height: number }[],
  policy: SizePolicy,
): { width: number; height: number } {
  const sizes = images.map((image) => naturalSize(image, policy));
  const padded = (side: number) => Math.max(policy.smallest ?? 1, Math.ceil(side / policy.multiple) * policy.multiple);
  return { width: padded(Math.max(...sizes.map((size) => size.width))), height: padded(Math.max(...sizes.map((size) => size.height))) };
}

/** Resized to its natural size at the top left of the batch's input; the rest is filled when normalising. */
function atNaturalSize(image: Pixels, geometry: ImageGeometry): { pixels: Pixels; placement: Placement } {
  if (!geometry.sizes) throw new RangeError('a natural-size fit needs its size policy');
  const filled = naturalSize(image, geometry.sizes);
  if (filled.width > geometry.width || filled.height > geometry.height)
    throw new RangeError(`the image's natural size ${filled.width}×${filled.height} exceeds the batch's ${geometry.width}×${geometry.height} (width × height)`);
  return atTopLeft(image, filled, geometry.interpolation);
}

/**
 * Resize then CenterCrop as torchvision computes them: the shorter side to `size` and the longer truncated,
 * int(size × long / short); the crop's corner int(round((resized − crop) / 2)) with Python's rounding. A size from
 * the crop fraction (at most 1) always holds the crop; an explicit `resize` too small for it is refused, where
 * torchvision would pad with black.
 */
function centreCrop(image: Pixels, transform: ImageGeometry): { pixels: Pixels; placement: Placement } {
  const { height, width, cropFraction = IMAGENET_CROP_FRACTION, resize, interpolation } = transform;
  const size = resize ?? Math.floor(Math.max(height, width) / cropFraction);
  const short = Math.min(image.width, image.height);
  const scaled = (side: number) => (side === short ? size : Math.floor((size * side) / short));
  const [resizedWidth, resizedHeight] = [scaled(image.width), scaled(image.height)];
  if (resizedWidth < width || resizedHeight < height)
    throw new RangeError(`the image resized to ${resizedWidth}×${resizedHeight} is smaller than the ${width}×${height} crop (width × height)`);
  const top = roundHalfToEven((resizedHeight - height) / 2);
  const left = roundHalfToEven((resizedWidth - width) / 2);
  const pixels = resample(image, { left: 0, top: 0, width: image.width, height: image.height }, resizedWidth, resizedHeight, {
    interpolation,
    rows: { first: top, count: height },
    columns: { first: left, count: width },
  });
  const placement: Placement = {
    source: { width: image.width, height: image.height },
    scaleX: resizedWidth / image.width,
    scaleY: resizedHeight / image.height,
    left,
    top,
    filled: { width, height },
  };
  return { pixels, placement };
}

/** Scaled to fit with its aspect kept, at the top left; the rest is filled when normalising. */
function letterbox(image: Pixels, transform: ImageGeometry): { pixels: Pixels; placement: Placement } {
  const { height, width, interpolation } = transform;
  const scale = Math.min(height / image.height, width / image.width);
  const filled = {
    height: Math.min(height, Math.max(1, Math.round(image.height * scale))),
    width: Math.min(width, Math.max(1, Math.round(image.width * scale))),
  };
  return atTopLeft(image, filled, interpolation);
}

/**
 * The whole image resampled onto the `filled` rectangle at the input's top left. The resampler maps the whole image
 * onto that rectangle, so its sides set the scale, as torchvision maps boxes back.
 */
function atTopLeft(
  image: Pixels,
  filled: { width: number; height: number },
  interpolation: Interpolation | undefined,
): { pixels: Pixels; placement: Placement } {
  const pixels = resample(image, { left: 0, top: 0, width: image.width, height: image.height }, filled.width, filled.height, { interpolation });
  const placement: Placement = {
    source: { width: image.width, height: image.height },
    scaleX: filled.width / image.width,
    scaleY: filled.height / image.height,
    left: 0,
    top: 0,
    filled,
  };
  return { pixels, placement };
}

/**
 * Fitted pixels as the model's input: (v / 255 − mean) / std per channel over the transform's whole input, the
 * image at the top left and 0 (the mean colour) wherever a letterbox leaves input uncovered.
 */
export function normalisePixels(image: Pixels, transform: Pick<ImageTransform, 'height' | 'width' | 'channels' | 'mean' | 'std'>): Float32Array {
  const { height, width, channels, mean, std } = transform;
  const out = new Float32Array(height * width * channels);
  const scale = Array.from({ length: channels }, (_, c) => 1 / (255 * std[c]!));
  const shift = Array.from({ length: channels }, (_, c) => mean[c]! / std[c]!);
  for (let y = 0; y < image.height; y++) {
    for (let i = 0; i < image.width * channels; i++) {
      const c = i % channels;
      out[y * width * channels + i] = image.data[y * image.width * channels + i]! * scale[c]! - shift[c]!;
    }
  }
  return out;
}

/** Boxes (x1, y1, x2, y2) on the model's input, in place, back to the image's own pixels, held inside the image. */
export function boxesToImage(boxes: Float32Array | Float64Array, placement: Placement): void {
  const { scaleX, scaleY, left, top, source } = placement;
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = clamp((boxes[i]! + left) / scaleX, source.width);
    boxes[i + 1] = clamp((boxes[i + 1]! + top) / scaleY, source.height);
    boxes[i + 2] = clamp((boxes[i + 2]! + left) / scaleX, source.width);
    boxes[i + 3] = clamp((boxes[i + 3]! + top) / scaleY, source.height);
  }
}

const clamp = (value: number, limit: number) => Math.min(limit, Math.max(0, value));

/**
 * The image's pixel (x, y) as a position on the model's input, for sampling maps the model outputs at input
 * resolution: pixel centres map through the placement, as a resize with align_corners=False maps them.
 */
export function inputPosition(placement: Placement, x: number, y: number): { x: number; y: number } {
  return { x: (x + 0.5) * placement.scaleX - placement.left - 0.5, y: (y + 0.5) * placement.scaleY - placement.top - 0.5 };
}

function roundHalfToEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}
