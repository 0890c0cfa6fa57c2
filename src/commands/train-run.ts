// `netspec train` with netspec's own trainer, once the command line is parsed: loaded only then, for it loads tfjs.
import { availableParallelism } from 'node:os';
import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { assertWritable } from '../files/output-guard.js';
import { initBackend } from '../runtime/backends/node.js';
import { readRunCheckpoint } from '../train/checkpoint.js';
import { MAX_DEFAULT_REPLICAS } from '../train/config.js';
import { progressReporter } from '../train/progress.js';
import { train } from '../train/train.js';
import { UsageError } from './command-line.js';
import { dataMismatch, dataSourceName, loadDataSource } from './data-source.js';
import { graphAtSize, refuseBothSizes } from './input-size.js';
import { askedSizes } from './run-options.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { checkFreeze, runOutputs } from './run-folder.js';
import { untilStopped } from './stop-signals.js';
import { trainDenseCommand } from './train-dense.js';
import type { TrainCommandOptions } from './train-options.js';
import { trainTorchCommand, trainTorchDenseCommand } from './train-torch.js';
import { readUserWeights } from './user-weights.js';

/** Replicas when not asked for: one per core (at most MAX_DEFAULT_REPLICAS) on the single-threaded wasm backend, else one. */
function defaultReplicas(backend: string): number {
  return backend === 'wasm' ? Math.min(availableParallelism(), MAX_DEFAULT_REPLICAS) : 1;
}

/**
 * The graph a run trains: the spec's, or an open-size spec's at the one size `--size` gives. An open-size detector
 * or segmenter without `--size` trains at natural sizes on netspec's trainer; the PyTorch engine and classifiers
 * need one size.
 */
function trainingGraph(graph: AnalyzedGraph, options: TrainCommandOptions): AnalyzedGraph {
  refuseBothSizes(options.size, askedSizes(graph, options.sizes.minSize, options.sizes.maxSize));
  if (options.size !== undefined) return graphAtSize(graph, options.size);
  if (!graph.sizes) return graph;
  if (!graph.task)
    throw new UserError(
      `training ${graph.name}, whose input size is open, needs --size HxW: one size it takes to train at (the weights then serve every size)`,
    );
  if (options.launch)
    throw new UserError(`--engine torch trains ${graph.name}, whose input size is open, at one size: give --size HxW (natural sizes are netspec's trainer's)`);
  return graph;
}

/** `netspec train`: a detector or segmenter goes to its own path; a classifier is checked against the dataset, then trains. */
export async function trainCommand(options: TrainCommandOptions): Promise<number> {
  const graph = trainingGraph(analyzeSpecFile(options.spec), options);
  const dense = options.dense;
  if (dense) {
    const allowed = dense.augments[graph.task?.kind ?? 'classification'];
    if (dense.given.has('augment') && !allowed.includes(dense.augment))
      throw new UsageError(
        `--augment ${dense.augment} is not for ${graph.task ? `a ${graph.task.kind} model` : 'a classifier'}; ${graph.name} takes ${allowed.join(', ')}`,
      );
  }
  if (graph.task) {
    const denseRun = { ...dense!, replicas: defaultReplicas, sizes: options.sizes };
    return options.launch ? trainTorchDenseCommand(graph, options, denseRun, options.launch) : trainDenseCommand(graph, options, denseRun);
  }
  const denseOnly = (['val-data', 'splits'] as const).filter((name) => dense?.given.has(name));
  if (denseOnly.length > 0)
    throw new UsageError(`${denseOnly.map((n) => `--${n}`).join(', ')} are for detectors and segmenters; ${graph.name} is a classifier`);
  if (options.launch) return trainTorchCommand(graph, options, options.launch);
  // A missing, damaged or foreign checkpoint is found before anything else is read.
  if (options.resume) readRunCheckpoint(options.out, graph);
  // Before the first step: a run that cannot save its results should not train for an epoch first.
  assertWritable(runOutputs(options.out));
  const data = await loadDataSource(options.data, graph, { ...options.folder, seed: options.config.seed });
  const mismatch = dataMismatch(dataSourceName(options.data), data, graph);
  if (mismatch) throw new UserError(mismatch);
  const backend = await initBackend();
  checkFreeze(graph, options.config.freeze ?? []);
  const init = options.init === undefined ? undefined : { weights: (await readUserWeights(options.init)).weights, source: options.init };
  return untilStopped(async (shouldStop) => {
    const result = await train({
      graph,
      data,
      config: { ...options.config, replicas: options.config.replicas ?? defaultReplicas(backend) },
      init,
      out: options.out,
      resume: options.resume,
      backend,
      progress: progressReporter(process.stderr),
      shouldStop,
    });
    return result.interrupted;
  });
}
