// The layer helpers by name: what op modules name in their runtime call and generated modules import from
// netspec/runtime. Free of TensorFlow.js, so that the emitter reserves these names without loading it; the table in
// index.ts is typed by them, so a helper missing from it, or one it has beyond these, does not compile.

export const LAYER_HELPERS = [
  'conv2d',
  'batchNorm',
  'relu',
  'add',
  'maxPool',
  'avgPool',
  'globalAvgPool',
  'dropout',
  'dense',
  'squeezeExcite',
  'efficientChannelAttention',
  'dropPath',
  'resize',
  'concat',
  'retinanetHead',
  'blurPool',
  'groupNorm',
] as const;

export type LayerHelper = (typeof LAYER_HELPERS)[number];
