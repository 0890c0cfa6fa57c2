import type { AnalyzedGraph } from '../ir/analyze.js';
import { imageTransformFor } from '../runtime/images/pipeline.js';

/** What every generated module imports for its images. */
export const imageImports = ['modelImageTransform', 'prepareBatch', 'type ImageBatch', 'type ImageTransform', 'type Pixels'];

/**
 * `imageTransform`, how the spec's images become its input when the weights say nothing, and `preprocess`, which
 * prepares images through the runtime's one pipeline as the weights loaded into a model ask. Every value printed is
 * a number the compiler made or a fixed word, never user text.
 */
export function imageFunctions(graph: AnalyzedGraph): string[] {
  const transform = imageTransformFor(graph);
  const literal = (value: unknown) =>
    Array.isArray(value) ? `[${value.join(', ')}]` : typeof value === 'object' && value !== null ? objectLiteral(value) : JSON.stringify(value);
  // An open-size classifier crops to a size of the caller's choosing: height and width are the function's arguments.
  const perSize = graph.sizes !== undefined && transform.fit === 'crop';
  const fields = Object.entries(transform).map(([key, value]) => (perSize && (key === 'height' || key === 'width') ? key : `${key}: ${literal(value)}`));
  const fit = {
    crop: "the shorter side resized and the centre cut out, as torchvision's evaluation transform",
    letterbox: 'scaled to fit and padded at the bottom and right, as torchvision pads a batch',
    natural:
      "scaled as torchvision's GeneralizedRCNNTransform scales them (the shorter side to minSize, the longer at most maxSize) and padded at the bottom and right to the batch's largest, rounded up to the multiple",
  }[transform.fit];
  return [
    '',
    '/**',
    " * How images become this model's input when its weights say nothing else:",
    ` * ${fit}, normalised per channel.`,
    ' */',
    perSize
      ? `export const imageTransform = (height: number, width: number): ImageTransform => ({ ${fields.join(', ')} });`
      : `export const imageTransform: ImageTransform = { ${fields.join(', ')} };`,
    '',
    '/**',
    ' * Images as the model takes them, one batch, and where each image sits in it (`detect` and `segment` use that to',
    " * return results in each image's own pixels): fitted and normalised as the weights loaded into `model` saved",
    ` * (netspec train saves its normalisation), else as \`imageTransform\`${perSize ? ', at a `height`×`width` the model takes' : ''}.`,
    ' */',
    ...(perSize
      ? [
          'export function preprocess(model: tf.LayersModel, images: readonly Pixels[], height: number, width: number): ImageBatch {',
          '  return prepareBatch(images, modelImageTransform(model, imageTransform(height, width)));',
        ]
      : [
          'export function preprocess(model: tf.LayersModel, images: readonly Pixels[]): ImageBatch {',
          '  return prepareBatch(images, modelImageTransform(model, imageTransform));',
        ]),
    '}',
  ];
}

/** `{ minSize: 800, maxSize: 1333, multiple: 32 }`: the size policy's numbers. */
function objectLiteral(value: object): string {
  return `{ ${Object.entries(value)
    .map(([key, entry]) => `${key}: ${JSON.stringify(entry)}`)
    .join(', ')} }`;
}
