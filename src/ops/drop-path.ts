import { featureMap, shapeOnly, type OpBase, type OpDefinition } from './op.js';
import { pythonCall, type PythonDefinition } from './pytorch.js';

/**
 * Stochastic depth on a residual branch (timm's DropPath): in training each image's branch is zeroed with
 * probability `rate` and otherwise scaled by 1 / (1 − rate); at inference it does nothing.
 */
export interface DropPathOp extends OpBase {
  readonly kind: 'dropPath';
  readonly rate: number;
}

/** timm's DropPath with scale_by_keep. */
const pythonDropPath: PythonDefinition = {
  name: '_DropPath',
  source: [
    'class _DropPath(nn.Module):',
    '    """timm\'s DropPath: in training each image\'s branch is zeroed with probability `rate`, else scaled by 1 / (1 − rate)."""',
    '',
    '    def __init__(self, rate: float) -> None:',
    '        super().__init__()',
    '        self.rate = rate',
    '',
    '    def forward(self, x: Tensor) -> Tensor:',
    '        if not self.training or self.rate == 0:',
    '            return x',
    '        keep = 1 - self.rate',
    '        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)',
    '        return x * mask.div_(keep)',
  ],
};

export const dropPath: OpDefinition<DropPathOp> = {
  arity: 1,
  analyze: (op, [input]) => shapeOnly(featureMap(op, input!.shape)),
  weights: () => [],
  call: (op) => ({ helper: 'dropPath', options: { rate: op.rate } }),
  fusion: { identityAtInference: true },
  onnx: (_step, [input]) => input!,
  pytorch: { module: (op) => pythonCall('_DropPath', [op.rate]), uses: [pythonDropPath] },
};
