import { assertNever } from '../diagnostics.js';
import type { Op } from '../ir/graph.js';

/** The runtime helpers an op can call; `input` is made by tfjs itself. */
export type Helper = 'conv2d' | 'batchNorm' | 'relu' | 'add' | 'maxPool' | 'avgPool' | 'globalAvgPool' | 'dropout' | 'dense';

/** How an op is built: `helper(...inputs, name, options)`. Only non-default options are listed. */
export interface RuntimeCall {
  readonly helper: Helper;
  readonly options?: Readonly<Record<string, number | boolean>>;
}

/**
 * The one mapping from IR ops to runtime calls, shared by the TypeScript emitter (which prints the calls)
 * and the model builder (which makes them), so generated modules and `netspec predict` build the same model.
 */
export function runtimeCall(op: Exclude<Op, { kind: 'input' }>): RuntimeCall {
  switch (op.kind) {
    case 'conv2d':
      return {
        helper: 'conv2d',
        options: {
          filters: op.filters,
          kernelSize: op.kernelSize,
          stride: op.stride,
          padding: op.padding,
          ...(op.dilation > 1 ? { dilation: op.dilation } : {}),
          ...(op.groups > 1 ? { groups: op.groups } : {}),
          ...(op.initZero ? { initZero: true } : {}),
        },
      };
    case 'batchNorm':
      // tfjs weighs the running value, so its momentum is 1 − PyTorch's.
      return { helper: 'batchNorm', options: { epsilon: op.epsilon, momentum: 1 - op.momentum, ...(op.initZero ? { initZero: true } : {}) } };
    case 'relu':
      return { helper: 'relu' };
    case 'add':
      return { helper: 'add' };
    case 'maxPool':
      return { helper: 'maxPool', options: { poolSize: op.poolSize, stride: op.stride, padding: op.padding } };
    case 'avgPool':
      return { helper: 'avgPool', options: { stride: op.stride } };
    case 'globalAvgPool':
      return { helper: 'globalAvgPool' };
    case 'dropout':
      return { helper: 'dropout', options: { rate: op.rate } };
    case 'dense':
      return { helper: 'dense', options: { units: op.units } };
    default:
      return assertNever(op);
  }
}
