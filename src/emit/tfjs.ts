import { InternalError } from '../errors/internal-error.js';
import type { AnalyzedGraph, LayerAnalysis, Shape } from '../ir/analyze.js';
import type { Op } from '../ir/graph.js';
import { definitionOf, type BatchNormOp } from '../ops/index.js';
import type { InferencePlan } from '../runtime/inference/plan.js';
import { LAYER_HELPERS } from '../runtime/ops/names.js';
import { inferencePlan } from './plan.js';
import { docComment, identifierScope, integer, lineComment, stringLiteral } from './escape.js';
import { generatedHeader, type EmitOptions } from './header.js';
import { openLayerRows, openMacsFunction, openShapeComment, openShapeFunctions } from './open-size.js';
import { imageFunctions, imageImports } from './tfjs-images.js';
import { taskFunctions, taskImports } from './tfjs-task.js';

/** The module generated code imports its layer helpers from. */
export const RUNTIME_MODULE = 'netspec/runtime';

/**
 * Names the generated module declares at top level; op variables must not shadow them. Layer helpers are imported
 * by their names (every one the runtime has, from its tfjs-free list), which the `$`-free op variables
 * (`layer1_0_conv1`) could take: `relu`, `add`, `maxpool`.
 */
const moduleNames = [
  'tf',
  ...LAYER_HELPERS,
  'decodeBatch',
  'Detections',
  'modelImageTransform',
  'prepareBatch',
  'ImageBatch',
  'ImageTransform',
  'Pixels',
  'Placement',
  'imageTransform',
  'preprocess',
  'detection',
  'detect',
  'classMasks',
  'ClassMask',
  'segment',
  'InferencePlan',
  'inferencePlan',
  'predictChecked',
  'predictOpenSize',
  'sizes',
  'WeightsSource',
  'CreateModelOptions',
  'name',
  'description',
  'inputShape',
  'outputShape',
  'outputShapes',
  'outputNames',
  'params',
  'macs',
  'layers',
  'createModel',
  'buildModel',
  'loadWeights',
  'predict',
  'batchNormSettings',
  'LayerName',
  'Outputs',
];

/**
 * Renders the TensorFlow.js module for an analysed graph: a header naming the source, the analysis as `const`
 * data, `createModel()` as a straight line of named layers with each output shape beside it, and `predict()`.
 * Output depends only on the graph, so the same spec always renders the same bytes.
 */
export function emitTfjs(graph: AnalyzedGraph, options: EmitOptions = {}): string {
  const used = [...new Set(graph.ops.flatMap((op) => (op.kind === 'input' ? [] : [definitionOf(op).call(op).helper])))];
  const lines = [
    ...generatedHeader(graph, options),
    '',
    `import * as tf from ${stringLiteral('@tensorflow/tfjs')};`,
    `import { ${[...used, ...taskImports(graph), ...imageImports, 'loadWeights', graph.sizes ? 'predictOpenSize' : 'predictChecked', 'type CreateModelOptions', 'type InferencePlan'].join(', ')} } from ${stringLiteral(RUNTIME_MODULE)};`,
    '',
    ...analysisConstants(graph),
    ...modelBuilder(graph),
    '/**',
    " * The inference pass's plan for `optimizeForInference(model, inferencePlan)` from netspec/runtime: BatchNorms",
    ' * folded into the convolutions before them, ReLUs fused after them, dropout gone.',
    ' */',
    `export const inferencePlan: InferencePlan = ${planLiteral(inferencePlan(graph))};`,
    '',
    ...predictFunction(graph),
    ...imageFunctions(graph),
    ...taskFunctions(graph),
  ];
  return `${lines.join('\n')}\n`;
}

/** One image's shape plus the batch: features, an anchor table ([anchors, values]) or a feature map. */
const tensorType = (shape: Shape) => (['tf.Tensor2D', 'tf.Tensor3D', 'tf.Tensor4D'] as const)[shape.length - 1]!;

/** The analysis as `const` data: name, shapes, parameters, MACs and the layer table. */
function analysisConstants(graph: AnalyzedGraph): string[] {
  const names = [`export const name = ${stringLiteral(graph.name)};`, `export const description = ${stringLiteral(graph.description)};`, ''];
  if (graph.sizes) {
    return [
      ...names,
      ...openShapeFunctions(graph, 'nhwc'),
      '',
      ...paramsConstant(graph),
      ...openMacsFunction(graph),
      '',
      '/** Every layer in execution order, with its output shape per image, parameters and multiply-accumulates, as formulas of H and W. */',
      ...layerTable(openLayerRows(graph)),
    ];
  }
  const single = graph.outputs.length === 1;
  return [
    ...names,
    '/** Shape of one input image: [height, width, channels]. */',
    `export const inputShape = ${tuple(graph.inputShape)} as const;`,
    ...(single
      ? [
          `/** Shape of one image's output: ${graph.outputShapes[0]!.length === 1 ? '[features]' : '[height, width, channels]'}. */`,
          `export const outputShape = ${tuple(graph.outputShapes[0]!)} as const;`,
        ]
      : [
          "/** The model's outputs in order, and the shape of each for one image. */",
          `export const outputNames = [${graph.outputs.map((o) => stringLiteral(o.name)).join(', ')}] as const;`,
          'export const outputShapes = {',
          ...graph.outputs.map((o, i) => `  ${o.name}: ${tuple(graph.outputShapes[i]!)},`),
          '} as const;',
        ]),
    '',
    ...paramsConstant(graph),
    '/** Multiply-accumulates per image, in convolutions and dense layers. */',
    `export const macs = ${integer(graph.macs)};`,
    '',
    '/** Every layer in execution order, with its output shape per image, parameters and multiply-accumulates. */',
    ...layerTable(graph.layers.map(layerRow)),
  ];
}

const paramsConstant = (graph: AnalyzedGraph) => [
  '/** Trainable parameters as PyTorch counts them; non-trainable are BatchNorm running statistics. */',
  `export const params = { trainable: ${integer(graph.params.trainable)}, nonTrainable: ${integer(graph.params.nonTrainable)}, total: ${integer(graph.params.total)} } as const;`,
];

const layerTable = (rows: readonly string[]) => [
  'export const layers = [',
  ...rows.map((row) => `  ${row},`),
  '] as const;',
  '',
  "export type LayerName = (typeof layers)[number]['name'];",
  '',
];

/** `createModel()` and `buildModel()`: a straight line of named layers, each output shape beside it. */
function modelBuilder(graph: AnalyzedGraph): string[] {
  const variable = identifierScope(moduleNames);
  const variables = new Map<string, string>();
  const batchNormOp = graph.ops.find((op): op is BatchNormOp => op.kind === 'batchNorm');
  const single = graph.outputs.length === 1;
  const body: string[] = [];
  let block = '';
  for (const [index, layer] of graph.layers.entries()) {
    const group = layer.op.name.split('.').length >= 3 ? layer.op.name.split('.').slice(0, 2).join('.') : '';
    if (group !== block && group !== '') body.push('', lineComment(group, '  '));
    block = group;
    const name = variable(layer.op.name);
    variables.set(layer.op.name, name);
    body.push(
      `  const ${name} = ${layerCall(
        layer.op,
        layer.op.inputs.map((input) => variables.get(input)!),
        graph.sizes ? null : graph.inputShape,
      )}; // ${graph.sizes ? openShapeComment(graph, index) : shapeText(layer.outputShape)}`,
    );
  }
  return [
    ...(batchNormOp
      ? [
          `// PyTorch BatchNorm2d(eps=${float(batchNormOp.epsilon)}, momentum=${float(batchNormOp.momentum)}); tfjs weighs the running value, so its momentum is 1 − PyTorch's.`,
          `const batchNormSettings = ${optionsLiteral(batchNormSettings(batchNormOp))} as const;`,
          '',
        ]
      : []),
    docComment(
      [
        `Builds ${graph.name} with freshly initialised weights, or, given a weights folder written by`,
        '`netspec weights import` or `netspec train`, with those weights: a path or URL in Node, a URL in a page',
        '(relative to it), or a tf.io.IOHandler. Over HTTP, `signal` (an AbortSignal) cancels the load and `timeoutMs`',
        'bounds how long a request may wait for its response or its next bytes.',
        ...(graph.description ? ['', graph.description] : []),
      ].join('\n'),
    ),
    'export function createModel(): tf.LayersModel;',
    'export function createModel(options: CreateModelOptions): Promise<tf.LayersModel>;',
    'export function createModel(options?: CreateModelOptions): tf.LayersModel | Promise<tf.LayersModel> {',
    '  return options === undefined ? buildModel() : loadWeights(buildModel, options.weights, options);',
    '}',
    '',
    'function buildModel(): tf.LayersModel {',
    ...body,
    '',
    `  return tf.model({ inputs: ${variables.get(graph.ops[0]!.name)}, outputs: ${single ? variables.get(graph.outputs[0]!.op) : `[${graph.outputs.map((o) => variables.get(o.op)).join(', ')}]`}, name });`,
    '}',
    '',
  ];
}

/** `predict()`, typed by the output shapes: one tensor, or an `Outputs` record for a multi-output model. */
function predictFunction(graph: AnalyzedGraph): string[] {
  if (graph.sizes) return openPredictFunction(graph);
  return graph.outputs.length === 1
    ? [
        `/** Runs the model on images shaped [batch, ${graph.inputShape.join(', ')}]; returns [batch, ${graph.outputShapes[0]!.join(', ')}]. */`,
        `export function predict(model: tf.LayersModel, x: tf.Tensor4D): ${tensorType(graph.outputShapes[0]!)} {`,
        `  return predictChecked(model, x, inputShape) as ${tensorType(graph.outputShapes[0]!)};`,
        '}',
      ]
    : [
        'export interface Outputs {',
        ...graph.outputs.map((o, i) => `  /** [batch, ${graph.outputShapes[i]!.join(', ')}] */\n  ${o.name}: ${tensorType(graph.outputShapes[i]!)};`),
        '}',
        '',
        `/** Runs the model on images shaped [batch, ${graph.inputShape.join(', ')}]; returns one tensor per output. */`,
        'export function predict(model: tf.LayersModel, x: tf.Tensor4D): Outputs {',
        `  const [${graph.outputs.map((o) => o.name).join(', ')}] = predictChecked(model, x, inputShape) as tf.Tensor[];`,
        `  return { ${graph.outputs.map((o, i) => `${o.name}: ${o.name} as ${tensorType(graph.outputShapes[i]!)}`).join(', ')} };`,
        '}',
      ];
}

/** One layer's builder call; the input's, for an open size (`inputShape` null), leaves height and width open. */
/** `predict()` of an open-size model: it checks each batch's height and width against `sizes`. */
function openPredictFunction(graph: AnalyzedGraph): string[] {
  const run = `predictOpenSize(model, x, ${graph.inputShape[2]}, sizes)`;
  const types = graph.outputShapes.map(tensorType);
  const what = `Runs the model on images shaped [batch, height, width, ${graph.inputShape[2]}], height and width sides it takes (see \`sizes\`);`;
  return graph.outputs.length === 1
    ? [
        `/** ${what} returns [batch, ...outputShape(height, width)]. */`,
        `export function predict(model: tf.LayersModel, x: tf.Tensor4D): ${types[0]} {`,
        `  return ${run} as ${types[0]};`,
        '}',
      ]
    : [
        'export interface Outputs {',
        ...graph.outputs.map((o, i) => `  /** [batch, ...outputShapes(height, width).${o.name}] */\n  ${o.name}: ${types[i]};`),
        '}',
        '',
        `/** ${what} returns one tensor per output. */`,
        'export function predict(model: tf.LayersModel, x: tf.Tensor4D): Outputs {',
        `  const [${graph.outputs.map((o) => o.name).join(', ')}] = ${run} as tf.Tensor[];`,
        `  return { ${graph.outputs.map((o, i) => `${o.name}: ${o.name} as ${types[i]}`).join(', ')} };`,
        '}',
      ];
}

function layerCall(op: Op, inputs: readonly string[], inputShape: Shape | null): string {
  const name = stringLiteral(op.name);
  if (op.kind === 'input') return `tf.input({ shape: ${inputShape ? '[...inputShape]' : `[null, null, ${op.shape[2]}]`}, name: ${name} })`;
  const { helper, options } = definitionOf(op).call(op);
  const args = [...inputs, name];
  if (op.kind === 'batchNorm') {
    // Every BatchNorm shares the module's settings; only a zero-initialised scale adds to them.
    const { initZero } = options as { initZero?: boolean };
    args.push(initZero ? '{ ...batchNormSettings, initZero: true }' : 'batchNormSettings');
  } else if (options) {
    args.push(optionsLiteral(options));
  }
  return `${helper}(${args.join(', ')})`;
}

function batchNormSettings(op: BatchNormOp): Record<string, number | boolean> {
  const { epsilon, momentum } = definitionOf(op).call(op).options as { epsilon: number; momentum: number };
  return { epsilon, momentum };
}

/** The plan as a literal, a step a line; its names are op names and its options compiler-made numbers. */
function planLiteral(plan: InferencePlan): string {
  const step = ({ helper, name, layer, inputs, options, batchNorm, relu }: InferencePlan['steps'][number]) => {
    const fields = [
      `helper: ${stringLiteral(helper)}`,
      `name: ${stringLiteral(name)}`,
      `layer: ${stringLiteral(layer)}`,
      `inputs: [${inputs.map(stringLiteral).join(', ')}]`,
    ];
    if (options) fields.push(`options: ${optionsLiteral(options)}`);
    if (batchNorm) fields.push(`batchNorm: { layer: ${stringLiteral(batchNorm.layer)}, epsilon: ${float(batchNorm.epsilon)} }`);
    if (relu) fields.push('relu: true');
    return `    { ${fields.join(', ')} },`;
  };
  return [
    '{',
    `  input: ${stringLiteral(plan.input)},`,
    '  steps: [',
    ...plan.steps.map(step),
    '  ],',
    `  outputs: [${plan.outputs.map(stringLiteral).join(', ')}],`,
    '}',
  ].join('\n');
}

/** `{ filters: 64, kernelSize: 3 }`: options are compiler-made numbers and booleans, never user text. */
function optionsLiteral(options: Readonly<Record<string, number | boolean>>): string {
  return `{ ${Object.entries(options)
    .map(([key, value]) => `${key}: ${typeof value === 'number' ? float(value) : value}`)
    .join(', ')} }`;
}

function layerRow(layer: LayerAnalysis): string {
  const params = layer.trainable + layer.nonTrainable;
  return `{ name: ${stringLiteral(layer.op.name)}, op: ${stringLiteral(layer.op.kind)}, outputShape: ${tuple(layer.outputShape)}, params: ${integer(params)}, macs: ${integer(layer.macs)} }`;
}

function tuple(shape: Shape): string {
  return `[${shape.map(integer).join(', ')}]`;
}

export function shapeText(shape: Shape): string {
  return shape.join('×');
}

function float(value: number): string {
  if (!Number.isFinite(value)) throw new InternalError(`${value} is not finite`);
  return String(value);
}
