// A classifier over a labelled set in memory: the images through the runner (tfjs or onnxruntime) in batches, each
// image's class of highest score, with progress. How images become the model's floats is the caller's: training's
// normalisation of an ImageSet, which evaluation does not import.
import type { ImageSet } from '../data/image-set.js';
import { highestClass } from '../runtime/tasks/classification.js';
import type { ProgressLine } from '../terminal/progress.js';
import type { ModelRunner } from './runner.js';

export interface ClassifyRun {
  readonly batch: number;
  /** Classify only the first `limit` images. */
  readonly limit?: number;
  /** The images at these indices as the model takes them: normalised floats, NHWC. */
  readonly inputs: (indices: Int32Array) => Float32Array;
  readonly progress?: ProgressLine;
}

/** The class of highest score of each of the set's first `limit` images (all by default), in order. */
export async function classifySet(set: ImageSet, runner: ModelRunner, run: ClassifyRun): Promise<Int32Array> {
  const total = Math.min(set.count, run.limit ?? set.count);
  const predicted = new Int32Array(total);
  for (let start = 0; start < total; start += run.batch) {
    const indices = Int32Array.from({ length: Math.min(run.batch, total - start) }, (_, i) => start + i);
    const outputs = await runner.run(run.inputs(indices), indices.length);
    const [logits] = outputs.values();
    predicted.set(highestClass(logits!.data, logits!.dims.at(-1)!), start);
    run.progress?.update(start + indices.length, total);
  }
  run.progress?.end();
  return predicted;
}
