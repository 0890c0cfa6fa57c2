import { assertNever, InternalError } from '../diagnostics.js';
import type { AnalyzedGraph } from '../ir/analyze.js';

/**
 * One weight tensor as PyTorch names and lays it out (`layer1.0.conv1.weight`, OIHW) and as the generated
 * tfjs model holds it (`layer1.0.conv1/kernel`, HWIO). Op names are torchvision's module names, so the
 * PyTorch key is the op name plus the parameter's name.
 */
export interface WeightSlot {
  /** The op (tfjs layer) the weight belongs to. */
  readonly layer: string;
  readonly torchName: string;
  readonly torchShape: readonly number[];
  readonly tfjsName: string;
  readonly tfjsShape: readonly number[];
  /** conv: OIHW ↔ HWIO; linear: [out, in] ↔ [in, out]; vector: as is. */
  readonly layout: 'conv' | 'linear' | 'vector';
}

/** Every weight of the model, in execution order. BatchNorm's `num_batches_tracked` has no tfjs counterpart. */
export function weightSlots(graph: AnalyzedGraph): WeightSlot[] {
  const channelsOf = new Map(graph.layers.map((layer) => [layer.op.name, layer.outputShape[layer.outputShape.length - 1]!]));
  const vector = (layer: string, torch: string, tfjs: string, size: number): WeightSlot => ({
    layer,
    torchName: `${layer}.${torch}`,
    torchShape: [size],
    tfjsName: `${layer}/${tfjs}`,
    tfjsShape: [size],
    layout: 'vector',
  });
  return graph.ops.flatMap((op): WeightSlot[] => {
    const inputs = op.inputs.map((name) => channelsOf.get(name) ?? 0);
    switch (op.kind) {
      case 'conv2d': {
        const perGroup = inputs[0]! / op.groups;
        const k = op.kernelSize;
        return [{ layer: op.name, torchName: `${op.name}.weight`, torchShape: [op.filters, perGroup, k, k], tfjsName: `${op.name}/kernel`, tfjsShape: [k, k, perGroup, op.filters], layout: 'conv' }];
      }
      case 'batchNorm': {
        const c = inputs[0]!;
        return [vector(op.name, 'weight', 'gamma', c), vector(op.name, 'bias', 'beta', c), vector(op.name, 'running_mean', 'moving_mean', c), vector(op.name, 'running_var', 'moving_variance', c)];
      }
      case 'dense':
        return [
          { layer: op.name, torchName: `${op.name}.weight`, torchShape: [op.units, inputs[0]!], tfjsName: `${op.name}/kernel`, tfjsShape: [inputs[0]!, op.units], layout: 'linear' },
          vector(op.name, 'bias', 'bias', op.units),
        ];
      case 'input':
      case 'relu':
      case 'add':
      case 'maxPool':
      case 'avgPool':
      case 'globalAvgPool':
      case 'dropout':
        return [];
      default:
        return assertNever(op);
    }
  });
}

/** PyTorch layout → tfjs layout. */
export function toTfjs(slot: WeightSlot, data: Float32Array, out = new Float32Array(data.length)): Float32Array {
  return permute(slot, data, out, 'toTfjs');
}

/** tfjs layout → PyTorch layout. */
export function toTorch(slot: WeightSlot, data: Float32Array, out = new Float32Array(data.length)): Float32Array {
  return permute(slot, data, out, 'toTorch');
}

function permute(slot: WeightSlot, data: Float32Array, out: Float32Array, direction: 'toTfjs' | 'toTorch'): Float32Array {
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
