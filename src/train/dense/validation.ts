// A detector's or segmenter's validation split scored as `eval` scores it, by whichever engine trained it.
import { scoreDetections } from '../../evaluate/detection.js';
import type { ModelRunner } from '../../evaluate/runner.js';
import { scoreSegmentation } from '../../evaluate/segmentation.js';
import type { AnalyzedGraph } from '../../ir/analyze.js';
import { cocoJson } from '../../metrics/coco-format.js';
import { segmentationFigures, segmentationJson } from '../../metrics/segmentation.js';
import type { ImageTransform } from '../../runtime/images/pipeline.js';
import type { ProgressLine } from '../../terminal/progress.js';
import type { DenseData } from './dense-batches.js';

/** Images a validation batch runs. */
const VALIDATION_BATCH = 8;

/** A validation: its scores by name (null where undefined), and its full figures as `eval --json` gives them. */
export interface Validation {
  readonly scores: Record<string, number | null>;
  readonly figures: unknown;
}

/** COCO's AP and AP50 for a detector; mean IoU and pixel accuracy for a segmenter. */
export async function validationScores(
  graph: AnalyzedGraph,
  data: DenseData,
  runner: ModelRunner,
  transform: ImageTransform,
  progress: ProgressLine | undefined,
): Promise<Validation> {
  if (data.kind === 'detection') {
    const run = { configAt: data.configAt, transform, mapping: data.mapping, batch: VALIDATION_BATCH, voc: false, progress };
    const { coco } = await scoreDetections(data.val, runner, run);
    return { scores: { AP: coco.stats[0]!, AP50: coco.stats[1]! }, figures: cocoJson(coco) };
  }
  const run = { classes: graph.task!.classes, transform, batch: VALIDATION_BATCH, progress };
  const { matrix } = await scoreSegmentation(data.val, runner, run);
  const figures = segmentationFigures(matrix);
  const finite = (value: number) => (Number.isFinite(value) ? value : null);
  return { scores: { meanIoU: finite(figures.meanIoU), pixelAccuracy: finite(figures.globalAccuracy) }, figures: segmentationJson(figures, matrix) };
}
