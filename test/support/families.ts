import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/build/model.js';
import { withoutRandomInit } from '../../src/runtime/ops/op.js';
import type { AnalyzedGraph } from '../../src/ir/analyze.js';
import { importCheckpoint } from '../../src/weights/convert.js';
import { initialWeights } from '../../src/weights/init.js';
import { readSafetensors, writeSafetensors, type FloatTensor } from '../../src/weights/safetensors.js';

/** Small specs of every block family, for checks that compare two ways of running one model. */
export const familyBase = {
  input: { height: 24, width: 24, channels: 3 },
  stem: { type: 'conv', width: 8, kernelSize: 7, stride: 2, pool: 'max' },
  stages: { widths: [8, 16, 16], depths: [1, 2, 1], strides: [1, 2, 2] },
  head: { type: 'classifier', classes: 7 },
};

export const families: Record<string, object> = {
  basic: { block: { type: 'basic' } },
  bottleneck: { block: { type: 'bottleneck' } },
  grouped: { block: { type: 'bottleneck', groups: 4, widthPerGroup: 32 } },
  dilated: { block: { type: 'bottleneck' }, stages: { ...familyBase.stages, dilate: [false, true, true] } },
  'multi-output': { block: { type: 'bottleneck' }, head: { type: 'none' }, outputs: ['C2', 'C3', 'C4'] },
  'pre-activation': { block: { type: 'basic', preActivation: true } },
  'ResNet-D': {
    block: { type: 'bottleneck', shortcut: 'avgPool' },
    stem: { type: 'deep', width: 8, stride: 2, pool: 'max' },
    input: { height: 23, width: 23, channels: 3 },
  },
  'squeeze-excitation': { block: { type: 'bottleneck', attention: 'se' } },
  'ECA, ResNet-D, stochastic depth': { block: { type: 'bottleneck', shortcut: 'avgPool', attention: 'eca', dropPath: 0.2 } },
  'pre-activation with squeeze-excitation': { block: { type: 'basic', preActivation: true, attention: 'se' } },
  'CIFAR stem, pooled head, dropout': {
    block: { type: 'basic' },
    stem: { type: 'conv', width: 8, kernelSize: 3, stride: 1 },
    head: { type: 'classifier', classes: 7, dropout: 0.5 },
  },
  // timm's options, at odd sizes where floor and ceil, reflect and zero padding part.
  'BlurPool anti-aliasing in stem and blocks': {
    block: { type: 'bottleneck', antiAlias: 'blur' },
    stem: { type: 'conv', width: 8, kernelSize: 7, stride: 2, pool: 'max', antiAlias: 'blur' },
    input: { height: 29, width: 23, channels: 3 },
  },
  'average-pool anti-aliasing, tiered deep stem': {
    block: { type: 'basic', antiAlias: 'avg', shortcut: 'avgPool' },
    stem: { type: 'deep', width: 8, midWidth: [6, 4], stride: 2, pool: 'max', antiAlias: 'avg' },
    // Odd, yet even wherever a stage strides: the 2×2 pool drops what a strided shortcut keeps (as in timm).
    input: { height: 33, width: 17, channels: 3 },
  },
  'ResNet-RS: convolutional stem pool, SE ratio 0.25': {
    block: { type: 'bottleneck', shortcut: 'avgPool', attention: 'se', seRatio: 0.25 },
    stem: { type: 'deep', width: 8, stride: 2, pool: 'conv' },
    input: { height: 25, width: 19, channels: 3 },
  },
  'convolutional stem pool with BlurPool': {
    block: { type: 'basic' },
    stem: { type: 'conv', width: 8, kernelSize: 7, stride: 2, pool: 'conv', antiAlias: 'blur' },
    input: { height: 25, width: 19, channels: 3 },
  },
  GroupNorm: { block: { type: 'bottleneck', zeroInitResidual: true }, groupNorm: { groups: 4 }, input: { height: 27, width: 21, channels: 3 } },
  "senet154's reduced first convolutions and 3×3 strided shortcuts": {
    block: { type: 'bottleneck', groups: 2, widthPerGroup: 32, reduceFirst: 2, shortcutKernelSize: 3, attention: 'se' },
    input: { height: 27, width: 21, channels: 3 },
  },
  'pruned per-block widths with ECA': {
    block: { type: 'bottleneck', shortcut: 'avgPool', attention: 'eca' },
    stages: {
      ...familyBase.stages,
      blockWidths: [
        [[5, 3]],
        [
          [6, 4],
          [7, 5],
        ],
        [[4, 6]],
      ],
      outputWidths: [9, 13, 11],
    },
  },
};

/** A family's full spec. */
export const familySpec = (overrides: object) => ({ name: 'x', ...familyBase, ...overrides });

/** Seeded weights with BatchNorm statistics and scales away from the identity, so that folding is exercised. */
export function weightsFor(graph: AnalyzedGraph): Map<string, FloatTensor> {
  const weights = initialWeights(graph, 7);
  for (const [name, tensor] of weights) {
    const perturb = (f: (i: number) => number) => tensor.data.forEach((_, i) => (tensor.data[i] = f(i)));
    if (name.endsWith('.running_var')) perturb((i) => 0.5 + ((i * 13) % 10) / 10);
    else if (name.endsWith('.running_mean')) perturb((i) => ((i * 7) % 9) / 9 - 0.4);
    else if (tensor.shape.length === 1 && !name.startsWith('fc.')) perturb((i) => (name.endsWith('.weight') ? 0.6 : -0.2) + ((i * 5) % 8) / 10);
  }
  return weights;
}

/** The tfjs model of a graph with the given PyTorch-named weights (every one: importing refuses a missing weight). */
export function modelWithWeights(graph: AnalyzedGraph, weights: Map<string, FloatTensor>): tf.LayersModel {
  const imported = importCheckpoint(graph, 'x', readSafetensors('x', writeSafetensors(weights)));
  const model = withoutRandomInit(() => buildModel(graph));
  for (const layer of model.layers) {
    const mine = imported.weights.filter((w) => w.name.startsWith(`${layer.name}/`));
    if (mine.length > 0) layer.setWeights(mine.map((w) => tf.tensor(w.data, [...w.shape])));
  }
  return model;
}
