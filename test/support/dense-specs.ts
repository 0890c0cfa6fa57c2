/** Small segmentation and detection specs on one four-stage bottleneck backbone, 37×29 input, that build in moments. */
export const denseBackbone = {
  input: { height: 37, width: 29, channels: 3 },
  stem: { type: 'conv', width: 8, kernelSize: 3, stride: 2, pool: 'max' },
  block: { type: 'bottleneck', expansion: 2 },
  stages: { widths: [4, 8, 8, 8], depths: [1, 1, 1, 1], strides: [1, 2, 2, 2] },
} as const;

/** An FPN on C3–C5 with P6 and P7, and RetinaNet's towers over three anchors per location (one size, three ratios). */
export const tinyRetinanet = (classes: number) => ({
  ...denseBackbone,
  name: 'tiny_retinanet',
  neck: { type: 'fpn', channels: 8, from: ['C3', 'C4', 'C5'], extra: 'p6p7' },
  head: { type: 'retinanet', classes, anchors: { sizes: [[8], [16], [32], [64], [128]], ratios: [[0.5, 1, 2]] } },
});

/** The scene dataset's FCN: background and three classes on a 64² input, its last two stages dilated as torchvision's FCN (output stride 8). */
export const sceneFcn = {
  name: 'scene_fcn',
  input: { height: 64, width: 64, channels: 3 },
  stem: { type: 'conv', width: 8, kernelSize: 3, stride: 2, pool: 'max' },
  block: { type: 'bottleneck', expansion: 2 },
  stages: { widths: [4, 8, 8, 8], depths: [1, 1, 1, 1], strides: [1, 2, 2, 2], dilate: [false, false, true, true] },
  head: { type: 'fcn', classes: 4, aux: true },
} as const;
