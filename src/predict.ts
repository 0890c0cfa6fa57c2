import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './build.js';
import { analyzeSpecFile } from './commands.js';
import { initBackend } from './runtime/backend.js';
import { decodeImage, preprocess } from './runtime/preprocess.js';
import { loadWeights } from './runtime/weights.js';

const TOP = 5;

/** ImageNet's 1000 class names in index order, as torchvision lists them (data/imagenet-classes.json). */
function imagenetClasses(): string[] {
  return JSON.parse(readFileSync(new URL('../data/imagenet-classes.json', import.meta.url), 'utf8')) as string[];
}

/**
 * Classifies images with a spec's model and a weights folder, printing each image's top five classes: ImageNet
 * names for a 1000-class classifier, class indices for any other.
 */
export async function predictCommand(options: { spec: string; weights: string; images: readonly string[] }): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  const [height, width] = graph.inputShape;
  const classes = graph.outputShapes.length === 1 && graph.outputShapes[0]!.length === 1 ? graph.outputShapes[0]![0]! : 0;
  if (graph.ops.at(-1)?.kind !== 'dense' || graph.outputs.length !== 1 || height !== width || graph.inputShape[2] !== 3) {
    process.stderr.write(`netspec: predict needs a single-output classifier of square RGB images; ${graph.name} is not one\n`);
    return 1;
  }
  const names = classes === 1000 ? imagenetClasses() : undefined;
  await initBackend();
  let model: tf.LayersModel;
  try {
    model = await loadWeights(buildModel(graph), options.weights, { disposeOnError: true });
  } catch (error) {
    process.stderr.write(`netspec: ${(error as Error).message}\n`);
    return 1;
  }
  let status = 0;
  for (const path of options.images) {
    let input: tf.Tensor3D;
    try {
      input = preprocess(await decodeImage(readFileSync(path)), { crop: height! });
    } catch (error) {
      process.stderr.write(`netspec: cannot read the image ${path}: ${(error as Error).message}\n`);
      status = 1;
      continue;
    }
    const probabilities = tf.tidy(() => tf.softmax(model.predict(input.expandDims(0)) as tf.Tensor2D).squeeze() as tf.Tensor1D);
    const { values, indices } = tf.topk(probabilities, Math.min(TOP, classes));
    const [p, i] = [await values.data(), await indices.data()];
    process.stdout.write(`${path}\n`);
    i.forEach((index, rank) => process.stdout.write(`  ${rank + 1}. ${(100 * p[rank]!).toFixed(2).padStart(6)}%  ${names?.[index] ?? `class ${index}`}\n`));
    tf.dispose([input, probabilities, values, indices]);
  }
  model.dispose();
  return status;
}
