// What eval and predict share about running a model, kept apart from the runner so that parsing a command line, or
// scoring a results file, loads no tfjs: the --runtime option and the progress of a run over images.
import type { AnalyzedGraph } from '../ir/analyze.js';
import { progressLine, type ProgressLine } from '../terminal/progress.js';
import { UsageError } from './command-line.js';
import type { AskedSizes } from '../runtime/images/pipeline.js';

/** Which engine runs the model: onnxruntime (`auto` when onnxruntime-node is installed) or TensorFlow.js. */
export const RUNTIME_OPTION = {
  type: 'choice',
  arg: 'ENGINE',
  choices: ['auto', 'tfjs', 'onnx'],
  default: 'auto',
  help: 'onnx runs the fp32 ONNX graph of the weights on onnxruntime-node, tfjs runs TensorFlow.js; auto takes onnx when it is installed',
} as const;

/** Seconds a run goes without a progress line: long enough that a few images print only their results. */
const QUIET_SECONDS = 2;

/** Images done, their rate and the time left, on standard error, once a run has lasted QUIET_SECONDS. */
export function imageProgress(label: string): ProgressLine {
  return progressLine(process.stderr, label, 'images', { quietFor: QUIET_SECONDS });
}

/** torchvision's size policy, for detectors and segmenters whose spec leaves the input size open. */
export const SIZE_OPTIONS = {
  'min-size': {
    type: 'number',
    arg: 'N',
    min: 1,
    integer: true,
    help: "Open-size detectors and segmenters: each image's shorter side (default 800 for detectors, 520 for segmenters, as torchvision's)",
  },
  'max-size': {
    type: 'number',
    arg: 'N',
    min: 1,
    integer: true,
    help: "Open-size detectors and segmenters: each image's longer side at most (default 1333 for detectors; never past the spec's maxSize)",
  },
} as const;

/** The sizes asked for; a usage error for a model they do not apply to. */
export function askedSizes(graph: AnalyzedGraph, minSize: number | undefined, maxSize: number | undefined): AskedSizes {
  if (minSize === undefined && maxSize === undefined) return {};
  if (!graph.sizes || !graph.task) {
    const what = graph.task ? `fixes its input at ${graph.inputShape[0]}×${graph.inputShape[1]}` : 'is a classifier';
    throw new UsageError(`--min-size and --max-size are for detectors and segmenters whose spec leaves the input size open; ${graph.name} ${what}`);
  }
  return { ...(minSize !== undefined ? { minSize } : {}), ...(maxSize !== undefined ? { maxSize } : {}) };
}
