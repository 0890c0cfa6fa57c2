import { add, type AddOp } from './add.js';
import { avgPool, type AvgPoolOp } from './avg-pool.js';
import { batchNorm, type BatchNormOp } from './batch-norm.js';
import { blurPool, type BlurPoolOp } from './blur-pool.js';
import { concat, type ConcatOp } from './concat.js';
import { conv2d, type Conv2dOp } from './conv2d.js';
import { dense, type DenseOp } from './dense.js';
import { dropPath, type DropPathOp } from './drop-path.js';
import { dropout, type DropoutOp } from './dropout.js';
import { efficientChannelAttention, type EfficientChannelAttentionOp } from './efficient-channel-attention.js';
import { globalAvgPool, type GlobalAvgPoolOp } from './global-avg-pool.js';
import { groupNorm, type GroupNormOp } from './group-norm.js';
import { input, type InputOp } from './input.js';
import { maxPool, type MaxPoolOp } from './max-pool.js';
import type { OpDefinition } from './op.js';
import { relu, type ReluOp } from './relu.js';
import { resize, type ResizeOp } from './resize.js';
import { retinanetHead, type RetinaNetHeadOp } from './retinanet-head.js';
import { squeezeExcite, type SqueezeExciteOp } from './squeeze-excite.js';

/** The IR's ops. The union is closed: the registry below must hold every kind, and every consumer reads the registry. */
export type Op =
  | InputOp
  | Conv2dOp
  | BatchNormOp
  | ReluOp
  | AddOp
  | MaxPoolOp
  | AvgPoolOp
  | GlobalAvgPoolOp
  | DropoutOp
  | DenseOp
  | SqueezeExciteOp
  | EfficientChannelAttentionOp
  | DropPathOp
  | ResizeOp
  | ConcatOp
  | RetinaNetHeadOp
  | BlurPoolOp
  | GroupNormOp;

export type OpKind = Op['kind'];
export type OpOf<K extends OpKind> = Extract<Op, { kind: K }>;

/** Each op kind's module; every consumer (analysis, emitters, weights, ONNX, the inference pass) reads this. */
const registry: { readonly [K in OpKind]: OpDefinition<OpOf<K>> } = {
  input,
  conv2d,
  batchNorm,
  relu,
  add,
  maxPool,
  avgPool,
  globalAvgPool,
  dropout,
  dense,
  squeezeExcite,
  efficientChannelAttention,
  dropPath,
  resize,
  concat,
  retinanetHead,
  blurPool,
  groupNorm,
};

/** The module of an op's kind, typed for that op. */
export function definitionOf<O extends Op>(op: O): OpDefinition<O> {
  return registry[op.kind] as unknown as OpDefinition<O>;
}

export type {
  AddOp,
  AvgPoolOp,
  BatchNormOp,
  BlurPoolOp,
  ConcatOp,
  Conv2dOp,
  DenseOp,
  DropoutOp,
  DropPathOp,
  EfficientChannelAttentionOp,
  GlobalAvgPoolOp,
  GroupNormOp,
  InputOp,
  MaxPoolOp,
  ReluOp,
  ResizeOp,
  RetinaNetHeadOp,
  SqueezeExciteOp,
};
