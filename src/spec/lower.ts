import type { Graph } from '../ir/graph.js';
import { STEM_POOL } from '../ops/window.js';
import { OpList, residualBlock } from './lower-block.js';
import { stageDilations, type NormalizedSpec } from './normalize.js';

/** Lowers a spec to the op graph, naming every op as torchvision (or timm, for its variants) names its module. */
export function lower(spec: NormalizedSpec): Graph {
  const ops = new OpList(spec.batchNorm);
  const { height, width, channels } = spec.input;
  const input = ops.emit({ kind: 'input', name: 'input', inputs: [], shape: [height, width, channels] });
  const stageOutputs = stages(ops, spec, stem(ops, spec, input));
  const x = head(ops, spec, stageOutputs.at(-1)!);
  const { head: kind } = spec;
  const features = spec.outputs.map((name) => ({ name, op: stageOutputs[Number(name.slice(1)) - 2]! }));
  const headOutput = { name: kind.type === 'classifier' ? 'logits' : kind.type === 'pool' ? 'features' : 'output', op: x };
  const outputs = features.length === 0 ? [{ name: 'output', op: x }] : kind.type === 'none' ? features : [...features, headOutput];
  return { name: spec.name, description: spec.description, source: spec.source, ops: ops.ops, outputs };
}

/** torchvision's stem (`conv1`, or ResNet-D's deep `conv1.0` … `conv1.6`), `bn1`, `relu` and the optional max-pool. */
function stem(ops: OpList, { stem }: NormalizedSpec, input: string): string {
  let x = input;
  if (stem.type === 'conv') {
    x = ops.conv('conv1', x, stem.width, stem.kernelSize, stem.stride);
  } else {
    x = ops.relu('conv1.2', ops.batchNorm('conv1.1', ops.conv('conv1.0', x, stem.midWidth, 3, stem.stride)));
    x = ops.relu('conv1.5', ops.batchNorm('conv1.4', ops.conv('conv1.3', x, stem.midWidth, 3, 1)));
    x = ops.conv('conv1.6', x, stem.width, 3, 1);
  }
  x = ops.relu('relu', ops.batchNorm('bn1', x));
  if (stem.pool === 'max') x = ops.emit({ kind: 'maxPool', name: 'maxpool', inputs: [x], poolSize: STEM_POOL.size, stride: STEM_POOL.stride, padding: STEM_POOL.padding });
  return x;
}

/** The stages' blocks; returns each built stage's output. */
function stages(ops: OpList, spec: NormalizedSpec, input: string): string[] {
  const { block, head } = spec;
  const dilations = stageDilations(spec.stages);
  // A features-only backbone ends at the last stage it returns, as torchvision's IntermediateLayerGetter and timm's
  // features_only models do: later stages would reach no output, and tfjs would leave them out of the model.
  const built = head.type === 'none' && spec.outputs.length > 0 ? Math.max(...spec.outputs.map((name) => Number(name.slice(1)) - 1)) : spec.stages.length;
  // timm's drop_path_rate: rising linearly over all blocks, from 0 at the first to the rate at the last.
  const blocks = spec.stages.reduce((sum, stage) => sum + stage.depth, 0);
  const outputs: string[] = [];
  let x = input;
  let inWidth = spec.stem.width;
  let index = 0;
  spec.stages.slice(0, built).forEach((stage, s) => {
    const { first, rest, stride } = dilations[s]!;
    for (let b = 0; b < stage.depth; b++) {
      const dropPath = blocks > 1 ? (block.dropPath * index++) / (blocks - 1) : 0;
      x = residualBlock(ops, block, { prefix: `layer${s + 1}.${b}`, input: x, inWidth, width: stage.width, stride: b === 0 ? stride : 1, dilation: b === 0 ? first : rest, dropPath });
      inWidth = stage.width * block.expansion;
    }
    outputs.push(x);
  });
  return outputs;
}

/** Pre-activation's final norm, then the pooled features or the classifier. */
function head(ops: OpList, { block, head, outputs }: NormalizedSpec, input: string): string {
  let x = input;
  // A feature-only backbone returns raw stage outputs; the final norm serves only a head or the lone output.
  if (block.preActivation && (head.type !== 'none' || outputs.length === 0)) x = ops.relu('relu_final', ops.batchNorm('bn_final', x));
  if (head.type !== 'none') x = ops.emit({ kind: 'globalAvgPool', name: 'avgpool', inputs: [x] });
  if (head.type === 'classifier') {
    if (head.dropout > 0) x = ops.emit({ kind: 'dropout', name: 'dropout', inputs: [x], rate: head.dropout });
    x = ops.emit({ kind: 'dense', name: 'fc', inputs: [x], units: head.classes });
  }
  return x;
}
