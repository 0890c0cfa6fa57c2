// A dataset through a model in batches: each image decoded when its batch comes, prepared by the image pipeline,
// run, and handed on with where it sat in the input, so memory holds one batch whatever the dataset's size.
import type { AnnotatedDataset, DatasetImage } from '../data/dataset.js';
import { batchTransform, prepareImage, type ImageTransform, type Placement } from '../runtime/images/pipeline.js';
import type { Pixels } from '../runtime/images/pixels.js';
import type { BatchOutput, ModelRunner } from './runner.js';

/** One image of a batch as the model saw it: its sample (pixels and annotations) and its place in the input. */
export interface RunImage<Sample> {
  readonly index: number;
  readonly sample: Sample;
  readonly placement: Placement;
}

export interface BatchRun<Sample> {
  readonly images: readonly RunImage<Sample>[];
  readonly outputs: ReadonlyMap<string, BatchOutput>;
  /** The batch's input height and width: the model's, or at natural sizes the batch's own. */
  readonly size: readonly [height: number, width: number];
}

/** The first `limit` images of the dataset (all by default) through the runner, `batch` at a time, in order. */
export async function* runDataset<Sample extends { readonly pixels: Pixels }>(
  dataset: AnnotatedDataset<DatasetImage, Sample>,
  runner: ModelRunner,
  transform: ImageTransform,
  options: { readonly batch: number; readonly limit?: number },
): AsyncGenerator<BatchRun<Sample>> {
  const total = Math.min(dataset.length, options.limit ?? dataset.length);
  for (let start = 0; start < total; start += options.batch) {
    const count = Math.min(options.batch, total - start);
    const samples: Sample[] = [];
    for (let i = 0; i < count; i++) samples.push(await dataset.load(start + i));
    // At natural sizes a batch is sized by its own images, so they are all decoded before any is prepared.
    const batch = batchTransform(
      transform,
      samples.map((sample) => sample.pixels),
    );
    const perImage = batch.height * batch.width * batch.channels;
    const input = new Float32Array(count * perImage);
    const images = samples.map((sample, i) => {
      const prepared = prepareImage(sample.pixels, batch);
      input.set(prepared.data, i * perImage);
      return { index: start + i, sample, placement: prepared.placement };
    });
    const size = [batch.height, batch.width] as const;
    yield { images, outputs: await runner.run(input, count, size), size };
  }
}

/** One image's part of a batch output (its values and its own dimensions). */
export function imageOutput(output: BatchOutput, image: number): BatchOutput {
  const dims = output.dims.slice(1);
  const size = dims.reduce((a, b) => a * b, 1);
  return { data: output.data.subarray(image * size, (image + 1) * size), dims: [1, ...dims] };
}
