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

function permute(slot: Layout, data: Float32Array, out: Float32Array, direction: 'toTfjs' | 'toTorch'): Float32Array {
  if (data.length !== out.length) throw new InternalError(`${slot.torchName}: ${data.length} values into ${out.length}`);
  if (slot.layout === 'vector') {
    out.set(data);
    return out;
  }
  if (slot.layout === 'linear') {
    const [rows, cols] = direction === 'toTfjs' ? slot.torchShape : slot.tfjsShape;
    for (let r = 0; r < rows!; r++) for (let c = 0; c < cols!; c++) out[c * rows! + r] = data[r * cols! + c]!;
    return out;
  }
  // OIHW index ((o·I + i)·H + h)·W + w  ↔  HWIO index ((h·W + w)·I + i)·O + o.
  const [O, I, H, W] = slot.torchShape as [number, number, number, number];
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const torch = ((o * I + i) * H + h) * W + w;
          const tfjs = ((h * W + w) * I + i) * O + o;
          if (direction === 'toTfjs') out[tfjs] = data[torch]!;
          else out[torch] = data[tfjs]!;
        }
      }
    }
  }
  return out;
}
