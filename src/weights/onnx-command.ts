import { writeAtomically, displayPath } from '../output.js';
import { analyzeSpecFile } from '../commands.js';
import { emitOnnx, OPSET } from '../emit/onnx.js';
import { readWeightsFolder } from '../runtime/weights-folder.js';
import { exportCheckpoint } from './convert.js';
import { initialWeights } from './init.js';
import { WeightFileError } from './safetensors.js';

/**
 * `netspec export onnx`: the spec's model as ONNX, with a weights folder's weights or, without one, freshly
 * initialised weights from a fixed seed (for benchmarks and for checking a deployment before training).
 */
export async function exportOnnxCommand(options: { spec: string; weights?: string; out: string }): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  let weights;
  try {
    if (options.weights === undefined) weights = initialWeights(graph);
    else {
      const folder = await readWeightsFolder(options.weights);
      weights = exportCheckpoint(graph, options.weights, folder.weights, folder.manifest.skipped);
    }
  } catch (error) {
    if (error instanceof WeightFileError) {
      for (const problem of error.problems) process.stderr.write(`${displayPath(error.file)}: ${problem}\n`);
    } else {
      process.stderr.write(`netspec: cannot read the weights folder ${displayPath(options.weights ?? '')}: ${(error as Error).message}\n`);
    }
    return 1;
  }
  const bytes = emitOnnx(graph, weights);
  writeAtomically(options.out, bytes);
  const source = options.weights === undefined ? 'freshly initialised weights' : `the weights in ${displayPath(options.weights)}`;
  process.stdout.write(`wrote ${displayPath(options.out)}: ${graph.name} as ONNX (opset ${OPSET}, BatchNorm folded) with ${source}, ${(bytes.length / 2 ** 20).toFixed(1)} MiB\n`);
  return 0;
}
