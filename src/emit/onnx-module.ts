import type { AnalyzedGraph, Shape } from '../ir/analyze.js';
import { channelsFirst } from '../ir/shape-formulas.js';
import { lineComment, stringLiteral } from './escape.js';
import { generatedHeader, type EmitOptions } from './header.js';
import { detectionConstant } from './detection-constant.js';
import { openShapeFunctions } from './open-size.js';

/** The module the typed onnxruntime wrapper imports. */
export const ONNX_RUNTIME_MODULE = 'netspec/onnx';

const dimsType = (shape: Shape) => `readonly [batch: number, ${channelsFirst(shape).join(', ')}]`;

/**
 * Renders the typed onnxruntime-node wrapper for a spec's ONNX export: NCHW shapes as `const` tuples,
 * `load()` opening the model, and `predict()` whose result is typed output by output.
 */
export function emitOnnxModule(graph: AnalyzedGraph, options: EmitOptions = {}): string {
  if (graph.sizes) return emitOpenOnnxModule(graph, options);
  const single = graph.outputs.length === 1;
  const detecting = graph.task?.kind === 'detection';
  const outputType = single
    ? [`export type Outputs = TypedOutput<${dimsType(graph.outputShapes[0]!)}>;`]
    : ['export interface Outputs {', ...graph.outputs.map((o, i) => `  readonly ${o.name}: TypedOutput<${dimsType(graph.outputShapes[i]!)}>;`), '}'];
  const lines = [
    ...generatedHeader(graph, options),
    lineComment(`Runs the ONNX export of the spec (npx netspec export onnx ${graph.source.path} [--weights DIR] --out model.onnx)`),
    lineComment('with onnxruntime-node (an optional peer: npm install onnxruntime-node). Images are NCHW, as ONNX models take them.'),
    '',
    `import { ${[...(detecting ? ['decodeBatch', 'type Detections'] : []), 'createSession', 'runChecked', 'type OnnxOptions', 'type OnnxSession', 'type TypedOutput'].join(', ')} } from ${stringLiteral(ONNX_RUNTIME_MODULE)};`,
    '',
    `export const name = ${stringLiteral(graph.name)};`,
    '/** One image: [channels, height, width]. */',
    `export const inputShape = [${channelsFirst(graph.inputShape).join(', ')}] as const;`,
    ...(single
      ? ["/** One image's output. */", `export const outputShape = [${channelsFirst(graph.outputShapes[0]!).join(', ')}] as const;`]
      : [
          "/** One image's outputs, by name. */",
          'export const outputShapes = {',
          ...graph.outputs.map((o, i) => `  ${o.name}: [${channelsFirst(graph.outputShapes[i]!).join(', ')}],`),
          '} as const;',
        ]),
    '',
    ...outputType,
    '',
    'export interface OnnxModel {',
    '  readonly session: OnnxSession;',
    `  /** Runs \`batch\` images given as one NCHW Float32Array of batch × ${channelsFirst(graph.inputShape).join(' × ')} values. */`,
    '  predict(images: Float32Array, batch: number): Promise<Outputs>;',
    '}',
    '',
    '/** Opens the ONNX model (a path or its bytes) with the CUDA execution provider if available, else the CPU. */',
    ...loadFunction(graph),
    ...(detecting
      ? [
          '',
          ...detectionConstant(graph),
          '',
          "/** Decodes each image's detections from the raw outputs as torchvision's RetinaNet does: boxes (x1, y1, x2, y2) in input pixels. */",
          'export function detect(outputs: Outputs): Detections[] {',
          '  return decodeBatch(outputs.cls_logits, outputs.bbox_regression, detection);',
          '}',
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** The wrapper of an open-size export: shapes are functions of the input's height and width, which `predict` takes. */
function emitOpenOnnxModule(graph: AnalyzedGraph, options: EmitOptions): string {
  const single = graph.outputs.length === 1;
  const detecting = graph.task?.kind === 'detection';
  const outputType = single
    ? ['export type Outputs = TypedOutput<readonly number[]>;']
    : ['export interface Outputs {', ...graph.outputs.map((o) => `  readonly ${o.name}: TypedOutput<readonly number[]>;`), '}'];
  const lines = [
    ...generatedHeader(graph, options),
    lineComment(`Runs the ONNX export of the spec (npx netspec export onnx ${graph.source.path} [--weights DIR] --out model.onnx)`),
    lineComment('with onnxruntime-node (an optional peer: npm install onnxruntime-node). Images are NCHW, as ONNX models take them,'),
    lineComment('of any height and width the model takes.'),
    '',
    `import { ${[...(detecting ? ['decodeBatch', 'type Detections'] : []), 'checkOpenSize', 'createSession', 'runChecked', 'type OnnxOptions', 'type OnnxSession', 'type TypedOutput'].join(', ')} } from ${stringLiteral(ONNX_RUNTIME_MODULE)};`,
    '',
    `export const name = ${stringLiteral(graph.name)};`,
    ...openShapeFunctions(graph, 'nchw'),
    '',
    ...outputType,
    '',
    'export interface OnnxModel {',
    '  readonly session: OnnxSession;',
    `  /** Runs \`batch\` images of \`height\`×\`width\`, given as one NCHW Float32Array of batch × ${graph.inputShape[2]} × height × width values. */`,
    '  predict(images: Float32Array, batch: number, height: number, width: number): Promise<Outputs>;',
    '}',
    '',
    '/** Opens the ONNX model (a path or its bytes) with the CUDA execution provider if available, else the CPU. */',
    ...loadFunction(graph),
    ...(detecting
      ? [
          '',
          ...detectionConstant(graph),
          '',
          "/** Decodes each image's detections from the raw outputs of `height`×`width` images as torchvision's RetinaNet does: boxes (x1, y1, x2, y2) in input pixels. */",
          'export function detect(outputs: Outputs, height: number, width: number): Detections[] {',
          '  return decodeBatch(outputs.cls_logits, outputs.bbox_regression, detection(height, width));',
          '}',
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** `load()`: the session, and `predict`, which checks the images' count (and an open size's sides) and each output's shape. */
function loadFunction(graph: AnalyzedGraph): string[] {
  const single = graph.outputs.length === 1;
  const open = graph.sizes !== undefined;
  const size = open ? '(height, width)' : '';
  const shapes = single ? `{ ${stringLiteral(graph.outputs[0]!.name)}: outputShape${size} }` : `outputShapes${size}`;
  return [
    'export async function load(model: string | Uint8Array, options?: OnnxOptions): Promise<OnnxModel> {',
    '  const session = await createSession(model, options);',
    '  return {',
    '    session,',
    `    async predict(images, batch${open ? ', height, width' : ''}) {`,
    ...(open ? ['      checkOpenSize(name, height, width, sizes);'] : []),
    `      const outputs = await runChecked(session, images, batch, inputShape${size}, ${shapes});`,
    single
      ? `      return outputs[${stringLiteral(graph.outputs[0]!.name)}] as Outputs;`
      : `      return { ${graph.outputs.map((o) => `${o.name}: outputs[${stringLiteral(o.name)}]`).join(', ')} } as Outputs;`,
    '    },',
    '  };',
    '}',
  ];
}
