// The layer helpers, one module each: the builders generated modules import by name, and the one table from which
// the model builder (`layerHelpers`) and the optimised path's kernels are derived. The table is typed by the names in
// names.ts, so that a helper cannot lack a builder or a kernel, nor have either without a name the emitter reserves.
import { add, addOp } from './add.js';
import { avgPool, avgPoolOp } from './avg-pool.js';
import { batchNorm, batchNormOp } from './batch-norm.js';
import { blurPool, blurPoolOp } from './blur-pool.js';
import { concat, concatOp } from './concat.js';
import { conv2d, conv2dOp } from './conv2d.js';
import { dense, denseOp } from './dense.js';
import { dropPath, dropPathOp } from './drop-path.js';
import { dropout, dropoutOp } from './dropout.js';
import { efficientChannelAttention, efficientChannelAttentionOp } from './efficient-channel-attention.js';
import { globalAvgPool, globalAvgPoolOp } from './global-avg-pool.js';
import { groupNorm, groupNormOp } from './group-norm.js';
import { maxPool, maxPoolOp } from './max-pool.js';
import { LAYER_HELPERS, type LayerHelper } from './names.js';
import type { RuntimeOp } from './op.js';
import { relu, reluOp } from './relu.js';
import { resize, resizeOp } from './resize.js';
import { retinanetHead, retinanetHeadOp } from './retinanet-head.js';
import { squeezeExcite, squeezeExciteOp } from './squeeze-excite.js';

export {
  add,
  avgPool,
  batchNorm,
  blurPool,
  concat,
  conv2d,
  dense,
  dropout,
  dropPath,
  efficientChannelAttention,
  globalAvgPool,
  groupNorm,
  maxPool,
  relu,
  resize,
  retinanetHead,
  squeezeExcite,
};
export { type ConvOptions, GroupedConv2D, groupedConv2d, type GroupedConv2DArgs } from './conv2d.js';
export { BlurPool } from './blur-pool.js';
export { DropPath } from './drop-path.js';
export { EfficientChannelAttention } from './efficient-channel-attention.js';
export { GroupNormalization } from './group-norm.js';
export { Resize } from './resize.js';
export { RetinaNetHead } from './retinanet-head.js';
export { SqueezeExcite } from './squeeze-excite.js';
export type { LayerHelper } from './names.js';

/** Every helper's builder and inference kernel, under the name op modules give in their runtime call. */
const runtimeOps = {
  conv2d: conv2dOp,
  batchNorm: batchNormOp,
  relu: reluOp,
  add: addOp,
  maxPool: maxPoolOp,
  avgPool: avgPoolOp,
  globalAvgPool: globalAvgPoolOp,
  dropout: dropoutOp,
  dense: denseOp,
  squeezeExcite: squeezeExciteOp,
  efficientChannelAttention: efficientChannelAttentionOp,
  dropPath: dropPathOp,
  resize: resizeOp,
  concat: concatOp,
  retinanetHead: retinanetHeadOp,
  blurPool: blurPoolOp,
  groupNorm: groupNormOp,
} satisfies { readonly [H in LayerHelper]: RuntimeOp };

type Builders = { readonly [H in LayerHelper]: (typeof runtimeOps)[H]['build'] };

/**
 * Every helper's builder by its name: the generated code imports them by these names and the model builder calls
 * them from here, `helper(...inputs, name, options)`.
 */
export const layerHelpers: Builders = Object.fromEntries(LAYER_HELPERS.map((helper) => [helper, runtimeOps[helper].build])) as unknown as Builders;

/**
 * The table itself, for the optimised path. It is the default export because the runtime's entry points re-export
 * this module with `export *`, which leaves a default out: the builders and layers above are netspec/runtime's, the
 * table is the runtime's own.
 */
export default runtimeOps;
