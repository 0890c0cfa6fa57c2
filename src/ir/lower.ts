import type { NormalizedSpec } from '../spec/normalize.js';
import type { Graph, Op } from './graph.js';

/** The ImageNet stem's max-pool, as torchvision builds it. */
export const STEM_POOL = { size: 3, stride: 2, padding: 1 } as const;
/** Kernel size of the convolutions inside a basic block. */
export const BLOCK_KERNEL = 3;

/** Lowers a spec to the op graph, naming every op as torchvision names its module. */
export function lower(spec: NormalizedSpec): Graph {
  const ops: Op[] = [];
  const emit = <T extends Op>(op: T): string => {
    ops.push(op);
    return op.name;
  };
  const { epsilon, momentum } = spec.batchNorm;
  const conv = (name: string, input: string, filters: number, kernelSize: number, stride: number) =>
    emit({ kind: 'conv2d', name, inputs: [input], filters, kernelSize, stride, padding: Math.floor(kernelSize / 2) });
  const batchNorm = (name: string, input: string) => emit({ kind: 'batchNorm', name, inputs: [input], epsilon, momentum });
  const relu = (name: string, input: string) => emit({ kind: 'relu', name, inputs: [input] });

  const { height, width, channels } = spec.input;
  let x = emit({ kind: 'input', name: 'input', inputs: [], shape: [height, width, channels] });
  x = relu('relu', batchNorm('bn1', conv('conv1', x, spec.stem.width, spec.stem.kernelSize, spec.stem.stride)));
  if (spec.stem.pool === 'max') {
    x = emit({ kind: 'maxPool', name: 'maxpool', inputs: [x], poolSize: STEM_POOL.size, stride: STEM_POOL.stride, padding: STEM_POOL.padding });
  }

  let inWidth = spec.stem.width;
  spec.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.depth; b++) {
      const prefix = `layer${s + 1}.${b}`;
      const stride = b === 0 ? stage.stride : 1;
      let out = relu(`${prefix}.relu1`, batchNorm(`${prefix}.bn1`, conv(`${prefix}.conv1`, x, stage.width, BLOCK_KERNEL, stride)));
      out = batchNorm(`${prefix}.bn2`, conv(`${prefix}.conv2`, out, stage.width, BLOCK_KERNEL, 1));
      const shortcut =
        stride !== 1 || inWidth !== stage.width
          ? batchNorm(`${prefix}.downsample.1`, conv(`${prefix}.downsample.0`, x, stage.width, 1, stride))
          : x;
      x = relu(`${prefix}.relu2`, emit({ kind: 'add', name: `${prefix}.add`, inputs: [out, shortcut] }));
      inWidth = stage.width;
    }
  });

  if (spec.head.type !== 'none') x = emit({ kind: 'globalAvgPool', name: 'avgpool', inputs: [x] });
  if (spec.head.type === 'classifier') x = emit({ kind: 'dense', name: 'fc', inputs: [x], units: spec.head.classes });

  return { name: spec.name, description: spec.description, source: spec.source, ops, output: x };
}
