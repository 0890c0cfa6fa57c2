import type { AnalyzedGraph } from '../ir/analyze.js';
import { detectionConstant } from './detection-constant.js';

/**
 * What a segmentation or detection module adds to `predict`: `segment()`, each pixel's class, or `detection` (the
 * decoding settings) and `detect()`, RetinaNet's boxes. Every value printed is a compiler-made or schema-checked
 * number, never user text.
 */
export function taskImports(graph: AnalyzedGraph): string[] {
  if (graph.task?.kind === 'segmentation') return ['classMasks', 'type ClassMask', 'type Placement'];
  if (graph.task?.kind === 'detection') return ['decodeBatch', 'type Detections', 'type Placement'];
  return [];
}

export function taskFunctions(graph: AnalyzedGraph): string[] {
  const { task } = graph;
  if (task?.kind === 'segmentation') {
    return [
      '',
      '/**',
      ` * Runs the model and takes each pixel's highest-scoring of the ${task.classes} classes in \`out\`, per image: at the`,
      " * input's size, or with `placements` (from `preprocess`) at each image's own size.",
      ' */',
      'export function segment(model: tf.LayersModel, x: tf.Tensor4D, placements?: readonly Placement[]): ClassMask[] {',
      '  const outputs = predict(model, x);',
      '  try {',
      // Without an auxiliary head the model has one output, which predict returns as it is.
      `    return classMasks(${graph.outputs.length === 1 ? 'outputs' : 'outputs.out'}, placements);`,
      '  } finally {',
      `    tf.dispose(${graph.outputs.length === 1 ? 'outputs' : 'Object.values(outputs)'});`,
      '  }',
      '}',
    ];
  }
  if (task?.kind !== 'detection') return [];
  return [
    '',
    ...detectionConstant(graph),
    '',
    '/**',
    " * Runs the model and decodes each image's detections as torchvision's RetinaNet does: `boxes` [n, 4] as",
    " * (x1, y1, x2, y2) in input pixels, or with `placements` (from `preprocess`) in each image's own pixels;",
    ` * \`scores\` and \`labels\` (0 to ${task.classes - 1}), highest score first.`,
    ' */',
    'export function detect(model: tf.LayersModel, x: tf.Tensor4D, placements?: readonly Placement[]): Detections[] {',
    '  const { cls_logits, bbox_regression } = predict(model, x);',
    '  try {',
    `    return decodeBatch(cls_logits, bbox_regression, ${graph.sizes ? 'detection(x.shape[1], x.shape[2])' : 'detection'}, placements);`,
    '  } finally {',
    '    tf.dispose([cls_logits, bbox_regression]);',
    '  }',
    '}',
  ];
}
