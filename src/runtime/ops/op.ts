// What every layer helper's module shares: how its builder adds a layer to the model being built, the input shape
// tfjs hands a layer, and how the optimised path asks it for an inference kernel.
import * as tf from '@tensorflow/tfjs';
import type { InferenceStep } from '../inference/plan.js';

export type SymbolicTensor = tf.SymbolicTensor;

/** The layer applied to its input (or inputs) in the model being built. */
export function apply(layer: tf.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** The shape of a single-input layer's input, as tfjs hands it to `build` and `computeOutputShape`: alone or in a list. */
export function soleInputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}

/** A layer's first input, as tfjs hands inputs to `call`: alone or in a list. */
export const firstInput = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;

type Initializer = ReturnType<typeof tf.initializers.zeros>;

let drawing = true;

/**
 * Runs `build` with every random initial value left at zero, for a model whose weights are all set next: tfjs
 * draws them one by one in JavaScript, seconds for a ResNet-50 that loading then overwrites.
 */
export function withoutRandomInit<T>(build: () => T): T {
  drawing = false;
  try {
    return build();
  } finally {
    drawing = true;
  }
}

/** A random initialiser that gives zeros inside withoutRandomInit; its class and configuration stay tfjs' own. */
function random(initializer: Initializer): Initializer {
  const draw = initializer.apply.bind(initializer);
  initializer.apply = (shape, dtype) => (drawing ? draw(shape, dtype) : tf.zeros(shape as number[], dtype));
  return initializer;
}

/** torchvision's conv initialisation: He normal over fan-out. */
export const heNormalFanOut = () => random(tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal' }));

/** Uniform in ±bound. */
export const uniform = (bound: number) => random(tf.initializers.randomUniform({ minval: -bound, maxval: bound }));

/** PyTorch's default bias initialisation: uniform in ±1/√fan_in. */
export const uniformFanIn = (fanIn: number) => uniform(1 / Math.sqrt(fanIn));

/** Normal around zero. */
export const normal = (stddev: number) => random(tf.initializers.randomNormal({ mean: 0, stddev }));

/** A step made runnable: its weights read (and folded) once, its inputs' values in, its value out. */
export type Run = (inputs: tf.Tensor[]) => tf.Tensor;

/**
 * What preparing a step may do with the model's weights: read a layer's values once (to fold them), copy a layer's
 * weights that the step uses as they are, and keep tensors it derives; copies and kept tensors live until `dispose`.
 */
export interface Weights {
  read(layer: string): tf.Tensor[];
  copy(layer: string): tf.Tensor[];
  keep<T extends tf.Tensor>(tensor: T): T;
}

/** How the optimised path runs a helper's layer: a planned step prepared, once, into what it computes. */
export type Kernel = (step: InferenceStep, weights: Weights) => Run;

/** A layer helper as the runtime has it: its builder, `build(...inputs, name, options)`, and its inference kernel. */
export interface RuntimeOp {
  readonly build: (...args: never) => SymbolicTensor;
  readonly kernel: Kernel;
}

/** A step's numeric option, or `fallback` when the plan leaves it at its default. */
export function option(step: InferenceStep, key: string, fallback?: number): number {
  const value = step.options?.[key] ?? fallback;
  if (typeof value !== 'number') throw new Error(`the inference plan's step ${step.name} lacks its ${key}`);
  return value;
}

/** NHWC padding of `p` on every side of height and width, as PyTorch pads. */
export const symmetric = (p: number): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

/** The kernel of a layer that does nothing at inference (dropout, stochastic depth); the pass removes such steps. */
export const passThrough: Kernel =
  () =>
  ([x]) =>
    x!;
