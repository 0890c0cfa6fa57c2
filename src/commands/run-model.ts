// A spec's model with a weights folder, opened as eval and predict open it: on the engine the user chose, with one
// line on standard error saying which runs.
import { openRunner, type ModelRunner, type RuntimeChoice } from '../evaluate/runner.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { initBackend } from '../runtime/backends/node.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';

/** The model on onnxruntime or TensorFlow.js; tfjs' backend is started either way, for it costs a tenth of a second. */
export async function openModel(graph: AnalyzedGraph, folder: WeightsFolder, runtime: RuntimeChoice): Promise<ModelRunner> {
  await initBackend({ log: () => {} });
  return openRunner(graph, folder, runtime, (line) => process.stderr.write(`${line}\n`));
}
