// A segmenter scored on a dataset as torchvision's reference scores it: each image's predicted classes, taken at the
// label's own resolution through the image pipeline's inverse, counted in one confusion matrix (255 ignored).
import { join } from 'node:path';
import { DataFileError } from '../data/data-file-error.js';
import type { SegmentationDataset, SegmentationSample } from '../data/dataset.js';
import { decodeMaskFile } from '../data/mask-png.js';
import { ConfusionMatrix } from '../metrics/segmentation.js';
import type { ImageTransform } from '../runtime/images/pipeline.js';
import { classMasks, type ClassMask } from '../runtime/tasks/segmentation.js';
import type { ProgressLine } from '../terminal/progress.js';
import { imageOutput, runDataset } from './batches.js';
import type { ModelRunner } from './runner.js';

export interface SegmentationRun {
  readonly classes: number;
  readonly transform: ImageTransform;
  readonly batch: number;
  readonly limit?: number;
  readonly progress?: ProgressLine;
  /** Hears every image's predicted mask, at its own size, for a folder of masks. */
  readonly onMask?: (sample: SegmentationSample, mask: ClassMask) => void;
}

/** The confusion matrix of the runner's model over the dataset, and how many images it saw. */
export async function scoreSegmentation(
  dataset: SegmentationDataset,
  runner: ModelRunner,
  run: SegmentationRun,
): Promise<{ matrix: ConfusionMatrix; images: number }> {
  const matrix = new ConfusionMatrix(run.classes);
  const total = Math.min(dataset.length, run.limit ?? dataset.length);
  let done = 0;
  for await (const { images, outputs } of runDataset(dataset, runner, run.transform, run)) {
    images.forEach((image, i) => {
      const [mask] = classMasks(imageOutput(outputs.get('out')!, i), [image.placement]);
      matrix.update(image.sample.mask, mask!.classes, image.sample.image.path);
      run.onMask?.(image.sample, mask!);
    });
    done += images.length;
    run.progress?.update(done, total);
  }
  run.progress?.end();
  return { matrix, images: done };
}

/**
 * The confusion matrix of a folder of predicted masks (`<image name>.png`, palette or grey PNGs of class indices, as
 * `eval --masks` writes them) against the dataset's labels; a missing or misshapen prediction is a DataFileError.
 */
export async function scoreSegmentationResults(
  dataset: SegmentationDataset,
  folder: string,
  classes: number,
  progress?: ProgressLine,
): Promise<ConfusionMatrix> {
  const matrix = new ConfusionMatrix(classes);
  for (let index = 0; index < dataset.length; index++) {
    const sample = await dataset.load(index);
    const path = join(folder, `${sample.image.name}.png`);
    const predicted = await decodeMaskFile(path);
    if (predicted.width !== sample.pixels.width || predicted.height !== sample.pixels.height) {
      throw new DataFileError(
        path,
        `is ${predicted.width}×${predicted.height} but its image ${sample.image.name} is ${sample.pixels.width}×${sample.pixels.height}`,
      );
    }
    matrix.update(sample.mask, predicted.classes, path);
    progress?.update(index + 1, dataset.length);
  }
  progress?.end();
  return matrix;
}
