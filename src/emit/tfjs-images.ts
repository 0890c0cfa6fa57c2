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
  const literal = (value: unknown) => (Array.isArray(value) ? `[${value.join(', ')}]` : JSON.stringify(value));
  // An open-size model's transform is one per size: its height and width are the function's arguments.
  const open = graph.sizes !== undefined;
  const fields = Object.entries(transform).map(([key, value]) => (open && (key === 'height' || key === 'width') ? key : `${key}: ${literal(value)}`));
  const fit =
    transform.fit === 'crop'
      ? "the shorter side resized and the centre cut out, as torchvision's evaluation transform"
      : 'scaled to fit and padded at the bottom and right, as torchvision pads a batch';
  return [
    '',
    '/**',
    " * How images become this model's input when its weights say nothing else:",
    ` * ${fit}, normalised per channel.`,
    ' */',
    open
      ? `export const imageTransform = (height: number, width: number): ImageTransform => ({ ${fields.join(', ')} });`
      : `export const imageTransform: ImageTransform = { ${fields.join(', ')} };`,
    '',
    '/**',
    ' * Images as the model takes them, one batch, and where each image sits in it (`detect` and `segment` use that to',
    " * return results in each image's own pixels): fitted and normalised as the weights loaded into `model` saved",
    ` * (netspec train saves its normalisation), else as \`imageTransform\`${open ? ', at a `height`×`width` the model takes' : ''}.`,
    ' */',
    ...(open
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
