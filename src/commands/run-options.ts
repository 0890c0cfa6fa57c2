// What eval and predict share about running a model, kept apart from the runner so that parsing a command line, or
// scoring a results file, loads no tfjs: the --runtime option and the progress of a run over images.
import { progressLine, type ProgressLine } from '../terminal/progress.js';

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
