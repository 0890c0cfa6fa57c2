import { InternalError } from '../errors/internal-error.js';
import { int, ints, type OnnxGraph } from './onnx.js';
import { featureMap, vectorWeight, type OpBase, type OpDefinition, type Shape, type WeightSpec } from './op.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * One of torchvision's RetinaNet towers, shared by every pyramid level: `convs` 3×3 convolutions with bias and ReLU
 * (`conv.0.0` …) and a last 3×3 convolution to `anchors` × `perAnchor` channels (`cls_logits` for classification,
 * `bbox_reg` for box regression). Each level's output is laid out (y, x, anchor, value) and the levels are joined in
 * order, as torchvision's RetinaNetHead returns them: [Σ h·w·anchors, perAnchor].
 */
export interface RetinaNetHeadOp extends OpBase {
  readonly kind: 'retinanetHead';
  readonly role: 'classification' | 'regression';
  readonly anchors: number;
  /** Classes, or the 4 box offsets. */
  readonly perAnchor: number;
  readonly convs: number;
}

/** torchvision's prior for the classification logits' bias: every anchor starts at probability 0.01. */
const PRIOR_PROBABILITY = 0.01;
const priorBias = () => -Math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY);
const logitsName = (op: RetinaNetHeadOp) => (op.role === 'classification' ? 'cls_logits' : 'bbox_reg');

function channelsOf(op: RetinaNetHeadOp, inputs: readonly Shape[]): number {
  const channels = featureMap(op, inputs[0]!)[2];
  if (inputs.some((shape) => featureMap(op, shape)[2] !== channels)) throw new InternalError(`${op.name} reads levels of different widths`);
  return channels;
}

/** Its weights in torchvision's names; every convolution starts normal with std 0.01 as torchvision initialises them. */
function towerWeights(op: RetinaNetHeadOp, c: number): WeightSpec[] {
  const conv = (torch: string, tfjs: string, out: number, bias: number): WeightSpec[] => [
    {
      torch: `${torch}.weight`,
      torchShape: [out, c, 3, 3],
      tfjs: `${tfjs}/kernel`,
      tfjsShape: [3, 3, c, out],
      layout: 'conv',
      init: { kind: 'normal', std: 0.01 },
    },
    vectorWeight(`${torch}.bias`, `${tfjs}/bias`, out, { kind: 'constant', value: bias }),
  ];
  const prior = op.role === 'classification' ? priorBias() : 0;
  return [
    ...Array.from({ length: op.convs }, (_, i) => conv(`conv.${i}.0`, `conv${i}`, c, 0)).flat(),
    ...conv(logitsName(op), 'logits', op.anchors * op.perAnchor, prior),
  ];
}

/** torchvision's RetinaNet classification and regression heads, with their names and initialisation. */
const pythonTower: PythonDefinition = {
  name: '_RetinaNetTower',
  source: [
    'class _RetinaNetTower(nn.Module):',
    '    """A RetinaNet head shared by every level: convs × (3×3 conv, ReLU), then a 3×3 conv to anchors × per_anchor."""',
    '',
    '    def __init__(self, channels: int, anchors: int, per_anchor: int, convs: int, classification: bool, prior: float = 0.0) -> None:',
    '        super().__init__()',
    '        self.per_anchor = per_anchor',
    '        self.logits = logits = "cls_logits" if classification else "bbox_reg"',
    '        self.conv = nn.Sequential(*[nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()) for _ in range(convs)])',
    '        setattr(self, logits, nn.Conv2d(channels, anchors * per_anchor, 3, padding=1))',
    '        for module in self.modules():',
    '            if isinstance(module, nn.Conv2d):',
    '                nn.init.normal_(module.weight, std=0.01)',
    '                nn.init.constant_(module.bias, 0)',
    '        nn.init.constant_(getattr(self, logits).bias, prior)',
    '',
    '    def forward(self, *levels: Tensor) -> Tensor:',
    '        outputs = []',
    '        for level in levels:',
    '            y = getattr(self, self.logits)(self.conv(level))',
    '            n, _, h, w = y.shape',
    '            outputs.append(y.view(n, -1, self.per_anchor, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, self.per_anchor))',
    '        return torch.cat(outputs, dim=1)',
  ],
};

/** One level through the tower in ONNX, its initialisers shared with every other level. */
function onnxLevel(op: RetinaNetHeadOp, level: number, input: string, weights: readonly string[], graph: OnnxGraph): string {
  const name = `${op.name}.level${level}`;
  const conv3 = (x: string, i: number) =>
    graph.node('Conv', `${name}.conv${i}`, [x, weights[2 * i]!, weights[2 * i + 1]!], [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]);
  let x = input;
  for (let i = 0; i < op.convs; i++) x = graph.node('Relu', `${name}.relu${i}`, [conv3(x, i)]);
  const logits = conv3(x, op.convs);
  const channelsLast = graph.node('Transpose', `${name}.nhwc`, [logits], [ints('perm', [0, 2, 3, 1])]);
  return graph.node('Reshape', `${name}.flat`, [channelsLast, graph.int64Initializer(`${name}.shape`, [0, -1, op.perAnchor])]);
}

export const retinanetHead: OpDefinition<RetinaNetHeadOp> = {
  arity: 'many',
  analyze: (op, inputs) => {
    const shapes = inputs.map((input) => input.shape);
    const c = channelsOf(op, shapes);
    const out = op.anchors * op.perAnchor;
    const perPixel = 9 * c * (op.convs * c + out);
    const pixels = shapes.reduce((sum, shape) => sum + shape[0]! * shape[1]!, 0);
    return { outputShape: [pixels * op.anchors, op.perAnchor], trainable: perPixel + op.convs * c + out, nonTrainable: 0, macs: pixels * perPixel };
  },
  // Its levels differ in size; its output counts their pixels.
  sides: (op) => ({ side: null, smallestInput: 1, perInputPixel: op.anchors }),
  macsGrowWith: 'inputPixels',
  weights: (op, inputs) => towerWeights(op, channelsOf(op, inputs)),
  call: (op) => ({
    helper: 'retinanetHead',
    options: { anchors: op.anchors, perAnchor: op.perAnchor, convs: op.convs, ...(op.role === 'classification' ? { prior: priorBias() } : {}) },
  }),
  onnx: ({ op, name }, inputs, graph) => {
    const c = graph.shapeOf(op.inputs[0]!)[2]!;
    const weights = towerWeights(op, c).map((w) => graph.initializer(`${op.name}.${w.torch}`, w.torchShape, graph.weight(`${op.name}.${w.torch}`)));
    return graph.node(
      'Concat',
      name,
      inputs.map((input, level) => onnxLevel(op, level, input, weights, graph)),
      [int('axis', 1)],
    );
  },
  pytorch: {
    module: (op, [input]) =>
      pythonCall('_RetinaNetTower', [input![2]!, op.anchors, op.perAnchor, op.convs], {
        classification: op.role === 'classification',
        prior: op.role === 'classification' ? priorBias() : undefined,
      }),
    uses: [pythonTower],
  },
};
