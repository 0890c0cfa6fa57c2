import type { Graph } from '../ir/graph.js';
import { STEM_POOL } from '../ops/window.js';
import { OpList, residualBlock } from './lower-block.js';
import { deepLabHead, fcnHead, fpn, retinanetHead, type Feature } from './lower-heads.js';
import { stageDilations, stageIndexOf, type NormalizedSpec, type NormalizedStem } from './normalize.js';

/**
 * Lowers a spec to the op graph, naming every op as torchvision (or timm, for its variants) names its module: a
 * classifier's layers at the top level, a segmentation model's backbone under `backbone.` and its heads under
 * `classifier.` and `aux_classifier.`, an FPN model's backbone under `body.` and pyramid under `fpn.` (both under
 * `backbone.` beside RetinaNet's `head.`).
 */
export function lower(spec: NormalizedSpec): Graph {
  const ops = new OpList(spec.normalization);
  const { size, channels } = spec.input;
  const [height, width] = size.kind === 'fixed' ? [size.height, size.width] : [size.bounds.maximum, size.bounds.maximum];
  const input = ops.emit({ kind: 'input', name: 'input', inputs: [], shape: [height, width, channels] });
  const base = {
    name: spec.name,
    description: spec.description,
    source: spec.source,
    ops: ops.ops,
    ...(spec.preprocess ? { preprocess: spec.preprocess } : {}),
    ...(size.kind === 'open' ? { openSize: size.bounds } : {}),
  };
  const { head, neck } = spec;
  if (neck) {
    const scope = head.type === 'retinanet' ? ops.scoped('backbone.') : ops;
    const features = backbone(scope.scoped('body.'), spec, input, Math.max(...neck.from) + 1);
    const levels = fpn(
      scope.scoped('fpn.'),
      neck,
      neck.from.map((s) => ({ ...features[s]!, level: s + 2 })),
    );
    if (head.type !== 'retinanet') return { ...base, outputs: levels };
    const perLocation = head.anchors.sizes[0]!.length * head.anchors.ratios[0]!.length;
    const { classification, regression } = retinanetHead(ops.scoped('head.'), levels, perLocation, head.classes);
    const task = { kind: 'detection', classes: head.classes, levels: levels.map((l) => l.op), anchors: head.anchors, decoding: head.detection } as const;
    return {
      ...base,
      outputs: [
        { name: 'cls_logits', op: classification },
        { name: 'bbox_regression', op: regression },
      ],
      task,
    };
  }
  if (head.type === 'fcn' || head.type === 'deeplabv3') {
    const features = backbone(ops.scoped('backbone.'), spec, input, spec.stages.length);
    const last = features.at(-1)!;
    const logits =
      head.type === 'fcn' ? fcnHead(ops.scoped('classifier.'), last, head.classes) : deepLabHead(ops.scoped('classifier.'), last, head.classes, head.rates);
    const outputs = [{ name: 'out', op: ops.emit({ kind: 'resize', name: 'classifier.upsample', inputs: [logits, input], mode: 'bilinear' }) }];
    if (head.aux) {
      const aux = fcnHead(ops.scoped('aux_classifier.'), features.at(-2)!, head.classes);
      outputs.push({ name: 'aux', op: ops.emit({ kind: 'resize', name: 'aux_classifier.upsample', inputs: [aux, input], mode: 'bilinear' }) });
    }
    return { ...base, outputs, task: { kind: 'segmentation', classes: head.classes } };
  }
  // A features-only backbone ends at the last stage it returns, as torchvision's IntermediateLayerGetter and timm's
  // features_only models do: later stages would reach no output, and tfjs would leave them out of the model.
  const built = head.type === 'none' && spec.outputs.length > 0 ? Math.max(...spec.outputs.map(stageIndexOf)) + 1 : spec.stages.length;
  const stageOutputs = backbone(ops, spec, input, built).map((feature) => feature.op);
  const x = classifierHead(ops, spec, stageOutputs.at(-1)!);
  const features = spec.outputs.map((name) => ({ name, op: stageOutputs[stageIndexOf(name)]! }));
  const headOutput = { name: head.type === 'classifier' ? 'logits' : head.type === 'pool' ? 'features' : 'output', op: x };
  const outputs = features.length === 0 ? [{ name: 'output', op: x }] : head.type === 'none' ? features : [...features, headOutput];
  return { ...base, outputs };
}

/** The stem and the first `built` stages; returns each stage's output and width. */
function backbone(ops: OpList, spec: NormalizedSpec, input: string, built: number): Feature[] {
  return stages(ops, spec, stem(ops, spec, input), built);
}

/** torchvision's stem (`conv1`, or ResNet-D's deep `conv1.0` … `conv1.6`), `bn1`, `relu` and the optional pool. */
function stem(ops: OpList, { stem }: NormalizedSpec, input: string): string {
  let x = input;
  if (stem.type === 'conv') {
    x = ops.conv('conv1', x, stem.width, stem.kernelSize, stem.stride);
  } else {
    x = ops.relu('conv1.2', ops.norm('conv1.1', ops.conv('conv1.0', x, stem.midWidths[0], 3, stem.stride)));
    x = ops.relu('conv1.5', ops.norm('conv1.4', ops.conv('conv1.3', x, stem.midWidths[1], 3, 1)));
    x = ops.conv('conv1.6', x, stem.width, 3, 1);
  }
  x = ops.relu('relu', ops.norm('bn1', x));
  return stem.pool === 'none' ? x : stemPool(ops, stem, x);
}

/**
 * The stem's pool, named `maxpool` whatever it is, as timm keeps the name: torchvision's 3×3 stride-2 max-pool, or
 * timm's convolutional pool (replace_stem_pool); with anti-aliasing, timm's placement of the pool that carries the
 * stride — after a stride-1 max-pool or convolution, or (average-pool) instead of the max-pool.
 */
function stemPool(ops: OpList, stem: NormalizedStem, input: string): string {
  const { antiAlias } = stem;
  if (stem.pool === 'max') {
    if (antiAlias === 'none')
      return ops.emit({ kind: 'maxPool', name: 'maxpool', inputs: [input], poolSize: STEM_POOL.size, stride: STEM_POOL.stride, padding: STEM_POOL.padding });
    if (antiAlias === 'avg') return ops.antiAlias('maxpool', input, antiAlias, STEM_POOL.stride);
    const pooled = ops.emit({ kind: 'maxPool', name: 'maxpool.0', inputs: [input], poolSize: STEM_POOL.size, stride: 1, padding: STEM_POOL.padding });
    return ops.antiAlias('maxpool.1', pooled, antiAlias, STEM_POOL.stride);
  }
  let x = ops.conv('maxpool.0', input, stem.width, 3, antiAlias === 'none' ? STEM_POOL.stride : 1);
  let index = 1;
  if (antiAlias !== 'none') x = ops.antiAlias(`maxpool.${index++}`, x, antiAlias, STEM_POOL.stride);
  x = ops.norm(`maxpool.${index++}`, x);
  return ops.relu(`maxpool.${index}`, x);
}

/** The first `built` stages' blocks; returns each stage's output and width. */
function stages(ops: OpList, spec: NormalizedSpec, input: string, built: number): Feature[] {
  const { block } = spec;
  const dilations = stageDilations(spec.stages);
  // timm's drop_path_rate: rising linearly over all blocks, from 0 at the first to the rate at the last.
  const blocks = spec.stages.reduce((sum, stage) => sum + stage.depth, 0);
  const outputs: Feature[] = [];
  let x = input;
  let inWidth = spec.stem.width;
  let index = 0;
  spec.stages.slice(0, built).forEach((stage, s) => {
    const { first, rest, stride } = dilations[s]!;
    const outWidth = stage.outputWidth ?? stage.width * block.expansion;
    for (let b = 0; b < stage.depth; b++) {
      const dropPath = blocks > 1 ? (block.dropPath * index++) / (blocks - 1) : 0;
      const innerWidths = stage.blockWidths?.[b] ?? null;
      x = residualBlock(ops, block, {
        prefix: `layer${s + 1}.${b}`,
        input: x,
        inWidth,
        width: stage.width,
        outWidth,
        innerWidths,
        stride: b === 0 ? stride : 1,
        dilation: b === 0 ? first : rest,
        dropPath,
      });
      inWidth = outWidth;
    }
    outputs.push({ op: x, channels: inWidth });
  });
  return outputs;
}

/** Pre-activation's final norm, then the pooled features or the classifier. */
function classifierHead(ops: OpList, { block, head, outputs }: NormalizedSpec, input: string): string {
  let x = input;
  // A feature-only backbone returns raw stage outputs; the final norm serves only a head or the lone output.
  if (block.preActivation && (head.type !== 'none' || outputs.length === 0)) x = ops.relu('relu_final', ops.norm('bn_final', x));
  if (head.type !== 'none') x = ops.emit({ kind: 'globalAvgPool', name: 'avgpool', inputs: [x], keepDims: false });
  if (head.type === 'classifier') {
    if (head.dropout > 0) x = ops.emit({ kind: 'dropout', name: 'dropout', inputs: [x], rate: head.dropout });
    x = ops.emit({ kind: 'dense', name: 'fc', inputs: [x], units: head.classes });
  }
  return x;
}
