// `netspec train` with netspec's own trainer, once the command line is parsed: loaded only then, for it loads tfjs.
import { availableParallelism } from 'node:os';
import { buildModel } from '../build/model.js';
import { UserError } from '../errors/user-error.js';
import { assertWritable, type OutputKind } from '../files/output-guard.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { initBackend } from '../runtime/backends/node.js';
import { readRunCheckpoint } from '../train/checkpoint.js';
import { MAX_DEFAULT_REPLICAS, type TrainConfig } from '../train/config.js';
import { frozenLayers } from '../train/fine-tune.js';
import { progressReporter } from '../train/progress.js';
import { runFiles, train } from '../train/train.js';
import { dataMismatch, dataSourceName, loadDataSource, type DataSource } from './data-source.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { readUserWeights } from './user-weights.js';

/** Replicas when not asked for: one per core (at most MAX_DEFAULT_REPLICAS) on the single-threaded wasm backend, else one. */
function defaultReplicas(backend: string): number {
  return backend === 'wasm' ? Math.min(availableParallelism(), MAX_DEFAULT_REPLICAS) : 1;
}

export interface TrainCommandOptions {
  readonly spec: string;
  readonly data: DataSource;
  /** How an image folder is split and decoded. */
  readonly folder: { readonly valSplit: number; readonly strict: boolean; readonly maxPixels: number };
  readonly out: string;
  readonly resume: boolean;
  /** The weights folder to start from. */
  readonly init: string | undefined;
  /** `replicas` null: as defaultReplicas() chooses for the backend in use. */
  readonly config: Omit<TrainConfig, 'replicas'> & { readonly replicas: number | null };
}

/** What a run writes into its folder, each replaced only if an earlier run of netspec wrote it. */
function runOutputs(out: string): { path: string; kind: OutputKind }[] {
  const files = runFiles(out);
  return [
    { path: files.checkpoint, kind: 'safetensors' },
    { path: files.weights, kind: 'weights-folder' },
    { path: files.metrics, kind: 'json' },
    { path: files.curves, kind: 'generated-text' },
  ];
}

/** Throws naming a --freeze entry that matches no layer, before any data is read. */
function checkFreeze(graph: AnalyzedGraph, freeze: readonly string[]): void {
  if (freeze.length === 0) return;
  const model = buildModel(graph);
  try {
    frozenLayers(model, freeze);
  } finally {
    model.dispose();
  }
}

/** `netspec train`: checks that the spec is a classifier the dataset fits, then trains; Ctrl-C saves and stops. */
export async function trainCommand(options: TrainCommandOptions): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
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
  // Ctrl-C (SIGINT) and SIGTERM (a job scheduler, `kill`, a container stopping) both finish the step and save; the
  // same signal again quits at once. The exit status is 128 plus the signal's number, as a shell reports a signal.
  let stopRequested: { readonly status: number } | undefined;
  const stopOn = (signal: 'SIGINT' | 'SIGTERM', status: number) => () => {
    if (stopRequested) process.exit(status);
    stopRequested = { status };
    const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
    process.stderr.write(
      `\nnetspec: ${signal === 'SIGTERM' ? 'SIGTERM: ' : ''}stopping after this step to save a checkpoint (${again} again to quit at once)\n`,
    );
  };
  const handlers = { SIGINT: stopOn('SIGINT', 130), SIGTERM: stopOn('SIGTERM', 143) };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  try {
    const result = await train({
      graph,
      data,
      config: { ...options.config, replicas: options.config.replicas ?? defaultReplicas(backend) },
      init,
      out: options.out,
      resume: options.resume,
      backend,
      progress: progressReporter(process.stderr),
      shouldStop: () => stopRequested !== undefined,
    });
    return result.interrupted ? (stopRequested?.status ?? 130) : 0;
  } finally {
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGTERM', handlers.SIGTERM);
  }
}
