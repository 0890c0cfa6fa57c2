import { analyzeSpecFile } from '../commands.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { emitOnnx, OPSET } from '../emit/onnx.js';
import { displayPath } from '../display-path.js';
import { writeAtomically } from '../output.js';
import { readBounded } from '../read-bounded.js';
import { assertWritable, PRODUCER } from '../output-guard.js';
import { readWeightsFolder } from '../runtime/weights-files.js';
import { exportCheckpoint, importCheckpoint, type ImportOptions } from './convert.js';
import { writeWeightsFolder } from './folder.js';
import { initialWeights } from './init.js';
import { readSafetensors, WeightFileError, writeSafetensors, type FloatTensor } from './safetensors.js';

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Prints a weight file's problems, one per line, and returns the exit status for them. */
function reportWeightError(error: unknown): number {
  if (!(error instanceof WeightFileError)) throw error;
  for (const problem of error.problems) process.stderr.write(`${displayPath(error.file)}: ${problem}\n`);
  process.stderr.write(`${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}; nothing was written\n`);
  return 1;
}

/** The largest file one buffer holds in Node; a checkpoint past it cannot be read at once. */
const MAX_CHECKPOINT_BYTES = 2 ** 32 - 2;

function readInput(path: string): Uint8Array | undefined {
  const read = readBounded(path, MAX_CHECKPOINT_BYTES);
  if (read instanceof Uint8Array) return read;
  const reason = read.kind === 'tooLarge' ? `the file is ${read.size}; checkpoints are read whole, up to ${MAX_CHECKPOINT_BYTES} bytes` : read.reason;
  process.stderr.write(`netspec: cannot read ${path}: ${reason}\n`);
  return undefined;
}

export async function importCommand(options: { spec: string; checkpoint: string; out: string } & ImportOptions): Promise<number> {
  const started = performance.now();
  assertWritable([{ path: options.out, kind: 'weights-folder' }]);
  const graph = analyzeSpecFile(options.spec);
  const bytes = readInput(options.checkpoint);
  if (!graph || !bytes) return 1;
  try {
    const checkpoint = readSafetensors(options.checkpoint, bytes);
    const imported = importCheckpoint(graph, options.checkpoint, checkpoint, options);
    writeWeightsFolder(options.out, graph.name, imported.weights, imported.skippedLayers);
    for (const line of imported.skipped) process.stderr.write(`skipped: ${line}\n`);
    const size = imported.weights.reduce((sum, w) => sum + w.data.byteLength, 0);
    process.stdout.write(
      `imported ${imported.weights.length} tensors (${megabytes(size)}) of ${graph.name} from ${displayPath(options.checkpoint)} into ${displayPath(options.out)} in ${Math.round(performance.now() - started)} ms` +
        (imported.skippedLayers.length > 0 ? `; ${imported.skippedLayers.length} layers keep their initialisation: ${imported.skippedLayers.join(', ')}` : '') +
        '\n',
    );
    return 0;
  } catch (error) {
    return reportWeightError(error);
  }
}

/** A weights folder's weights in PyTorch names and layouts, or the exit status after saying why they cannot be read. */
async function torchWeightsOf(graph: AnalyzedGraph, path: string): Promise<Map<string, FloatTensor> | number> {
  let folder;
  try {
    folder = await readWeightsFolder(path);
  } catch (error) {
    process.stderr.write(`netspec: cannot read the weights folder ${displayPath(path)}: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    return exportCheckpoint(graph, path, folder.weights, folder.manifest.skipped);
  } catch (error) {
    return reportWeightError(error);
  }
}

export async function exportCommand(options: { spec: string; folder: string; out: string }): Promise<number> {
  assertWritable([{ path: options.out, kind: 'safetensors' }]);
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  const tensors = await torchWeightsOf(graph, options.folder);
  if (typeof tensors === 'number') return tensors;
  const bytes = writeSafetensors(tensors, new Map([['format', 'pt'], ['model', graph.name], ['producer', PRODUCER]]));
  writeAtomically(options.out, bytes, 'safetensors');
  process.stdout.write(`exported ${tensors.size} tensors (${megabytes(bytes.length)}) of ${graph.name} to ${displayPath(options.out)}\n`);
  return 0;
}

/**
 * `netspec export onnx`: the spec's model as ONNX, with a weights folder's weights or, without one, freshly
 * initialised weights from a fixed seed (for benchmarks and for checking a deployment before training).
 */
export async function exportOnnxCommand(options: { spec: string; weights?: string; out: string }): Promise<number> {
  assertWritable([{ path: options.out, kind: 'onnx' }]);
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  const weights = options.weights === undefined ? initialWeights(graph) : await torchWeightsOf(graph, options.weights);
  if (typeof weights === 'number') return weights;
  const bytes = emitOnnx(graph, weights);
  writeAtomically(options.out, bytes, 'onnx');
  const source = options.weights === undefined ? 'freshly initialised weights' : `the weights in ${displayPath(options.weights)}`;
  process.stdout.write(`wrote ${displayPath(options.out)}: ${graph.name} as ONNX (opset ${OPSET}, BatchNorm folded) with ${source}, ${megabytes(bytes.length)}\n`);
  return 0;
}
