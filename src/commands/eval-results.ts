// `netspec eval --results`: scoring what another run or another tool predicted, with no spec and no weights —
// a COCO results file against COCO ground truth, or a folder of predicted masks against VOC or mask-folder labels.
import { annotatedSourceName, openDetectionSource, openSegmentationSource, type AnnotatedSource } from '../data/annotated-source.js';
import { DataFileError } from '../data/data-file-error.js';
import { scoreDetectionResults } from '../evaluate/detection.js';
import { scoreSegmentationResults } from '../evaluate/segmentation.js';
import { UserError } from '../errors/user-error.js';
import { writeAtomically } from '../files/atomic-write.js';
import { displayPath } from '../files/display-path.js';
import { PRODUCER } from '../files/output-guard.js';
import { readBounded } from '../files/read-bounded.js';
import type { CocoDetection } from '../metrics/coco-evaluator.js';
import { cocoJson, formatCocoCategories, formatCocoStats } from '../metrics/coco-format.js';
import { precisionRecallSvg, segmentationIouSvg } from '../metrics/charts.js';
import { MetricsInputError } from '../metrics/input-error.js';
import { formatSegmentation, segmentationFigures, segmentationJson } from '../metrics/segmentation.js';
import { imageProgress } from './run-options.js';

export interface ResultsEvalOptions {
  readonly source: AnnotatedSource;
  readonly split: string | undefined;
  /** A COCO results file (detection) or a folder of predicted masks (segmentation). */
  readonly results: string;
  readonly json: boolean;
  readonly svg: string | undefined;
}

/** A results file this large is not one to parse in memory: COCO's val2017 at 100 detections an image is about 50 MB. */
const MAX_RESULTS_BYTES = 512 * 2 ** 20;

export async function evalResults(options: ResultsEvalOptions): Promise<number> {
  const name = annotatedSourceName(options.source);
  return options.source.kind === 'coco' ? detectionResults(options, name) : segmentationResults(options, name);
}

function detectionResults(options: ResultsEvalOptions, name: string): number {
  const dataset = openDetectionSource(options.source, { split: options.split, requireImages: false });
  const results = readResults(options.results);
  let evaluation;
  try {
    evaluation = scoreDetectionResults(dataset, results);
  } catch (error) {
    if (error instanceof MetricsInputError) throw new DataFileError(options.results, error.message);
    throw error;
  }
  const title = `${displayPath(options.results)} on ${name}: ${results.length} detections`;
  if (options.svg !== undefined) writeAtomically(options.svg, precisionRecallSvg(evaluation, title), 'generated-text');
  if (options.json)
    process.stdout.write(`${JSON.stringify({ producer: PRODUCER, results: displayPath(options.results), data: name, coco: cocoJson(evaluation) }, null, 2)}\n`);
  else process.stdout.write(`${title}\n${formatCocoStats(evaluation.stats)}\n\n${formatCocoCategories(evaluation)}\n`);
  return 0;
}

/** A COCO results list, every record's fields of the right kind; anything else is one line naming the record. */
function readResults(path: string): CocoDetection[] {
  const bytes = readBounded(path, MAX_RESULTS_BYTES);
  if (!(bytes instanceof Uint8Array))
    throw new DataFileError(
      path,
      bytes.kind === 'tooLarge' ? `is ${bytes.size}, past the ${MAX_RESULTS_BYTES}-byte limit for results files` : `cannot be read: ${bytes.reason}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new DataFileError(path, `is not a JSON results list: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new DataFileError(path, 'is not a COCO results list ([{"image_id", "category_id", "bbox", "score"}, …])');
  return parsed.map((record: unknown, i) => {
    const { image_id: image, category_id: category, bbox, score } = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
    const numbers = Array.isArray(bbox) && bbox.length === 4 && bbox.every((v) => typeof v === 'number');
    if (typeof image !== 'number' || typeof category !== 'number' || !numbers || typeof score !== 'number') {
      throw new DataFileError(path, `result ${i + 1} is not {"image_id": number, "category_id": number, "bbox": [x, y, width, height], "score": number}`);
    }
    return { image_id: image, category_id: category, bbox: bbox as number[], score };
  });
}

async function segmentationResults(options: ResultsEvalOptions, name: string): Promise<number> {
  const dataset = openSegmentationSource(options.source, { split: options.split });
  const names = dataset.classNames;
  if (names === undefined) throw new UserError(`${name} does not name its classes, so their count is unknown: add a labelmap.txt naming them`);
  const matrix = await scoreSegmentationResults(dataset, options.results, names.length, imageProgress('eval'));
  const figures = segmentationFigures(matrix);
  const title = `${displayPath(options.results)} on ${name}: ${dataset.length} images`;
  if (options.svg !== undefined) writeAtomically(options.svg, segmentationIouSvg(figures, names, title), 'generated-text');
  if (options.json)
    process.stdout.write(
      `${JSON.stringify({ producer: PRODUCER, results: displayPath(options.results), data: name, images: dataset.length, classNames: names, ...segmentationJson(figures, matrix) }, null, 2)}\n`,
    );
  else process.stdout.write(`${title}\n${formatSegmentation(figures)}\n`);
  return 0;
}
