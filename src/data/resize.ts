/**
 * Pixel work on 8-bit channels-last images, in plain JavaScript: conversion to a model's channel count and PIL's
 * antialiased bilinear resampling, so that images cached at a model's input size look as torchvision's
 * Resize + CenterCrop on PIL images make them.
 */

export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** ITU-R BT.601 luma weights in 16-bit fixed point, as PIL's convert('L') applies them. */
const LUMA = [19595, 38470, 7471] as const;

/** RGB (3) or RGBA (4) pixels as 1 grey, 2 grey and alpha, 3 RGB or 4 RGBA channels; alpha is 255 where there is none. */
export function convertChannels(image: Pixels, channels: number): Pixels {
  const { data, channels: stride } = image;
  if (stride === channels) return image;
  const count = image.width * image.height;
  const grey = channels <= 2;
  const alpha = channels % 2 === 0;
  const out = new Uint8Array(count * channels);
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
  return { width: image.width, height: image.height, channels, data: out };
}

/**
 * torchvision's evaluation transform: the shorter side resized to `resize` (default the longer of `height` and
 * `width`; the longer side truncated, as torchvision computes it), then a centre crop of height × width.
 */
export function resizeAndCentreCrop(image: Pixels, height: number, width: number, resize = Math.max(height, width)): Pixels {
  const short = Math.min(image.width, image.height);
  const target = resize;
  const scaled = (side: number) => (side === short ? target : Math.floor((target * side) / short));
  const resized = resample(image, { left: 0, top: 0, width: image.width, height: image.height }, scaled(image.width), scaled(image.height));
  const top = roundHalfToEven((resized.height - height) / 2);
  const left = roundHalfToEven((resized.width - width) / 2);
  return crop(resized, left, top, width, height);
}

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Resamples the `box` of an image to width × height with PIL's bilinear filter, widened when shrinking (antialiasing). */
export function resample(image: Pixels, box: Box, width: number, height: number): Pixels {
  if (box.left === 0 && box.top === 0 && box.width === width && box.height === height && width === image.width && height === image.height) return image;
  const horizontal = filterTaps(box.left, box.width, width);
  const vertical = filterTaps(box.top, box.height, height);
  const { channels } = image;
  // Rows of the box resampled across, then columns down, in floats; rounded once at the end.
  const rows = new Float32Array(box.height * width * channels);
  for (let y = 0; y < box.height; y++) {
    const source = (box.top + y) * image.width * channels;
    for (let x = 0; x < width; x++) {
      const { first, weights } = horizontal[x]!;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k]! * image.data[source + (first + k) * channels + c]!;
        rows[(y * width + x) * channels + c] = sum;
      }
    }
  }
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const { first, weights } = vertical[y]!;
    for (let i = 0; i < width * channels; i++) {
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k]! * rows[(first - box.top + k) * width * channels + i]!;
      out[y * width * channels + i] = Math.min(255, Math.max(0, Math.round(sum)));
    }
  }
  return { width, height, channels, data: out };
}

/** For each output position, the first source index and the normalised triangle-filter weights (PIL's precompute_coeffs). */
function filterTaps(start: number, size: number, outSize: number): { first: number; weights: Float64Array }[] {
  const scale = size / outSize;
  const stretch = Math.max(scale, 1);
  const support = stretch;
  return Array.from({ length: outSize }, (_, i) => {
    const centre = start + (i + 0.5) * scale;
    const first = Math.max(Math.floor(centre - support + 0.5), start);
    const last = Math.min(Math.floor(centre + support + 0.5), start + size);
    const weights = new Float64Array(last - first);
    let total = 0;
    for (let k = 0; k < weights.length; k++) {
      const w = Math.max(0, 1 - Math.abs((first + k - centre + 0.5) / stretch));
      weights[k] = w;
      total += w;
    }
    for (let k = 0; k < weights.length; k++) weights[k] = weights[k]! / total;
    return { first, weights };
  });
}

export function crop(image: Pixels, left: number, top: number, width: number, height: number): Pixels {
  if (left === 0 && top === 0 && width === image.width && height === image.height) return image;
  const { channels } = image;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * channels;
    out.set(image.data.subarray(from, from + width * channels), y * width * channels);
  }
  return { width, height, channels, data: out };
}

/**
 * torchvision's RandomResizedCrop box: ten tries at an area of `scale` of the image's and an aspect ratio between
 * 3/4 and 4/3 (uniform in its logarithm), else the whole image clamped to that ratio.
 */
export function randomResizedCropBox(width: number, height: number, random: () => number, scale: readonly [number, number] = [0.25, 1]): Box {
  const area = width * height;
  const logRatio = [Math.log(3 / 4), Math.log(4 / 3)] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + random() * (scale[1] - scale[0]));
    const ratio = Math.exp(logRatio[0] + random() * (logRatio[1] - logRatio[0]));
    const w = Math.round(Math.sqrt(targetArea * ratio));
    const h = Math.round(Math.sqrt(targetArea / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: Math.floor(random() * (width - w + 1)), top: Math.floor(random() * (height - h + 1)), width: w, height: h };
    }
  }
  const ratio = width / height;
  const w = ratio < 3 / 4 ? width : ratio > 4 / 3 ? Math.round(height * (4 / 3)) : width;
  const h = ratio < 3 / 4 ? Math.round(width / (3 / 4)) : height;
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

function roundHalfToEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}
