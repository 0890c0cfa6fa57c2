// A dataset through a model in batches: each image decoded when its batch comes, prepared by the image pipeline,
// run, and handed on with where it sat in the input, so memory holds one batch whatever the dataset's size.
import type { AnnotatedDataset, DatasetImage } from '../data/dataset.js';
import { prepareImage, type ImageTransform, type Placement } from '../runtime/images/pipeline.js';
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
}

/** The first `limit` images of the dataset (all by default) through the runner, `batch` at a time, in order. */
export async function* runDataset<Sample extends { readonly pixels: Pixels }>(
  dataset: AnnotatedDataset<DatasetImage, Sample>,
  runner: ModelRunner,
  transform: ImageTransform,
  options: { readonly batch: number; readonly limit?: number },
): AsyncGenerator<BatchRun<Sample>> {
  const total = Math.min(dataset.length, options.limit ?? dataset.length);
  const size = transform.height * transform.width * transform.channels;
  for (let start = 0; start < total; start += options.batch) {
    const count = Math.min(options.batch, total - start);
    const input = new Float32Array(count * size);
    const images: RunImage<Sample>[] = [];
    for (let i = 0; i < count; i++) {
      const sample = await dataset.load(start + i);
      const prepared = prepareImage(sample.pixels, transform);
      input.set(prepared.data, i * size);
      images.push({ index: start + i, sample, placement: prepared.placement });
    }
    yield { images, outputs: await runner.run(input, count) };
  }
}

/** One image's part of a batch output (its values and its own dimensions). */
export function imageOutput(output: BatchOutput, image: number): BatchOutput {
  const dims = output.dims.slice(1);
  const size = dims.reduce((a, b) => a * b, 1);
  return { data: output.data.subarray(image * size, (image + 1) * size), dims: [1, ...dims] };
}
