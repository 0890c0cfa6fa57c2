import * as tf from '@tensorflow/tfjs';

/**
 * PyTorch's grouped convolution computed the plain way: pad symmetrically, then convolve each channel group
 * with its slice of the kernel and concatenate. The reference for GroupedConv2D and the baseline it is timed
 * against in bench/grouped-conv.ts.
 */
export function groupedConvReference(x: tf.Tensor4D, kernel: tf.Tensor4D, groups: number, stride: number, padding: number, dilation: number): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = tf.pad(x, [
      [0, 0],
      [padding, padding],
      [padding, padding],
      [0, 0],
    ]);
    const inputs = tf.split(padded, groups, 3);
    const kernels = tf.split(kernel, groups, 3);
    return tf.concat(
      inputs.map((input, g) => tf.conv2d(input as tf.Tensor4D, kernels[g] as tf.Tensor4D, stride, 'valid', 'NHWC', dilation)),
      3,
    );
  });
}
