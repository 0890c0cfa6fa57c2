import { InternalError } from '../errors/internal-error.js';
import type { LayerHelper } from '../runtime/ops/names.js';
import type { OnnxGraph } from './onnx.js';
import type { PytorchForm } from './pytorch.js';
import type { SideFormula } from './side-formula.js';

/** Output shape of one image, without the batch dimension: [height, width, channels] or [features]. */
export type Shape = readonly number[];

/** Every op's common fields: a name that doubles as its weight prefix, and the ops it reads. */
export interface OpBase {
  readonly kind: string;
  /** torchvision's (or timm's) module name: `conv1`, `layer2.0.downsample.0`, `fc`. */
  readonly name: string;
  /** Names of the ops whose outputs this op consumes. */
  readonly inputs: readonly string[];
}

/** What an op produces for one image, and what it costs. */
export interface OpAnalysis {
  readonly outputShape: Shape;
  /** What PyTorch's `parameters()` counts. */
  readonly trainable: number;
  /** BatchNorm running statistics: state, not parameters. */
  readonly nonTrainable: number;
  /** Multiply-accumulates per image, counted for convolutions and dense layers as torchvision's figures are. */
  readonly macs: number;
}

/** One input as analysis sees it: the kind of op that made it and its shape. */
export interface AnalyzedInput {
  readonly kind: string;
  readonly shape: Shape;
}

/** How a fresh weight starts, in PyTorch's terms. */
export type Init =
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'constant'; readonly value: number };

/**
 * One weight of an op: its PyTorch name under the op's name and layout, and its name and layout in the tfjs layer.
 * conv: OIHW ↔ HWIO; linear: [out, in] ↔ [in, out]; vector: as is.
 */
export interface WeightSpec {
  /** After the op name and a dot in PyTorch: `weight`, `running_mean`, `fc1.bias`. */
  readonly torch: string;
  readonly torchShape: readonly number[];
  /** After the layer name and a slash in tfjs: `kernel`, `moving_mean`, `fc1/bias`. */
  readonly tfjs: string;
  readonly tfjsShape: readonly number[];
  readonly layout: 'conv' | 'linear' | 'vector';
  readonly init: Init;
}

/**
 * How the tfjs model builds an op, `helper(...inputs, name, options)`, and how the optimised path runs it: the
 * runtime has a layer builder and an inference kernel under each helper name. Only non-default options are listed.
 */
export interface RuntimeCall {
  readonly helper: LayerHelper;
  readonly options?: Readonly<Record<string, number | boolean>>;
}

/** What the inference pass may do with an op. */
export interface Fusion {
  /** Folds a BatchNorm that reads only this op into its weights, and then a ReLU that reads only the result. */
  readonly absorbsBatchNormAndRelu?: boolean;
  /** Does nothing at inference (dropout, stochastic depth): the pass removes it. */
  readonly identityAtInference?: boolean;
}

/** An op after the inference pass: possibly with a BatchNorm folded in and a ReLU fused after it. */
export interface FusedStep<O extends OpBase = OpBase> {
  readonly op: O;
  /** The name of the step's output: the last op it absorbed. */
  readonly name: string;
  /** Step names it reads. */
  readonly inputs: readonly string[];
  readonly batchNorm?: { readonly name: string; readonly epsilon: number };
  readonly relu?: boolean;
}

/** An op's output side as a formula of the input image's side, and the smallest side of its own input it takes. */
export interface SideRule {
  /** null when the output is not a feature map (a vector, or RetinaNet's joined levels). */
  readonly side: SideFormula | null;
  readonly smallestInput: number;
  /** For an output of [this × the inputs' pixels together, values]: RetinaNet's anchors per location. */
  readonly perInputPixel?: number;
}

/**
 * Everything about one op kind, so that adding an op is one module: its analysis, its weights, the runtime call
 * the tfjs model is built with, what the inference pass may do with it, its ONNX nodes and its PyTorch form.
 */
export interface OpDefinition<O extends OpBase> {
  /** How many inputs it reads: a number, or 'many' for one or more. */
  readonly arity: number | 'many';
  readonly analyze: (op: O, inputs: readonly AnalyzedInput[]) => OpAnalysis;
  /**
   * How it changes its inputs' height and width (its windows are square, so both alike), as `analyze` does at one
   * size; omitted when it keeps them.
   */
  readonly sides?: (op: O, inputs: readonly SideFormula[]) => SideRule;
  /** What its multiply-accumulates grow with: its output's pixels, or its inputs' pixels together; omitted: neither. */
  readonly macsGrowWith?: 'outputPixels' | 'inputPixels';
  /** Its weights in execution order, given its input shapes; `[]` for ops without any. */
  readonly weights: (op: O, inputs: readonly Shape[]) => readonly WeightSpec[];
  readonly call: (op: O) => RuntimeCall;
  readonly fusion?: Fusion;
  /** Appends its ONNX nodes (NCHW) and initialisers, reading the ONNX values `inputs`; returns its output value. */
  readonly onnx: (step: FusedStep<O>, inputs: readonly string[], graph: OnnxGraph) => string;
  /** Its form in the emitted PyTorch module; the input has none (it is `forward`'s argument). */
  readonly pytorch: PytorchForm<O> | null;
}

/** The [height, width, channels] of a feature-map input; anything else is a compiler bug. */
export function featureMap(op: OpBase, shape: Shape): readonly [number, number, number] {
  if (shape.length !== 3) throw new InternalError(`${op.name} expects a feature map, got ${shape.join('×')}`);
  return shape as readonly [number, number, number];
}

/** The length of a vector input; anything else is a compiler bug. */
export function vector(op: OpBase, shape: Shape): number {
  if (shape.length !== 1) throw new InternalError(`${op.name} expects a vector, got ${shape.join('×')}`);
  return shape[0]!;
}

/** An analysis with nothing to count. */
export const shapeOnly = (outputShape: Shape): OpAnalysis => ({ outputShape, trainable: 0, nonTrainable: 0, macs: 0 });

/** A per-channel vector weight, laid out alike in PyTorch and tfjs. */
export const vectorWeight = (torch: string, tfjs: string, size: number, init: Init): WeightSpec => ({
  torch,
  torchShape: [size],
  tfjs,
  tfjsShape: [size],
  layout: 'vector',
  init,
});
