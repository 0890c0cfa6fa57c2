import * as tf from '@tensorflow/tfjs';
import { batchNormAffine } from '../ops/batch-norm-affine.js';
import { efficientChannelGate, squeezeExciteGate } from '../ops/squeeze-excite.js';
import { groupedConv2d } from '../ops/conv2d.js';
import { resizeLike } from '../ops/resize.js';
import { retinanetTower } from '../ops/retinanet-head.js';
import type { LayerHelper } from '../ops/index.js';

/**
 * One step of a model at inference, as the compiler's inference pass planned it (each generated module exports its
 * `inferencePlan`): the layer it runs, with a BatchNorm folded into it and a ReLU fused after it where the pass
 * found them.
 */
export interface InferenceStep {
  readonly helper: LayerHelper;
  /** Its output's name, by which later steps read it. */
  readonly name: string;
  /** The layer whose weights it uses. */
  readonly layer: string;
  readonly inputs: readonly string[];
  /** The layer's options, as the model was built with them. */
  readonly options?: Readonly<Record<string, number | boolean>>;
  readonly batchNorm?: { readonly layer: string; readonly epsilon: number };
  readonly relu?: boolean;
}

export interface InferencePlan {
  /** The input's name, which steps read like any other value. */
  readonly input: string;
  readonly steps: readonly InferenceStep[];
  /** The value of each model output, in order. */
  readonly outputs: readonly string[];
}

export interface InferenceModel {
  /** Runs the model like `model.predict`, with the same outputs in the same order. */
  predict(x: tf.Tensor4D): tf.Tensor | tf.Tensor[];
  /** Frees the folded weights (the layers model keeps its own). */
  dispose(): void;
}

/** A step made runnable: its weights read (and folded) once, its inputs' values in, its value out. */
type Run = (inputs: tf.Tensor[]) => tf.Tensor;
/**
 * What preparing a step may do with the model's weights: read a layer's values once (to fold them), copy a layer's
 * weights that the step uses as they are, and keep tensors it derives; copies and kept tensors live until `dispose`.
 */
interface Weights {
  read(layer: string): tf.Tensor[];
  copy(layer: string): tf.Tensor[];
  keep<T extends tf.Tensor>(tensor: T): T;
}
type Prepare = (step: InferenceStep, weights: Weights) => Run;

const option = (step: InferenceStep, key: string, fallback?: number): number => {
  const value = step.options?.[key] ?? fallback;
  if (typeof value !== 'number') throw new Error(`the inference plan's step ${step.name} lacks its ${key}`);
  return value;
};
const symmetric = (p: number): [number, number][] => [[0, 0], [p, p], [p, p], [0, 0]];
const passThrough: Prepare = () => ([x]) => x!;

/** A convolution with its folded BatchNorm as a bias and its ReLU in one fused call (grouped ones as depthwise-and-sum). */
const convolution: Prepare = (step, weights) => {
  const kernelSize = option(step, 'kernelSize');
  const stride = option(step, 'stride');
  const padding = option(step, 'padding');
  const dilation = option(step, 'dilation', 1);
  const groups = option(step, 'groups', 1);
  let filter: tf.Tensor4D;
  let bias: tf.Tensor1D | undefined;
  if (step.batchNorm) {
    const { scale, shift } = affineOf(weights.read(step.batchNorm.layer), step.batchNorm.epsilon, weights);
    const [kernel, own] = weights.read(step.layer);
    filter = weights.keep(tf.tidy(() => kernel!.mul(scale)) as tf.Tensor4D);
    // A bias before the BatchNorm moves with the mean: scale·(w·x + b) + shift.
    bias = own ? weights.keep(tf.tidy(() => own.mul(scale).add(shift)) as tf.Tensor1D) : shift;
  } else {
    [filter, bias] = weights.copy(step.layer) as [tf.Tensor4D, tf.Tensor1D | undefined];
  }
  // tfjs `same` equals PyTorch's symmetric padding only at stride 1 with padding d(k − 1) / 2.
  const same = stride === 1 && 2 * padding === dilation * (kernelSize - 1);
  const activation = step.relu ? 'relu' : 'linear';
  if (groups === 1) {
    const pad = same ? 'same' : (symmetric(padding) as [[number, number], [number, number], [number, number], [number, number]]);
    return ([x]) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter, strides: stride, pad, dilations: dilation, bias, activation });
  }
  return ([x]) => {
    const padded = same || padding === 0 ? x! : tf.pad(x!, symmetric(padding));
    let y: tf.Tensor = groupedConv2d(padded as tf.Tensor4D, filter, groups, stride, same ? 'same' : 'valid', dilation);
    if (bias) y = y.add(bias);
    return step.relu ? y.relu() : y;
  };
};

function affineOf([gamma, beta, mean, variance]: tf.Tensor[], epsilon: number, weights: Weights): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const { scale, shift } = batchNormAffine(gamma!.dataSync(), beta!.dataSync(), mean!.dataSync(), variance!.dataSync(), epsilon);
  return { scale: weights.keep(tf.tensor1d(Float32Array.from(scale))), shift: weights.keep(tf.tensor1d(Float32Array.from(shift))) };
}

/** How the optimised path runs each helper's layer; dropout and stochastic depth never reach it. */
const kernels: Readonly<Record<LayerHelper, Prepare>> = {
  conv2d: convolution,
  batchNorm: (step, weights) => {
    const { scale, shift } = affineOf(weights.read(step.layer), option(step, 'epsilon'), weights);
    return ([x]) => x!.mul(scale).add(shift);
  },
  relu: () => ([x]) => x!.relu(),
  add: () => ([a, b]) => a!.add(b!),
  maxPool: (step) => {
    const [size, stride, padding] = ['poolSize', 'stride', 'padding'].map((key) => option(step, key)) as [number, number, number];
    // Zero padding equals PyTorch's −∞ only after a ReLU, which is the only place the compiler pads a max-pool.
    return ([x]) => tf.maxPool((padding > 0 ? tf.pad(x!, symmetric(padding)) : x!) as tf.Tensor4D, size, stride, 'valid');
  },
  avgPool: (step) => ([x]) => tf.avgPool(x as tf.Tensor4D, option(step, 'stride'), option(step, 'stride'), 'same'),
  globalAvgPool: (step) => ([x]) => x!.mean([1, 2], step.options?.keepDims === true),
  resize: (step) => ([x, reference]) => resizeLike(x as tf.Tensor4D, reference!.shape[1]!, reference!.shape[2]!, step.options?.bilinear === true),
  concat: () => (inputs) => tf.concat(inputs, -1),
  retinanetHead: (step, weights) => {
    const tower = weights.copy(step.layer);
    return (levels) => retinanetTower(levels as tf.Tensor4D[], tower, option(step, 'perAnchor'));
  },
  dropout: passThrough,
  dropPath: passThrough,
  dense: (step, weights) => {
    const [kernel, bias] = weights.copy(step.layer);
    return ([x]) => tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel as tf.Tensor2D, bias, activation: step.relu ? 'relu' : 'linear' });
  },
  squeezeExcite: (step, weights) => {
    const [fc1, fc1Bias, fc2, fc2Bias] = weights.copy(step.layer);
    return ([x]) => squeezeExciteGate(x as tf.Tensor4D, fc1!, fc1Bias!, fc2!, fc2Bias!);
  },
  efficientChannelAttention: (step, weights) => {
    const [kernel] = weights.copy(step.layer);
    return ([x]) => efficientChannelGate(x as tf.Tensor4D, kernel!);
  },
};

/**
 * An inference-only version of a model built by a generated module, running the plan the compiler's inference pass
 * made for it (`inferencePlan` from the same module): BatchNorms folded into the convolutions before them, ReLUs
 * fused into the same `tf.fused.conv2d` call, dense layers as one fused matrix multiply, dropout gone. Weights are
 * read once, when this is called; train or reload the layers model and call it again.
 */
export function optimizeForInference(model: tf.LayersModel, plan: InferencePlan): InferenceModel {
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(tensor: T): T => {
    kept.push(tensor);
    return tensor;
  };
  const read = (layer: string) => model.getLayer(layer).getWeights();
  const weights: Weights = { read, copy: (layer) => read(layer).map((w) => keep(w.clone())), keep };
  const runs = plan.steps.map((step) => ({ step, run: kernels[step.helper](step, weights) }));
  const lastUse = new Map<string, number>();
  runs.forEach(({ step }, i) => step.inputs.forEach((name) => lastUse.set(name, i)));
  return {
    predict: (x) => {
      // Each value is freed after its last reader runs, as the layers model frees them: holding every activation
      // of a large batch until the end costs more in memory traffic than fusion saves.
      const values = new Map<string, tf.Tensor>([[plan.input, x]]);
      runs.forEach(({ step, run }, i) => {
        values.set(step.name, tf.tidy(() => run(step.inputs.map((name) => values.get(name)!))));
        for (const name of new Set(step.inputs)) {
          if (lastUse.get(name) === i && name !== plan.input && !plan.outputs.includes(name)) values.get(name)!.dispose();
        }
      });
      const results = plan.outputs.map((name) => values.get(name)!);
      return results.length === 1 ? results[0]! : results;
    },
    dispose: () => tf.dispose(kept),
  };
}
