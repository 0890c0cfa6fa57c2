// `netspec train --engine torch`: the same spec, data and recipe, trained by PyTorch through torchrun.
import { buildModel } from '../build/model.js';
import { emitPytorch } from '../emit/pytorch.js';
import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { initBackend } from '../runtime/backends/node.js';
import { imageTransformFor } from '../runtime/images/pipeline.js';
import { readWeightsFolder } from '../runtime/weights/files.js';
import { backboneBatchNorms } from '../train/fine-tune.js';
import type { TrainConfig } from '../train/config.js';
import type { DenseData } from '../train/dense/dense-batches.js';
import { trainDenseWithTorch } from '../train/torch-dense.js';
import { assertTorchrun, TorchEngineError, trainWithTorch, type TorchLaunch } from '../train/torch-engine.js';
import { dataMismatch, dataSourceName, loadDataSource } from './data-source.js';
import type { TrainCommandOptions } from './train-options.js';
import { denseConfig, openDenseData, type DenseCommandOptions } from './train-dense.js';
import { readUserWeights } from './user-weights.js';
import { withoutRandomInit } from '../runtime/ops/op.js';

/** Loads and checks a classifier's data as the tfjs engine does, then hands the run to torchrun; failures are user errors of one line. */
export async function trainTorchCommand(graph: AnalyzedGraph, options: TrainCommandOptions, launch: TorchLaunch): Promise<number> {
  // Before seconds of decoding: without PyTorch there is nothing to hand the data to.
  assertTorchrun();
  const data = await loadDataSource(options.data, graph, { ...options.folder, seed: options.config.seed });
  const mismatch = dataMismatch(dataSourceName(options.data), data, graph);
  if (mismatch) throw new TorchEngineError(mismatch);
  const init = options.init === undefined ? undefined : { weights: (await readWeightsFolder(options.init)).weights, source: options.init };
  const config = { ...options.config, replicas: 1 };
  await trainWithTorch({ graph, module: emitPytorch(graph), data, config, init, out: options.out, resume: options.resume, launch });
  return 0;
}

/**
 * A detector's or segmenter's run: its data opened and checked and the recipe's defaults taken as the tfjs engine
 * takes them, a detector fine-tuned from trained weights with its backbone BatchNorm frozen, then torchrun.
 */
export async function trainTorchDenseCommand(
  graph: AnalyzedGraph,
  options: TrainCommandOptions,
  dense: DenseCommandOptions,
  launch: TorchLaunch,
): Promise<number> {
  const task = graph.task!;
  if (graph.inputShape[2] !== 3)
    throw new UserError(`--engine torch trains detectors and segmenters of RGB input so far; ${graph.name} takes ${graph.inputShape[2]} channels`);
  assertTorchrun();
  if (options.data.kind !== 'annotated') throw new UserError(`${graph.name} is a ${task.kind} model: train it on coco:, voc: or masks: data`);
  const data = openDenseData(graph, options.data.source, dense, options.folder.maxPixels);
  const config = denseConfig(graph, options.config, dense.given, 'torch', () => 1);
  const init = options.init === undefined ? undefined : { weights: (await readUserWeights(options.init)).weights, source: options.init };
  // tfjs scores the trained weights on the validation split at the end.
  await initBackend();
  const frozen = init && task.kind === 'detection' ? frozenNorms(graph) : [];
  if (!options.resume) process.stderr.write(`${runLine(graph, data, config)}\n`);
  await trainDenseWithTorch({
    graph,
    module: emitPytorch(graph),
    data,
    transform: imageTransformFor(graph),
    frozen,
    maxPixels: options.folder.maxPixels,
    config,
    init,
    out: options.out,
    resume: options.resume,
    launch,
  });
  return 0;
}

/** The backbone's BatchNorm layers, which are the emitted module's submodules of the same names. */
function frozenNorms(graph: AnalyzedGraph): string[] {
  // Only its layers are read.
  const model = withoutRandomInit(() => buildModel(graph));
  try {
    return backboneBatchNorms(model);
  } finally {
    model.dispose();
  }
}

/** What the run trains on and with, as netspec's dense trainer states it when it starts. */
function runLine(graph: AnalyzedGraph, data: DenseData, config: TrainConfig): string {
  const steps = Math.ceil(data.train.length / config.batchSize);
  return (
    `netspec: training ${graph.name} (${data.kind}) on ${data.train.length} images of ${data.train.source} for ${config.epochs} epochs of ${steps} steps ` +
    `(batch ${config.batchSize}, ${config.optimizer.name}, ${config.schedule} learning rate ${config.learningRate}` +
    `${config.clipGradNorm ? `, gradients clipped to norm ${config.clipGradNorm}` : ''}); ` +
    `the final weights are scored on ${data.val.length} images of ${data.val.source}`
  );
}
