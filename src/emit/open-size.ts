import type { AnalyzedGraph } from '../ir/analyze.js';
import {
  areaExpression,
  channelsFirst,
  dimExpression,
  layerMacs,
  layerMacsText,
  macsFormula,
  shapeFormula,
  shapeFormulaText,
  type DimFormula,
} from '../ir/shape-formulas.js';
import { integer, stringLiteral } from './escape.js';

/**
 * For an open-size graph: `sizes`, the sides it takes, and the input's and outputs' shapes as functions of the
 * input's height and width (NHWC for tfjs, NCHW for ONNX), in place of a fixed-size module's constant tuples.
 */
export function openShapeFunctions(graph: AnalyzedGraph, layout: 'nhwc' | 'nchw'): string[] {
  const { minimum, maximum, multiple } = graph.sizes!;
  const order = (dims: readonly DimFormula[]) => (layout === 'nchw' ? channelsFirst(dims) : dims);
  const index = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  const tuple = (i: number) =>
    `[${order(shapeFormula(graph, i))
      .map((dim) => dimExpression(dim, 'typescript'))
      .join(', ')}]`;
  const single = graph.outputs.length === 1;
  const outputs = graph.outputs.map((output) => tuple(index.get(output.op)!));
  const what = layout === 'nchw' ? '[channels, height, width]' : '[height, width, channels]';
  return [
    '/** The sides the model takes: height and width are multiples of `multiple` from `minimum` to `maximum`. */',
    `export const sizes = { minimum: ${minimum}, maximum: ${maximum}, multiple: ${multiple} } as const;`,
    `/** Shape of one ${'`height`'}×${'`width`'} input image: ${what}. */`,
    `export const inputShape = (height: number, width: number) => ${tuple(0)} as const;`,
    ...(single
      ? [
          "/** Shape of one image's output for a `height`×`width` input. */",
          `export const outputShape = (height: number, width: number) => ${outputs[0]} as const;`,
        ]
      : [
          "/** The model's outputs in order. */",
          `export const outputNames = [${graph.outputs.map((o) => stringLiteral(o.name)).join(', ')}] as const;`,
          '/** The shape of each output for one `height`×`width` image. */',
          'export const outputShapes = (height: number, width: number) =>',
          `  ({ ${graph.outputs.map((o, i) => `${o.name}: ${outputs[i]}`).join(', ')} }) as const;`,
        ]),
  ];
}

/** `macs(height, width)`, the multiply-accumulates of one image of that size. */
export function openMacsFunction(graph: AnalyzedGraph): string[] {
  const formula = macsFormula(graph);
  const terms = formula.perPixel.map(({ side, coefficient }) => `${integer(coefficient)} * ${areaExpression(side, 'typescript')}`);
  return [
    '/** Multiply-accumulates per `height`×`width` image, in convolutions and dense layers. */',
    `export const macs = (height: number, width: number): number => ${[...terms, ...(formula.fixed > 0 ? [integer(formula.fixed)] : [])].join(' + ') || '0'};`,
  ];
}

/** The layer table of an open-size graph: shapes and multiply-accumulates as the formulas `netspec check` prints. */
export function openLayerRows(graph: AnalyzedGraph): string[] {
  const macs = layerMacs(graph);
  return graph.layers.map((layer, i) => {
    const params = layer.trainable + layer.nonTrainable;
    const layerMac = macs[i]!;
    const count = 'fixed' in layerMac ? integer(layerMac.fixed) : stringLiteral(layerMacsText(layerMac));
    return `{ name: ${stringLiteral(layer.op.name)}, op: ${stringLiteral(layer.op.kind)}, outputShape: ${stringLiteral(shapeFormulaText(shapeFormula(graph, i)))}, params: ${integer(params)}, macs: ${count} }`;
  });
}

/** The formula of layer `index`'s output, for the comment beside its line in the model builder. */
export const openShapeComment = (graph: AnalyzedGraph, index: number): string => shapeFormulaText(shapeFormula(graph, index));
