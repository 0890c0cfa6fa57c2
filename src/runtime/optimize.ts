import * as tf from '@tensorflow/tfjs';
import { batchNormAffine } from './batchnorm-affine.js';
import { groupedConv2d } from './grouped-conv.js';

/** One step of the optimised plan: reads earlier values by index, writes its own. */
interface Step {
  readonly inputs: readonly number[];
  readonly run: (values: tf.Tensor[]) => tf.Tensor;
}

export interface InferenceModel {
  /** Runs the model like `model.predict`, with the same outputs in the same order. */
  predict(x: tf.Tensor4D): tf.Tensor | tf.Tensor[];
  /** Frees the folded weights (the layers model keeps its own). */
  dispose(): void;
}

const layerConfig = (layer: tf.layers.Layer) => layer.getConfig() as Record<string, unknown>;

/**
 * An inference-only version of a model built by a generated module: each BatchNorm that follows a convolution is
 * folded into its kernel and a bias, a ReLU after it is fused into the same `tf.fused.conv2d` call, dense layers
 * become one fused matrix multiply, and dropout disappears. Weights are read once, when this is called; train
 * or reload the layers model and call it again.
 */
export function optimizeForInference(model: tf.LayersModel): InferenceModel {
  const layers = model.layers;
  const index = new Map(layers.map((layer, i) => [layer.name, i]));
  const inputsOf = (layer: tf.layers.Layer) => layer.inboundNodes[0]!.inboundLayers.map((l) => index.get(l.name)!);
  const consumers = new Map<number, number[]>();
  layers.forEach((layer, i) => inputsOf(layer).forEach((j) => consumers.set(j, [...(consumers.get(j) ?? []), i])));
  const outputs = new Set(model.outputLayers.map((l) => index.get(l.name)!));
  /** The single consumer of layer i, when nothing else (not even a model output) reads it. */
  const soleConsumer = (i: number) => {
    const next = consumers.get(i) ?? [];
    return next.length === 1 && !outputs.has(i) ? next[0]! : undefined;
  };
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    kept.push(t);
    return t;
  };
  const affine = (bn: tf.layers.Layer) => {
    const [gamma, beta, mean, variance] = bn.getWeights().map((w) => w.dataSync());
    return batchNormAffine(gamma!, beta!, mean!, variance!, layerConfig(bn).epsilon as number);
  };

  const steps: (Step | undefined)[] = new Array(layers.length);
  const define = (at: number, inputs: number[], run: Step['run']) => {
    steps[at] = { inputs, run };
  };
  /** Where each layer's value is found: folded layers forward to the step that computed them. */
  const source = layers.map((_, i) => i);
  /** Explicit padding a ZeroPadding2D hands to the convolution or pool that reads it. */
  const padOf = new Map<number, number>();

  layers.forEach((layer, i) => {
    if (steps[i] !== undefined || source[i] !== i) return;
    const [input] = inputsOf(layer);
    const from = (j: number) => source[j]!;
    const className = layer.getClassName();
    const config = layerConfig(layer);
    switch (className) {
      case 'InputLayer':
        return;
      case 'ZeroPadding2D': {
        const padding = (config.padding as number[][])[0]![0]!;
        padOf.set(i, padding);
        source[i] = from(input!);
        return;
      }
      case 'Conv2D':
      case 'GroupedConv2D': {
        const padding = padOf.get(input!);
        const x = from(input!);
        const pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] =
          padding !== undefined ? [[0, 0], [padding, padding], [padding, padding], [0, 0]] : (config.padding as 'same' | 'valid');
        const strides = (className === 'Conv2D' ? (config.strides as number[])[0] : config.strides) as number;
        const dilation = (className === 'Conv2D' ? (config.dilationRate as number[])[0] : config.dilationRate) as number;
        const kernel = layer.getWeights()[0]!;
        let last = i;
        let bias: tf.Tensor1D | undefined;
        let filter = kernel as tf.Tensor4D;
        const bnIndex = soleConsumer(i);
        if (bnIndex !== undefined && layers[bnIndex]!.getClassName() === 'BatchNormalization') {
          const { scale, shift } = affine(layers[bnIndex]!);
          filter = keep(tf.tidy(() => kernel.mul(tf.tensor1d(Array.from(scale)))) as tf.Tensor4D);
          bias = keep(tf.tensor1d(Array.from(shift)));
          last = bnIndex;
        } else {
          filter = keep(kernel.clone()) as tf.Tensor4D;
        }
        const reluIndex = soleConsumer(last);
        const relu = reluIndex !== undefined && layers[reluIndex]!.getClassName() === 'ReLU';
        if (relu) last = reluIndex!;
        const groups = className === 'GroupedConv2D' ? (config.groups as number) : 1;
        define(
          last,
          [x],
          groups === 1
            ? (values) => tf.fused.conv2d({ x: values[x] as tf.Tensor4D, filter, strides, pad, dilations: dilation, bias, activation: relu ? 'relu' : 'linear' })
            : (values) => {
                // Grouped convolutions take explicit padding as a pad op, then run as depthwise-and-sum.
                const padded = padding !== undefined ? tf.pad(values[x]!, pad as [number, number][]) : values[x]!;
                let y: tf.Tensor = groupedConv2d(padded as tf.Tensor4D, filter, groups, strides, padding !== undefined ? 'valid' : (pad as 'same' | 'valid'), dilation);
                if (bias) y = y.add(bias);
                return relu ? y.relu() : y;
              },
        );
        for (const folded of [i, bnIndex, reluIndex]) if (folded !== undefined && folded <= last) source[folded] = last;
        return;
      }
      case 'BatchNormalization': {
        const { scale, shift } = affine(layer);
        const s = keep(tf.tensor1d(Array.from(scale)));
        const t = keep(tf.tensor1d(Array.from(shift)));
        const x = from(input!);
        define(i, [x], (values) => values[x]!.mul(s).add(t));
        return;
      }
      case 'ReLU': {
        const x = from(input!);
        define(i, [x], (values) => values[x]!.relu());
        return;
      }
      case 'Add': {
        const [a, b] = inputsOf(layer).map(from);
        define(i, [a!, b!], (values) => values[a!]!.add(values[b!]!));
        return;
      }
      case 'MaxPooling2D': {
        const padding = padOf.get(input!) ?? 0;
        const x = from(input!);
        const size = (config.poolSize as number[])[0]!;
        const stride = (config.strides as number[])[0]!;
        define(i, [x], (values) => {
          const padded = padding > 0 ? tf.pad(values[x]!, [[0, 0], [padding, padding], [padding, padding], [0, 0]]) : values[x]!;
          return tf.maxPool(padded as tf.Tensor4D, size, stride, 'valid');
        });
        return;
      }
      case 'AveragePooling2D': {
        const x = from(input!);
        const size = (config.poolSize as number[])[0]!;
        const stride = (config.strides as number[])[0]!;
        define(i, [x], (values) => tf.avgPool(values[x] as tf.Tensor4D, size, stride, config.padding as 'same' | 'valid'));
        return;
      }
      case 'GlobalAveragePooling2D': {
        const x = from(input!);
        define(i, [x], (values) => values[x]!.mean([1, 2]));
        return;
      }
      case 'Dropout':
        source[i] = from(input!);
        return;
      case 'Dense': {
        const [kernel, bias] = layer.getWeights();
        const b = keep(kernel!.clone()) as tf.Tensor2D;
        const c = keep(bias!.clone());
        const x = from(input!);
        define(i, [x], (values) => tf.fused.matMul({ a: values[x] as tf.Tensor2D, b, bias: c }));
        return;
      }
      default:
        throw new Error(`optimizeForInference does not know the layer ${layer.name} (${className})`);
    }
  });

  const outputIndices = model.outputLayers.map((l) => source[index.get(l.name)!]!);
  const uses = new Array<number>(layers.length).fill(0);
  for (const step of steps) step?.inputs.forEach((j) => uses[j]!++);
  return {
    predict: (x) => {
      // Each value is freed after its last reader runs, as the layers model frees them: holding every activation
      // of a large batch until the end costs more in memory traffic than fusion saves.
      const values: tf.Tensor[] = new Array(layers.length);
      const remaining = [...uses];
      values[0] = x;
      steps.forEach((step, i) => {
        if (!step) return;
        values[i] = tf.tidy(() => step.run(values));
        for (const j of step.inputs) if (--remaining[j]! === 0 && j !== 0 && !outputIndices.includes(j)) values[j]!.dispose();
      });
      const results = outputIndices.map((i) => values[i]!);
      return results.length === 1 ? results[0]! : results;
    },
    dispose: () => tf.dispose(kept),
  };
}
