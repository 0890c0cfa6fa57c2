// ONNX files are protocol buffers, which protobuf's parsers, and so onnx and onnxruntime, read only up to 2 GiB.
// netspec writes each model as one file, not as a model file plus external data: the generated .onnx.ts wrapper,
// onnxruntime-web in a page and the int8 quantiser each take one file or buffer, and the largest model of the family
// (resnext101_32x8d, 88.8 million parameters) takes 355 MB. So a larger model is refused before anything is built.
import type { AnalyzedGraph } from '../ir/analyze.js';

/** The largest protocol buffer: 2^31 − 1 bytes. */
export const ONNX_MAX_BYTES = 2 ** 31 - 1;
/** Room kept for the graph's nodes, names, shapes and metadata beside the weights: far more than any spec needs. */
const STRUCTURE_BYTES = 16 * 2 ** 20;

/**
 * Why the graph cannot be written as one ONNX file, or undefined. Its weights take at most 4 bytes per parameter
 * (folding BatchNorm into convolutions only removes values), so that bound is compared with the limit.
 */
export function onnxSizeProblem(graph: AnalyzedGraph): string | undefined {
  const weightBytes = 4 * graph.params.total;
  if (weightBytes + STRUCTURE_BYTES <= ONNX_MAX_BYTES) return undefined;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  return (
    `${graph.name} has ${graph.params.total.toLocaleString('en-US')} parameters, ${gib(weightBytes)} as float32: past the 2 GiB that one ONNX file ` +
    '(a protocol buffer) can hold; netspec writes single-file ONNX models, so export a smaller model, or use the TensorFlow.js or PyTorch targets'
  );
}
