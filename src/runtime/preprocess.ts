import * as tf from '@tensorflow/tfjs';

/** Decoded pixels, row by row, with 3 (RGB) or 4 (RGBA) bytes per pixel. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

/** torchvision's ImageNet normalisation. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface PreprocessOptions {
  /** Side of the square crop: the model's input size (224 for ImageNet models). */
  readonly crop: number;
  /** The shorter side is resized to this first (default: crop × 256 / 224, torchvision's 256 for 224). */
  readonly resize?: number;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/**
 * torchvision's ImageNet evaluation transform in tfjs: resize the shorter side (bilinear), centre-crop, scale to
 * [0, 1], subtract the mean and divide by the standard deviation per channel. Returns [crop, crop, 3], NHWC
 * without the batch. Bilinear resizing without antialiasing approximates PIL's when shrinking a lot.
 */
export function preprocess(image: DecodedImage, options: PreprocessOptions): tf.Tensor3D {
  const { crop, resize = Math.round((crop * 256) / 224), mean = IMAGENET_MEAN, std = IMAGENET_STD } = options;
  const scale = resize / Math.min(image.width, image.height);
  // torchvision truncates the longer side: int(256 × long / short).
  const height = image.height <= image.width ? resize : Math.floor(image.height * scale);
  const width = image.width < image.height ? resize : Math.floor(image.width * scale);
  const top = Math.round((height - crop) / 2);
  const left = Math.round((width - crop) / 2);
  return tf.tidy(() => {
    const pixels = tf.tensor3d(image.data, [image.height, image.width, image.channels], 'int32').slice([0, 0, 0], [-1, -1, 3]).toFloat();
    const resized = width === image.width && height === image.height ? pixels : tf.image.resizeBilinear(pixels, [height, width], false, true);
    const cropped = resized.slice([top, left, 0], [crop, crop, 3]);
    return cropped.div(255).sub(tf.tensor1d([...mean])).div(tf.tensor1d([...std])) as tf.Tensor3D;
  });
}

/** Decodes a JPEG or PNG file (told apart by their first bytes) with pure-JavaScript decoders. */
export async function decodeImage(bytes: Uint8Array): Promise<DecodedImage> {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const { default: jpeg } = await import('jpeg-js');
    const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    return { width: decoded.width, height: decoded.height, channels: 3, data: decoded.data };
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const { PNG } = await import('pngjs');
    const decoded = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: decoded.width, height: decoded.height, channels: 4, data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength) };
  }
  throw new Error('the image is neither JPEG nor PNG');
}
