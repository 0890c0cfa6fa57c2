import type { AnalyzedGraph } from '../ir/analyze.js';
import { InternalError } from '../errors/internal-error.js';
import { sideAt, sideExpression } from '../ops/side-formula.js';

/**
 * How a detection graph's raw outputs decode: the input and levels' sizes, its anchors and RetinaNet's settings —
 * the runtime's DetectionConfig, which `decodeBatch` takes (spelt out here: the compiler imports nothing that
 * names TensorFlow.js, not even its types).
 */
export interface DetectionSettings {
  readonly input: readonly [number, number];
  readonly levels: readonly (readonly [number, number])[];
  readonly anchors: { readonly sizes: readonly (readonly number[])[]; readonly ratios: readonly (readonly number[])[] };
  readonly scoreThreshold: number;
  readonly nmsThreshold: number;
  readonly detectionsPerImage: number;
  readonly topkCandidates: number;
}

export function detectionConfig(graph: AnalyzedGraph, size?: readonly [height: number, width: number]): DetectionSettings {
  if (graph.task?.kind !== 'detection') throw new Error(`${graph.name} is not a detection model`);
  const { task, sizes } = graph;
  if (sizes && !size) throw new InternalError(`${graph.name} has an open size: its decoding needs the input's`);
  const index = (op: string) => graph.layers.findIndex((layer) => layer.op.name === op);
  const levels = task.levels.map((op) => {
    // An open size's levels follow the input's, by their side formulas.
    const side = sizes?.sides[index(op)];
    if (side && size) return [sideAt(side, size[0]), sideAt(side, size[1])] as const;
    const [height, width] = graph.layers[index(op)]!.outputShape;
    return [height!, width!] as const;
  });
  return { input: size ?? [graph.inputShape[0]!, graph.inputShape[1]!], levels, anchors: task.anchors, ...task.decoding };
}

/**
 * `detection`: the same, as the constant the tfjs module's `detect` and the ONNX module's pass to `decodeBatch`; for
 * an open size, a function of the input's height and width, its levels' sizes by their side formulas.
 */
export function detectionConstant(graph: AnalyzedGraph): string[] {
  if (graph.task?.kind !== 'detection') return [];
  // An open size's input and levels are per size (see below); its anchors and settings are the same at any.
  const config = detectionConfig(graph, graph.sizes && [graph.sizes.maximum, graph.sizes.maximum]);
  const lists = (values: readonly (readonly number[])[]) => `[${values.map((list) => `[${list.join(', ')}]`).join(', ')}]`;
  const index = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  const levels = graph.sizes
    ? `[${graph.task.levels
        .map((op) => {
          const side = graph.sizes!.sides[index.get(op)!]!;
          return `[${sideExpression(side, 'height', 'typescript')}, ${sideExpression(side, 'width', 'typescript')}]`;
        })
        .join(', ')}]`
    : lists(config.levels);
  return [
    graph.sizes
      ? "/** How `detect` decodes a `height`×`width` input: its and the pyramid levels' [height, width], torchvision's anchors and RetinaNet's settings. */"
      : "/** How `detect` decodes: the input and pyramid levels' [height, width], torchvision's anchors and RetinaNet's settings. */",
    graph.sizes ? 'export const detection = (height: number, width: number) => ({' : 'export const detection = {',
    `  input: ${graph.sizes ? '[height, width]' : `[${config.input.join(', ')}]`},`,
    `  levels: ${levels},`,
    `  anchors: { sizes: ${lists(config.anchors.sizes)}, ratios: ${lists(config.anchors.ratios)} },`,
    `  scoreThreshold: ${config.scoreThreshold},`,
    `  nmsThreshold: ${config.nmsThreshold},`,
    `  detectionsPerImage: ${config.detectionsPerImage},`,
    `  topkCandidates: ${config.topkCandidates},`,
    graph.sizes ? '}) as const;' : '} as const;',
  ];
}
