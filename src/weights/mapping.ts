import { InternalError } from '../errors/internal-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { definitionOf } from '../ops/index.js';
import type { WeightSpec } from '../ops/op.js';

/**
 * One weight tensor as PyTorch names and lays it out (`layer1.0.conv1.weight`, OIHW) and as the generated
 * tfjs model holds it (`layer1.0.conv1/kernel`, HWIO). Op names are torchvision's module names, so the
 * PyTorch key is the op name plus the parameter's name.
 */
export interface WeightSlot extends Omit<WeightSpec, 'torch' | 'tfjs'> {
  /** The op (tfjs layer) the weight belongs to. */
  readonly layer: string;
  readonly torchName: string;
  readonly tfjsName: string;
}

/** Every weight of the model, in execution order, as each op's module declares them. BatchNorm's `num_batches_tracked` has no tfjs counterpart. */
export function weightSlots(graph: AnalyzedGraph): WeightSlot[] {
  const shapeOf = new Map(graph.layers.map((layer) => [layer.op.name, layer.outputShape]));
  return graph.ops.flatMap((op) =>
    definitionOf(op)
      .weights(
        op,
        op.inputs.map((name) => shapeOf.get(name)!),
      )
      .map(({ torch, tfjs, ...weight }) => ({ layer: op.name, torchName: `${op.name}.${torch}`, tfjsName: `${op.name}/${tfjs}`, ...weight })),
  );
}

/** What permuting a weight between layouts needs. */
type Layout = Pick<WeightSlot, 'torchName' | 'torchShape' | 'tfjsShape' | 'layout'>;

/** PyTorch layout → tfjs layout. */
export function toTfjs(slot: Layout, data: Float32Array, out = new Float32Array(data.length)): Float32Array {
  return permute(slot, data, out, 'toTfjs');
}

/** tfjs layout → PyTorch layout. */
export function toTorch(slot: Layout, data: Float32Array, out = new Float32Array(data.length)): Float32Array {
  return permute(slot, data, out, 'toTorch');
}

/** Side of the square tiles a permutation copies, so that reads and writes both stay within a few cache lines. */
const TILE = 32;

function permute(slot: Layout, data: Float32Array, out: Float32Array, direction: 'toTfjs' | 'toTorch'): Float32Array {
  if (data.length !== out.length) throw new InternalError(`${slot.torchName}: ${data.length} values into ${out.length}`);
  if (slot.layout === 'vector') {
    out.set(data);
    return out;
  }
  // A linear layer's [O, I] is a convolution's OIHW with H = W = 1. OIHW index o·K + t, with t = (i·H + h)·W + w,
  // ↔ HWIO index ((h·W + w)·I + i)·O + o: a transpose of [O, K] with K's rows reordered, copied tile by tile.
  const [O, I, H = 1, W = 1] = slot.torchShape as [number, number, number?, number?];
  const area = H * W;
  const K = I * area;
  const rowStart = new Int32Array(K);
  for (let t = 0; t < K; t++) {
    const i = Math.floor(t / area);
    rowStart[t] = ((t - i * area) * I + i) * O;
  }
  for (let o0 = 0; o0 < O; o0 += TILE) {
    for (let t0 = 0; t0 < K; t0 += TILE) {
      const oEnd = Math.min(O, o0 + TILE);
      const tEnd = Math.min(K, t0 + TILE);
      for (let o = o0; o < oEnd; o++) {
        if (direction === 'toTfjs') for (let t = t0; t < tEnd; t++) out[rowStart[t]! + o] = data[o * K + t]!;
        else for (let t = t0; t < tEnd; t++) out[o * K + t] = data[rowStart[t]! + o]!;
      }
    }
  }
  return out;
}
