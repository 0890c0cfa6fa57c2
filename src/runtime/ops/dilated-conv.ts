import * as tf from '@tensorflow/tfjs';

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

interface ConvState {
  readonly kernel: tf.LayerVariable;
  readonly strides: number[];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: number[];
  readonly dataFormat: string;
  readonly useBias: boolean;
  readonly activation?: { getClassName(): string };
}

// tfjs does not export its Conv2D layer class, only a factory: its constructor is read off an instance.
const TfjsConv2D = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as (new (args: Conv2DArgs) => tf.layers.Layer) & Pick<typeof tf.layers.Layer, 'fromConfig'>;

/**
 * tfjs-layers' Conv2D, same class name, configuration and weights, which trains with a dilation above 1: tfjs runs
 * every Conv2D layer through its fused convolution, whose gradient refuses dilation, so a dilated layer without
 * bias or activation (all the compiler emits) runs the plain convolution, whose gradient training/wasm-gradients.ts passes
 * on to netspec's dilated backprop kernels. Undilated layers run tfjs-layers' own code.
 */
export class Conv2D extends TfjsConv2D {
  static readonly className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as ConvState;
    const plain = !state.useBias && (state.activation === undefined || state.activation.getClassName() === 'linear') && state.dataFormat === 'channelsLast';
    if (state.dilationRate.every((d) => d === 1) || !plain) return super.call(inputs, kwargs);
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const [sh, sw] = state.strides as [number, number];
    const [dh, dw] = state.dilationRate as [number, number];
    return tf.tidy(() => tf.conv2d(x, state.kernel.read() as tf.Tensor4D, [sh, sw], state.padding, 'NHWC', [dh, dw]));
  }
}

tf.serialization.registerClass(Conv2D);
