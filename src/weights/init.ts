import type { AnalyzedGraph } from '../ir/analyze.js';
import { weightSlots } from './mapping.js';
import type { FloatTensor } from './safetensors.js';

/**
 * Freshly initialised weights in PyTorch names and layouts, reproducible from a seed: He normal over fan-out for
 * convolutions (torchvision), BatchNorm as identity (scale 1, shift 0, mean 0, variance 1), and nn.Linear's
 * uniform ±1/√fan_in. For exporting a model that has no trained weights yet, byte-identical run to run.
 */
export function initialWeights(graph: AnalyzedGraph, seed = 0): Map<string, FloatTensor> {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const weights = new Map<string, FloatTensor>();
  /** nn.Linear's bound per dense layer; its bias (next in slot order) takes the same one. */
  const linearBounds = new Map<string, number>();
  for (const slot of weightSlots(graph)) {
    const size = slot.torchShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const param = slot.torchName.slice(slot.torchName.lastIndexOf('.') + 1);
    const bound = slot.layout === 'linear' ? 1 / Math.sqrt(slot.torchShape[1]!) : linearBounds.get(slot.layer);
    if (slot.layout === 'conv') {
      const [out, , k] = slot.torchShape as [number, number, number, number];
      const std = Math.sqrt(2 / (out * k * k));
      for (let i = 0; i < size; i++) data[i] = normal() * std;
    } else if (bound !== undefined) {
      linearBounds.set(slot.layer, bound);
      for (let i = 0; i < size; i++) data[i] = (2 * random() - 1) * bound;
    } else {
      data.fill(param === 'weight' || param === 'running_var' ? 1 : 0);
    }
    weights.set(slot.torchName, { shape: slot.torchShape, data });
  }
  return weights;
}

/** A small, fast, seeded generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
