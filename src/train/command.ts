import { availableParallelism } from 'node:os';
import { assertWritable, type OutputKind } from '../output-guard.js';
import { analyzeSpecFile } from '../commands.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { DataFileError } from '../data/idx.js';
import { initBackend } from '../runtime/backend.js';
import { readRunCheckpoint } from './checkpoint.js';
import { progressReporter } from './progress.js';
import type { TrainConfig } from './config.js';
import { runFiles, train } from './train.js';

export const DATASETS = ['fashion-mnist'] as const;

/** Replicas when not asked for: one per core (at most two) on the single-threaded wasm backend, else one. */
export function defaultReplicas(backend: string): number {
  return backend === 'wasm' ? Math.min(availableParallelism(), 2) : 1;
}

export interface TrainCommandOptions {
  readonly spec: string;
  readonly data: (typeof DATASETS)[number];
  readonly out: string;
  readonly resume: boolean;
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

/** `netspec train`: checks that the spec is a classifier the dataset fits, then trains; Ctrl-C saves and stops. */
export async function trainCommand(options: TrainCommandOptions): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (!graph) return 1;
  if (options.resume) {
    // A missing, damaged or foreign checkpoint is the user's to fix (exit 1), not an internal error.
    try {
      readRunCheckpoint(options.out, graph.name);
    } catch (error) {
      process.stderr.write(`netspec: ${(error as Error).message}\n`);
      return 1;
    }
  }
  // Before the first step: a run that cannot save its results should not train for an epoch first.
  assertWritable(runOutputs(options.out));
  let data;
  try {
    data = loadFashionMnist();
  } catch (error) {
    if (!(error instanceof DataFileError)) throw error;
    process.stderr.write(`netspec: ${error.message}\n`);
    return 1;
  }
  const [height, width, channels] = graph.inputShape;
  const classes = graph.outputShapes.length === 1 && graph.outputShapes[0]!.length === 1 ? graph.outputShapes[0]![0] : undefined;
  const { train: set } = data;
  if (height !== set.height || width !== set.width || channels !== set.channels || classes !== set.classes) {
    process.stderr.write(
      `netspec: ${options.data} has ${set.height}×${set.width}×${set.channels} images in ${set.classes} classes; ` +
        `${graph.name} takes ${graph.inputShape.join('×')} and outputs ${graph.outputShapes.map((s) => `[${s.join(', ')}]`).join(', ')}\n`,
    );
    return 1;
  }
  const backend = await initBackend();
  let stopRequested = false;
  const onInterrupt = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nnetspec: stopping after this step to save a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onInterrupt);
  try {
    const result = await train({
      graph,
      data,
      config: { ...options.config, replicas: options.config.replicas ?? defaultReplicas(backend) },
      out: options.out,
      resume: options.resume,
      backend,
      progress: progressReporter(process.stderr),
      shouldStop: () => stopRequested,
    });
    return result.interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
