import type { AnalyzedGraph } from '../ir/analyze.js';

/** `detection`: how RetinaNet's raw outputs decode, for `decodeBatch` (the tfjs module's `detect` and the ONNX module's). */
export function detectionConstant(graph: AnalyzedGraph): string[] {
  if (graph.task?.kind !== 'detection') return [];
  const { task } = graph;
  const shapeOf = (op: string) => graph.layers.find((layer) => layer.op.name === op)!.outputShape;
  const lists = (values: readonly (readonly number[])[]) => `[${values.map((list) => `[${list.join(', ')}]`).join(', ')}]`;
  const { decoding } = task;
  return [
    '/** How `detect` decodes: the input and pyramid levels\' [height, width], torchvision\'s anchors and RetinaNet\'s settings. */',
    'export const detection = {',
    `  input: [${graph.inputShape[0]}, ${graph.inputShape[1]}],`,
    `  levels: ${lists(task.levels.map((op) => shapeOf(op).slice(0, 2)))},`,
    `  anchors: { sizes: ${lists(task.anchors.sizes)}, ratios: ${lists(task.anchors.ratios)} },`,
    `  scoreThreshold: ${decoding.scoreThreshold},`,
    `  nmsThreshold: ${decoding.nmsThreshold},`,
    `  detectionsPerImage: ${decoding.detectionsPerImage},`,
    `  topkCandidates: ${decoding.topkCandidates},`,
    '} as const;',
  ];
}
