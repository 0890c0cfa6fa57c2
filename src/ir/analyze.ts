import { assertNever, InternalError } from '../diagnostics.js';
import type { Graph, Op } from './graph.js';

/** Output shape of one image, without the batch dimension: [height, width, channels] or [features]. */
export type Shape = readonly number[];

export interface LayerAnalysis {
  readonly op: Op;
  readonly outputShape: Shape;
  /** What PyTorch's `parameters()` counts. */
  readonly trainable: number;
  /** BatchNorm running statistics: state, not parameters. */
  readonly nonTrainable: number;
  /** Multiply-accumulates per image, counted for convolutions and dense layers as torchvision's figures are. */
  readonly macs: number;
}

export interface AnalyzedGraph extends Graph {
  readonly layers: readonly LayerAnalysis[];
  readonly inputShape: Shape;
  /** The shape of each output, in the order of `outputs`. */
  readonly outputShapes: readonly Shape[];
  readonly params: { readonly trainable: number; readonly nonTrainable: number; readonly total: number };
  readonly macs: number;
}

/** PyTorch's output size of a padded, strided, dilated window: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1. */
export function outputSize(size: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** PyTorch's ceil-mode size for an unpadded `stride`×`stride` pool: ⌈n / s⌉ (a partial last window is kept). */
export function ceilPooledSize(size: number, stride: number): number {
  return Math.ceil(size / stride);
}

/**
 * Computes every op's output shape, parameters and multiply-accumulates by arithmetic alone. Inconsistencies
 * here are compiler bugs, not user errors, so they throw. Counts are exact up to 2^53, far above the limits; the
 * schema's extremes can go past it, and the limits check rejects such a model, naming its counts as approximations.
 */
export function analyze(graph: Graph): AnalyzedGraph {
  const byName = new Map<string, LayerAnalysis>();
  const layers = graph.ops.map((op) => {
    if (byName.has(op.name)) throw new InternalError(`duplicate op name ${op.name}`);
    const inputs = op.inputs.map((name) => {
      const found = byName.get(name);
      if (!found) throw new InternalError(`${op.name} reads ${name}, which is not defined before it`);
      return found;
    });
    const layer = analyzeOp(op, inputs);
    if (layer.outputShape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
      throw new InternalError(`${op.name} has output shape ${layer.outputShape.join('×')}`);
    }
    byName.set(op.name, layer);
    return layer;
  });
  const input = layers[0];
  if (!input || input.op.kind !== 'input') throw new InternalError(`graph ${graph.name} lacks its input`);
  const outputShapes = graph.outputs.map((output) => {
    const found = byName.get(output.op);
    if (!found) throw new InternalError(`output ${output.name} reads ${output.op}, which is not defined`);
    return found.outputShape;
  });
  if (outputShapes.length === 0 || new Set(graph.outputs.map((o) => o.name)).size !== outputShapes.length) {
    throw new InternalError(`graph ${graph.name} has no outputs or duplicate output names`);
  }
  // tfjs drops layers that reach no output, so such an op would make the analysis disagree with the model.
  const live = new Set(graph.outputs.map((o) => o.op));
  for (const op of [...graph.ops].reverse()) if (live.has(op.name)) op.inputs.forEach((name) => live.add(name));
  const dead = graph.ops.find((op) => !live.has(op.name));
  if (dead) throw new InternalError(`${dead.name} reaches no output of ${graph.name}`);
  const sum = (pick: (layer: LayerAnalysis) => number) => layers.reduce((total, layer) => total + pick(layer), 0);
  const trainable = sum((layer) => layer.trainable);
  const nonTrainable = sum((layer) => layer.nonTrainable);
  return {
    ...graph,
    layers,
    inputShape: input.outputShape,
    outputShapes,
    params: { trainable, nonTrainable, total: trainable + nonTrainable },
    macs: sum((layer) => layer.macs),
  };
}

function analyzeOp(op: Op, inputs: readonly LayerAnalysis[]): LayerAnalysis {
  const arity = op.kind === 'input' ? 0 : op.kind === 'add' ? 2 : 1;
  if (inputs.length !== arity) throw new InternalError(`${op.name} (${op.kind}) has ${inputs.length} inputs`);
  const layer = (outputShape: Shape, trainable = 0, nonTrainable = 0, macs = 0): LayerAnalysis => ({
    op,
    outputShape,
    trainable,
    nonTrainable,
    macs,
  });
  if (op.kind === 'input') return layer(op.shape);
  const [h, w, c] = spatial(op, inputs[0]!.outputShape);
  switch (op.kind) {
    case 'conv2d': {
      if (c % op.groups !== 0 || op.filters % op.groups !== 0) {
        throw new InternalError(`${op.name} splits ${c}→${op.filters} channels into ${op.groups} groups`);
      }
      const oh = outputSize(h, op.kernelSize, op.stride, op.padding, op.dilation);
      const ow = outputSize(w, op.kernelSize, op.stride, op.padding, op.dilation);
      const weights = op.kernelSize * op.kernelSize * (c / op.groups) * op.filters;
      return layer([oh, ow, op.filters], weights, 0, oh * ow * weights);
    }
    case 'batchNorm':
      return layer([h, w, c], 2 * c, 2 * c);
    case 'relu':
      return layer([h, w, c]);
    case 'add': {
      const other = inputs[1]!.outputShape;
      if (other.join() !== [h, w, c].join()) {
        throw new InternalError(`${op.name} adds ${[h, w, c].join('×')} to ${other.join('×')}`);
      }
      return layer([h, w, c]);
    }
    case 'maxPool':
      if (op.padding > 0 && inputs[0]!.op.kind !== 'relu') {
        throw new InternalError(`${op.name} zero-pads an input that may be negative`);
      }
      return layer([outputSize(h, op.poolSize, op.stride, op.padding), outputSize(w, op.poolSize, op.stride, op.padding), c]);
    case 'avgPool':
      return layer([ceilPooledSize(h, op.stride), ceilPooledSize(w, op.stride), c]);
    case 'globalAvgPool':
      return layer([c]);
    case 'dropout':
      return layer([c]);
    case 'dense':
      return layer([op.units], c * op.units + op.units, 0, c * op.units);
    default:
      return assertNever(op);
  }
}

function spatial(op: Op, shape: Shape): readonly [number, number, number] {
  if (op.kind === 'dense' || op.kind === 'dropout') {
    if (shape.length !== 1) throw new InternalError(`${op.name} expects a vector, got ${shape.join('×')}`);
    return [1, 1, shape[0]!];
  }
  if (shape.length !== 3) throw new InternalError(`${op.name} expects a feature map, got ${shape.join('×')}`);
  return shape as readonly [number, number, number];
}
