import type { AnalyzedGraph } from '../ir/analyze.js';
import type { Init } from '../ops/op.js';
import { mulberry32 } from '../random/mulberry32.js';
import { weightSlots } from './mapping.js';
import type { FloatTensor } from './safetensors.js';

/**
 * Freshly initialised weights in PyTorch names and layouts, reproducible from a seed, each as its op's module
 * declares (He normal over fan-out for convolutions as torchvision, BatchNorm as identity, nn.Linear's uniform
 * ±1/√fan_in, zeros where zeroInitResidual asks). For exporting a model that has no trained weights yet, and for
 * starting training; byte-identical run to run.
 */
export function initialWeights(graph: AnalyzedGraph, seed = 0): Map<string, FloatTensor> {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const draw: { readonly [K in Init['kind']]: (init: Extract<Init, { kind: K }>) => () => number } = {
    normal:
      ({ std }) =>
      () =>
        normal() * std,
    uniform:
      ({ bound }) =>
      () =>
        (2 * random() - 1) * bound,
    constant:
      ({ value }) =>
      () =>
        value,
  };
  const weights = new Map<string, FloatTensor>();
  for (const slot of weightSlots(graph)) {
    const next = (draw[slot.init.kind] as (init: Init) => () => number)(slot.init);
    const data = new Float32Array(slot.torchShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next();
    weights.set(slot.torchName, { shape: slot.torchShape, data });
  }
  return weights;
}
