import * as tf from '@tensorflow/tfjs';
import type { DecodedImage } from './decoded-image.js';

/** torchvision's ImageNet normalisation. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface PreprocessOptions {
  /** The model's input size: [height, width], or one side for a square input (224 for ImageNet models). */
  readonly crop: number | readonly [height: number, width: number];
  /** Channels the model takes: 1 grey, 2 grey and alpha, 3 RGB (default) or 4 RGBA. */
  readonly channels?: number;
  /** The shorter side is resized to this first (default: the crop's longer side × 256 / 224, torchvision's 256 for 224). */
  readonly resize?: number;
  /** Per channel, for pixels scaled to [0, 1] (default: imagenetNormalization(channels)). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/** ITU-R BT.601 luma weights in 16-bit fixed point, as PIL's convert('L') applies them: they sum to 65536. */
const LUMA = [19595, 38470, 7471] as const;

/**
 * ImageNet's normalisation for a model of 1 to 4 channels. Grey gets the luma of the RGB means and deviations:
 * exact for the mean, and for the deviation as far as the channels move together. Alpha is only scaled to [0, 1].
 */
export function imagenetNormalization(channels: number): { mean: number[]; std: number[] } {
  const luma = (rgb: readonly number[]) => rgb.reduce((sum, value, c) => sum + (value * LUMA[c]!) / 65536, 0);
  const colour = channels <= 2 ? { mean: [luma(IMAGENET_MEAN)], std: [luma(IMAGENET_STD)] } : { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  return channels % 2 === 0 ? { mean: [...colour.mean, 0], std: [...colour.std, 1] } : colour;
}

/**
 * torchvision's evaluation transform in tfjs: convert to the model's channels (grey as PIL's convert('L'), alpha
 * dropped for RGB), Resize(resize) — the shorter side, bilinear — then CenterCrop((height, width)), scale to [0, 1],
 * subtract the mean and divide by the standard deviation per channel. Returns [height, width, channels], NHWC
 * without the batch. Bilinear resizing without antialiasing approximates PIL's when shrinking a lot.
 */
export function preprocess(image: DecodedImage, options: PreprocessOptions): tf.Tensor3D {
  const crop = typeof options.crop === 'number' ? ([options.crop, options.crop] as const) : options.crop;
  const { channels = 3, resize = Math.round((Math.max(...crop) * 256) / 224) } = options;
  if (![1, 2, 3, 4].includes(channels)) throw new Error(`preprocess makes grey (1 channel), grey and alpha (2), RGB (3) or RGBA (4) input, not ${channels} channels`);
  const fallback = imagenetNormalization(channels);
  const { mean = fallback.mean, std = fallback.std } = options;
  if (mean.length !== channels || std.length !== channels) throw new Error(`the normalisation has ${mean.length} means and ${std.length} deviations for ${channels} channels`);
  const box = cropBox(image, resize, crop);
  // torchvision would pad with black; a crop that does not fit is a resize chosen too small.
  if (box.height < crop[0] || box.width < crop[1]) throw new Error(`the image resized to ${box.width}×${box.height} is smaller than the ${crop[1]}×${crop[0]} crop (width × height)`);
  return tf.tidy(() => {
    const pixels = tf.tensor3d(modelChannels(image, channels), [image.height, image.width, channels]);
    const resized = box.width === image.width && box.height === image.height ? pixels : tf.image.resizeBilinear(pixels, [box.height, box.width], false, true);
    const cropped = resized.slice([box.top, box.left, 0], [crop[0], crop[1], channels]);
    return cropped.div(255).sub(tf.tensor1d([...mean])).div(tf.tensor1d([...std])) as tf.Tensor3D;
  });
}

/**
 * Resize(resize) then CenterCrop(crop) as torchvision computes them: the resized size — the longer side truncated,
 * int(resize × long / short) — and the crop's top left corner, int(round((size − crop) / 2)) with Python's round.
 */
function cropBox(image: { width: number; height: number }, resize: number, crop: readonly [height: number, width: number]) {
  const short = Math.min(image.width, image.height);
  const scaled = (side: number) => (side === short ? resize : Math.floor((resize * side) / short));
  const [height, width] = [scaled(image.height), scaled(image.width)];
  return { height, width, top: roundHalfToEven((height - crop[0]) / 2), left: roundHalfToEven((width - crop[1]) / 2) };
}

function roundHalfToEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/**
 * The pixels as `channels` channels of floats from 0 to 255: grey is the rounded luma of PIL's convert('L'),
 * alpha is 255 where the image has none. Built once here rather than as tensors, which would hold 4 bytes per
 * source channel in int32 and again in float.
 */
function modelChannels(image: DecodedImage, channels: number): Float32Array {
  const { data, channels: stride } = image;
  const count = image.width * image.height;
  const grey = channels <= 2;
  const alpha = channels % 2 === 0;
  const out = new Float32Array(count * channels);
  for (let pixel = 0, i = 0, o = 0; pixel < count; pixel++, i += stride) {
    if (grey) {
      out[o++] = (data[i]! * LUMA[0] + data[i + 1]! * LUMA[1] + data[i + 2]! * LUMA[2] + 0x8000) >> 16;
    } else {
      out[o++] = data[i]!;
      out[o++] = data[i + 1]!;
      out[o++] = data[i + 2]!;
    }
    if (alpha) out[o++] = stride === 4 ? data[i + 3]! : 255;
  }
  return out;
}
