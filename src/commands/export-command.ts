import { displayPath } from '../files/display-path.js';
import { emitOnnx, OPSET } from '../emit/onnx.js';
import { onnxSizeProblem } from '../emit/onnx-limit.js';
import { UserError } from '../errors/user-error.js';
import { assertWritable } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { deploymentMetadata } from '../runtime/weights/folder.js';
import { initialWeights } from '../weights/init.js';
import { quantizedExport, QUANTIZE_OPTIONS, type QuantizeRequest } from './export-quantized.js';
import { defineCommand, UsageError } from './command-line.js';
import { graphForOneSize, ONE_SIZE_OPTION } from './input-size.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { readUserWeights } from './user-weights.js';
import { megabytes, torchWeightsOf } from './weights-command.js';

export const command = defineCommand({
  name: 'export',
  summary: "Write a spec's model as ONNX, for onnxruntime and other runtimes",
  forms: [{ args: 'onnx <spec.json>' }],
  description: `Writes the spec's model as a standard ONNX model for inference: opset ${OPSET}, NCHW input named "input" with a
dynamic batch dimension, one named output per model output ("output" for a classifier, C2… for backbones, out and
aux or cls_logits and bbox_regression for dense heads), BatchNorm folded into the convolution before it, dropout
removed. Weights come from a weights folder written by 'netspec weights import', or without --weights are freshly
initialised from a fixed seed. The generated <spec>.onnx.ts module runs it with onnxruntime-node.

--quantize int8 writes it instead as a static int8 QDQ model, as onnxruntime's quantiser does: per-channel
symmetric int8 weights, int8 activations with per-tensor ranges calibrated by running the fp32 model in
onnxruntime-node on --calibrate's images (fashion-mnist's training split, or a folder of JPEG and PNG images
resized and normalised as 'netspec predict' does), ReLUs absorbed into the ranges, and Conv, Gemm, Add and the
pools quantised; ops that stay fp32 are named. It needs --weights: ranges of random weights mean nothing.`,
  options: {
    weights: { type: 'string', arg: 'DIR', help: 'The weights folder to export' },
    out: { type: 'string', arg: 'FILE', required: true, help: 'The ONNX file to write' },
    ...QUANTIZE_OPTIONS,
    ...ONE_SIZE_OPTION,
  },
  run: async ({ values, positionals }) => {
    const [format, spec, ...extra] = positionals;
    if (format !== 'onnx') throw new UsageError(`export takes the format onnx, got ${JSON.stringify(format ?? '')}`);
    if (!spec || extra.length > 0) throw new UsageError('export onnx takes one spec');
    if (values.out === undefined) throw new UsageError('export onnx needs --out FILE');
    const quantize: QuantizeRequest | undefined =
      values.quantize === undefined
        ? undefined
        : { calibrate: values.calibrate, images: values['calibration-images'], method: values.calibration, weightBits: values['weight-bits'] };
    if (quantize && values.weights === undefined)
      throw new UsageError('export onnx --quantize needs --weights DIR: calibrating freshly initialised weights means nothing');
    if (!quantize && values.calibrate !== undefined) throw new UsageError('--calibrate is for --quantize int8');
    return exportOnnxCommand({ spec, out: values.out, weights: values.weights, quantize, size: values.size });
  },
});

/**
 * `netspec export onnx`: the spec's model as ONNX, with a weights folder's weights or, without one, freshly
 * initialised weights from a fixed seed (for benchmarks and for checking a deployment before training).
 */
async function exportOnnxCommand(options: {
  spec: string;
  weights: string | undefined;
  out: string;
  quantize?: QuantizeRequest;
  size: string | undefined;
}): Promise<number> {
  assertWritable([{ path: options.out, kind: 'onnx' }]);
  const spec = analyzeSpecFile(options.spec, 'inference');
  // An open size exports as one, with dynamic height and width, unless int8 calibration needs one size.
  const graph = options.quantize || options.size !== undefined ? graphForOneSize(spec, options.size, 'int8 calibration') : spec;
  // Before the weights are read or drawn: a model past ONNX's 2 GiB would fail only once built, minutes and gigabytes later.
  const tooLarge = onnxSizeProblem(graph);
  if (tooLarge) throw new UserError(tooLarge);
  const weights = options.weights === undefined ? initialWeights(graph) : await torchWeightsOf(graph, options.weights);
  // A trained folder's normalisation and class names travel in the file, for whoever deploys it.
  const metadata = options.weights === undefined ? {} : deploymentMetadata((await readUserWeights(options.weights)).manifest);
  const bytes = emitOnnx(graph, weights, metadata);
  if (options.quantize) return quantizedExport(graph, bytes, options.weights!, options.out, options.quantize);
  writeAtomically(options.out, bytes, 'onnx');
  const source = options.weights === undefined ? 'freshly initialised weights' : `the weights in ${displayPath(options.weights)}`;
  process.stdout.write(
    `wrote ${displayPath(options.out)}: ${graph.name} as ONNX (opset ${OPSET}, BatchNorm folded) with ${source}, ${megabytes(bytes.length)}\n`,
  );
  return 0;
}
