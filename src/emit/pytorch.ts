import { InternalError } from '../errors/internal-error.js';
import type { AnalyzedGraph, Shape } from '../ir/analyze.js';
import type { Op, Preprocessing } from '../ir/graph.js';
import { definitionOf } from '../ops/index.js';
import type { PythonDefinition } from '../ops/pytorch.js';
import { pythonComment, pythonIdentifierScope, pythonStringLiteral } from './escape.js';
import { detectionConfig } from './detection-constant.js';
import { DEFAULT_REGENERATE, generatedHeader, type EmitOptions } from './header.js';
import { forwardValueNames } from './pytorch-values.js';
import { areaExpression, channelsFirst, dimExpression, macsFormula, shapeFormula, shapeFormulaText } from '../ir/shape-formulas.js';

/** Names the emitted file declares or imports at top level; the model's class must not take them. */
const moduleNames = [
  'torch',
  'nn',
  'F',
  'Tensor',
  'NAME',
  'DESCRIPTION',
  'INPUT_SHAPE',
  'PREPROCESSING',
  'OUTPUT_SHAPES',
  'PARAMS',
  'MACS',
  'DETECTION',
  'anchor_generator',
  'create_model',
  '_Modules',
];

/** Attributes every nn.Module has: a submodule cannot be registered under these names. */
const moduleAttributes = new Set([
  'training',
  'forward',
  'parameters',
  'buffers',
  'modules',
  'children',
  'state_dict',
  'train',
  'eval',
  'to',
  'cuda',
  'cpu',
  'float',
  'double',
  'half',
  'type',
  'apply',
  'zero_grad',
  'extra_repr',
]);

/** The container that groups named modules (a residual block), so that their weights sit under torchvision's names. */
const MODULES_CLASS: PythonDefinition = {
  name: '_Modules',
  source: [
    'class _Modules(nn.Module):',
    '    """Named modules under one name (a block), so that their weights carry torchvision\'s state-dict names."""',
    '',
    '    def __init__(self, **modules: nn.Module) -> None:',
    '        super().__init__()',
    '        for name, module in modules.items():',
    '            self.add_module(name, module)',
  ],
};

/**
 * Renders the PyTorch module for an analysed graph: a header naming the source, the analysis as constants, the
 * helpers its ops use, and one `nn.Module` whose submodules carry the compiler's op names (so `state_dict()` has
 * exactly the keys `netspec weights import` maps) and whose `forward` is a straight line of the ops, each
 * output shape beside it. Output depends only on the graph.
 */
export function emitPytorch(graph: AnalyzedGraph, options: EmitOptions = {}): string {
  const className = pythonIdentifierScope(moduleNames)(classNameOf(graph.name));
  const uses = new Map<string, PythonDefinition>([[MODULES_CLASS.name, MODULES_CLASS]]);
  for (const op of graph.ops) {
    const used = definitionOf(op).pytorch?.uses ?? [];
    for (const use of typeof used === 'function' ? used(op) : used) uses.set(use.name, use);
  }
  const lines = [
    ...generatedHeader(graph, { regenerate: `${options.regenerate ?? DEFAULT_REGENERATE} --target pytorch` }, pythonComment),
    pythonComment('Shapes are per image, channels first: C×H×W, or features.'),
    '',
    'import torch',
    'import torch.nn.functional as F',
    'from torch import Tensor, nn',
    '',
    ...analysisConstants(graph),
    ...[...uses.values()].flatMap((use) => ['', '', ...use.source]),
    '',
    '',
    `class ${className}(nn.Module):`,
    // CPython refuses a class docstring with lone surrogates; DESCRIPTION keeps the text as it is.
    `    ${pythonStringLiteral((graph.description || graph.name).toWellFormed())}`,
    '',
    '    def __init__(self) -> None:',
    '        super().__init__()',
    ...submodules(graph),
    '',
    ...forward(graph),
    '',
    '',
    `def create_model() -> ${className}:`,
    `    """${className} with freshly initialised weights, as netspec declares them (torchvision's scheme)."""`,
    `    return ${className}()`,
  ];
  return `${lines.join('\n')}\n`;
}

/** `resnet50_dilated8` → `Resnet50Dilated8`. */
function classNameOf(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter((word) => word !== '');
  const joined = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return /^[A-Za-z]/.test(joined) ? joined : `Model${joined}`;
}

function analysisConstants(graph: AnalyzedGraph): string[] {
  const shapes = graph.outputs.map((output, i) => `${pythonStringLiteral(output.name)}: ${tuple(channelsFirst(graph.outputShapes[i]!))}`);
  return [
    `NAME = ${pythonStringLiteral(graph.name)}`,
    `DESCRIPTION = ${pythonStringLiteral(graph.description)}`,
    ...(graph.sizes ? openSizeConstants(graph) : [`INPUT_SHAPE = ${tuple(channelsFirst(graph.inputShape))}`]),
    ...(graph.preprocess
      ? [
          pythonComment('How images are prepared for the pretrained weights: centre crop share, resize filter, per-channel mean and std.'),
          preprocessingLiteral(graph.preprocess),
        ]
      : []),
    ...(graph.sizes ? [] : [`OUTPUT_SHAPES = {${shapes.join(', ')}}`]),
    pythonComment('Trainable parameters as parameters() counts them; non-trainable are BatchNorm running statistics.'),
    `PARAMS = {"trainable": ${graph.params.trainable}, "non_trainable": ${graph.params.nonTrainable}}`,
    ...(graph.sizes ? [] : [`MACS = ${graph.macs}`]),
    ...detectionSettings(graph),
    ...(graph.sizes ? openSizeFunctions(graph) : []),
  ];
}

/** An open size: the channels and the sides the module takes, in place of a fixed INPUT_SHAPE. */
function openSizeConstants(graph: AnalyzedGraph): string[] {
  const { minimum, maximum, multiple } = graph.sizes!;
  return [
    `INPUT_CHANNELS = ${graph.inputShape[2]}`,
    pythonComment('The sides the module takes: height and width are multiples of "multiple" from "minimum" to "maximum".'),
    `SIZES = {"minimum": ${minimum}, "maximum": ${maximum}, "multiple": ${multiple}}`,
  ];
}

/** An open size's output shapes and multiply-accumulates, as functions of the input's height and width. */
function openSizeFunctions(graph: AnalyzedGraph): string[] {
  const index = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  const shape = (i: number) => {
    const ordered = channelsFirst(shapeFormula(graph, i));
    return `(${ordered.map((dim) => dimExpression(dim, 'python')).join(', ')}${ordered.length === 1 ? ',' : ''})`;
  };
  const { fixed, perPixel } = macsFormula(graph);
  return [
    '',
    '',
    'def output_shapes(height: int, width: int) -> dict[str, tuple[int, ...]]:',
    '    """Each output\'s shape for one height × width image, without the batch."""',
    `    return {${graph.outputs.map((output) => `${pythonStringLiteral(output.name)}: ${shape(index.get(output.op)!)}`).join(', ')}}`,
    '',
    '',
    'def macs(height: int, width: int) -> int:',
    '    """Multiply-accumulates per height × width image, in convolutions and dense layers."""',
    `    return ${[...perPixel.map(({ side, coefficient }) => `${coefficient} * ${areaExpression(side, 'python')}`), ...(fixed > 0 ? [String(fixed)] : [])].join(' + ') || '0'}`,
  ];
}

/**
 * A detector's decoding as torchvision's RetinaNet takes it (the keyword names are its constructor's), and its
 * AnchorGenerator, so that the module trains with torchvision's compute_loss and decodes with its
 * postprocess_detections as the TypeScript module decodes.
 */
function detectionSettings(graph: AnalyzedGraph): string[] {
  if (graph.task?.kind !== 'detection') return [];
  // An open size's input and levels are per size (see below); its anchors and settings are the same at any.
  const config = detectionConfig(graph, graph.sizes && [graph.sizes.maximum, graph.sizes.maximum]);
  const float = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));
  const tuples = (lists: readonly (readonly number[])[], each: (x: number) => string) =>
    `(${lists.map((list) => `(${list.map(each).join(', ')}${list.length === 1 ? ',' : ''})`).join(', ')}${lists.length === 1 ? ',' : ''})`;
  return [
    pythonComment(
      graph.sizes
        ? "How the outputs decode: the anchors and RetinaNet's settings; the levels' sizes follow the input's."
        : "How the outputs decode: the input's and pyramid levels' (height, width), the anchors, RetinaNet's settings.",
    ),
    `DETECTION = {${graph.sizes ? '' : `"input": ${tuple(config.input)}, "levels": ${tuples(config.levels, String)}, `}"anchor_sizes": ${tuples(config.anchors.sizes, String)}, ` +
      `"aspect_ratios": ${tuples(config.anchors.ratios, float)}, "score_thresh": ${float(config.scoreThreshold)}, "nms_thresh": ${float(config.nmsThreshold)}, ` +
      `"detections_per_img": ${config.detectionsPerImage}, "topk_candidates": ${config.topkCandidates}}`,
    '',
    '',
    'def anchor_generator():',
    '    """torchvision\'s AnchorGenerator of these anchors, in the order of the outputs (level, location, ratio, size)."""',
    '    from torchvision.models.detection.anchor_utils import AnchorGenerator',
    '',
    '    return AnchorGenerator(DETECTION["anchor_sizes"], DETECTION["aspect_ratios"])',
  ];
}

function preprocessingLiteral({ mean, std, cropFraction, interpolation }: Preprocessing): string {
  const floats = (values: readonly number[]) => `(${values.map(String).join(', ')}${values.length === 1 ? ',' : ''})`;
  return `PREPROCESSING = {"mean": ${floats(mean)}, "std": ${floats(std)}, "crop_fraction": ${cropFraction}, "interpolation": ${pythonStringLiteral(interpolation)}}`;
}

/** A node of the module tree: a module at an op's name, or a container of named children. */
interface TreeNode {
  module?: string;
  readonly children: Map<string, TreeNode>;
}

/** `__init__`'s assignments: every op that has a module, nested by the dots of its name. */
function submodules(graph: AnalyzedGraph): string[] {
  const shapeOf = new Map(graph.layers.map((layer) => [layer.op.name, layer.outputShape]));
  const root: TreeNode = { children: new Map() };
  for (const op of graph.ops) {
    const form = definitionOf(op).pytorch;
    if (!form || !('module' in form)) continue;
    let node = root;
    for (const segment of op.name.split('.')) {
      if (node.module !== undefined) throw new InternalError(`${op.name} lies inside the module of another op`);
      if (!node.children.has(segment)) node.children.set(segment, { children: new Map() });
      node = node.children.get(segment)!;
    }
    if (node.children.size > 0) throw new InternalError(`${op.name} has a module and modules inside it`);
    node.module = form.module(
      op as never,
      op.inputs.map((name) => shapeOf.get(name)!),
    );
  }
  return [...root.children].flatMap(([name, node]) => {
    if (moduleAttributes.has(name) || !isPlainName(name)) throw new InternalError(`${name} cannot name a submodule`);
    const [first, ...rest] = render(node, '        ');
    return [`        self.${name} = ${first}`, ...rest];
  });
}

/** A name Python can take as an attribute and a keyword argument. */
const isPlainName = (name: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && pythonIdentifierScope([])(name) === name;

/**
 * A node as Python lines: its module; for numbered children an nn.Sequential, with nn.Identity() where a number has
 * no module (timm's ResNet-D shortcut at stride 1 has no pool at `downsample.0`); else `_Modules(name=…)`.
 */
function render(node: TreeNode, indent: string): string[] {
  if (node.module !== undefined) return [node.module];
  const names = [...node.children.keys()];
  const inner = `${indent}    `;
  const item = (child: TreeNode | undefined, keyword: string) => {
    const lines = child ? render(child, inner) : ['nn.Identity()'];
    lines[0] = `${inner}${keyword}${lines[0]}`;
    lines[lines.length - 1] += ',';
    return lines;
  };
  if (names.every((name) => /^\d+$/.test(name))) {
    const count = Math.max(...names.map(Number)) + 1;
    return ['nn.Sequential(', ...Array.from({ length: count }, (_, i) => item(node.children.get(String(i)), '')).flat(), `${indent})`];
  }
  if (!names.every(isPlainName)) throw new InternalError(`modules named ${names.join(', ')} need a container of their own`);
  return ['_Modules(', ...[...node.children].flatMap(([name, child]) => item(child, `${name}=`)), `${indent})`];
}

/**
 * `forward`: a line per op, each value named after what it holds, a comment line at each new block. A value whose
 * name is not taken again on the next line is deleted after its last read, so an eval pass holds only what it needs.
 */
function forward(graph: AnalyzedGraph): string[] {
  const names = forwardValueNames(graph);
  const steps = graph.layers.filter(({ op }) => op.kind !== 'input');
  const lastRead = new Map<string, number>();
  steps.forEach(({ op }, i) => op.inputs.forEach((name) => lastRead.set(name, i)));
  const kept = new Set(graph.outputs.map((output) => output.op));
  const body: string[] = [];
  let block = '';
  steps.forEach(({ op, outputShape }, i) => {
    const group = op.name.split('.').length >= 3 ? op.name.split('.').slice(0, 2).join('.') : '';
    if (group !== block && group !== '') body.push(pythonComment(group, '        '));
    block = group;
    const target = names.get(op.name)!;
    body.push(
      `        ${target} = ${expression(
        op,
        op.inputs.map((name) => names.get(name)!),
      )}  # ${graph.sizes ? channelsFirstFormula(graph, i + 1) : shapeText(outputShape)}`,
    );
    const next = steps[i + 1] && names.get(steps[i + 1]!.op.name);
    const dead = [...new Set(op.inputs)].filter((name) => lastRead.get(name) === i && !kept.has(name)).map((name) => names.get(name)!);
    const unreferenced = dead.filter((name) => name !== target && name !== next);
    if (next !== undefined && unreferenced.length > 0) body.push(`        del ${unreferenced.join(', ')}`);
  });
  const input = names.get(graph.ops[0]!.name)!;
  const single = graph.outputs.length === 1;
  const returned = single ? names.get(graph.outputs[0]!.op)! : `{${graph.outputs.map((o) => `${pythonStringLiteral(o.name)}: ${names.get(o.op)}`).join(', ')}}`;
  return [`    def forward(self, ${input}: Tensor) -> ${single ? 'Tensor' : 'dict[str, Tensor]'}:`, ...body, `        return ${returned}`];
}

/** An op's call in `forward`: its module at its name (`self.layer1[0].conv1(y)`), or its expression. */
function expression(op: Op, args: readonly string[]): string {
  const form = definitionOf(op).pytorch;
  if (!form) throw new InternalError(`${op.name} has no PyTorch form`);
  if ('expression' in form) return form.expression(op as never, args);
  const path = op.name
    .split('.')
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
    .join('');
  return `self${path}(${args.join(', ')})`;
}

const tuple = (shape: Shape) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

const shapeText = (shape: Shape) => channelsFirst(shape).join('×');

/** Layer `index`'s shape formula, channels first: `64×⌈H/2⌉×⌈W/2⌉`. */
function channelsFirstFormula(graph: AnalyzedGraph, index: number): string {
  return shapeFormulaText(channelsFirst(shapeFormula(graph, index)));
}
