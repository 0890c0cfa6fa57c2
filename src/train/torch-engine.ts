// Training in PyTorch: the run folder gets the emitted nn.Module, the settings and the images; torchrun runs the
// engine netspec ships (python/netspec_torch_train.py) on one or many processes and machines; the result comes back
// as a netspec weights folder, metrics.json and curves.svg, as a run of netspec's own trainer leaves them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageSet } from '../data/image-set.js';
import { UserError } from '../errors/user-error.js';
import { displayPath } from '../files/display-path.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { assertWritable, PRODUCER } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { readBounded } from '../files/read-bounded.js';
import { nonFiniteProblem, normalizationProblem } from '../runtime/weights/numbers.js';
import { importCheckpoint } from '../weights/convert.js';
import { writeWeightsFolder } from '../weights/folder.js';
import { readSafetensors, WeightFileError, writeSafetensors, type ByteTensor, type SafetensorsFile } from '../weights/safetensors.js';
import { limitedSet, measureNormalization, type Normalization } from './batches.js';
import { configProblem, type TrainConfig } from './config.js';
import { optimizerNames } from './optimizer.js';
import { schedules } from './schedule.js';
import type { EpochRecord } from './plot.js';
import { runFiles, writeRunReport } from './train.js';

/** The engine's script, shipped in the package beside dist/. */
export const TORCH_ENGINE_SCRIPT = fileURLToPath(new URL('../../python/netspec_torch_train.py', import.meta.url));

/** How torchrun spreads the run: processes on this machine, machines, and where they meet (c10d rendezvous). */
export interface TorchLaunch {
  readonly nproc: number;
  readonly nnodes: number;
  readonly nodeRank: number;
  /** HOST:PORT of the rendezvous, needed with more than one machine. */
  readonly rdzvEndpoint?: string;
  /** The torchrun to run; default `torchrun` on the PATH. */
  readonly torchrun?: string;
}

export interface TorchTrainOptions {
  readonly graph: AnalyzedGraph;
  /** The spec's PyTorch module, as `compile --target pytorch` writes it. */
  readonly module: string;
  readonly data: { readonly train: ImageSet; readonly test: ImageSet; readonly classNames?: readonly string[] };
  readonly config: TrainConfig;
  readonly out: string;
  readonly resume?: boolean;
  readonly launch: TorchLaunch;
  /** End after this many epochs, leaving the checkpoint to resume from, as an interruption would. */
  readonly stopAfterEpochs?: number;
  readonly log?: (line: string) => void;
}

/** The run-folder files the engine reads and writes, beside the ones every run has. */
export function torchRunFiles(out: string) {
  return {
    ...runFiles(out),
    module: join(out, 'model.py'),
    settings: join(out, 'torch-run.json'),
    data: join(out, 'torch-data.safetensors'),
    checkpoint: join(out, 'checkpoint.safetensors'),
    state: join(out, 'weights.safetensors'),
    history: join(out, 'torch-history.json'),
  };
}

/** A run that cannot start or did not finish: one line for the user. */
export class TorchEngineError extends UserError {}

const HOW_TO_GET_TORCH = 'install PyTorch (Debian: apt-get install python3-torch; elsewhere: pip install torch), which provides torchrun';

/** Throws, saying how to get PyTorch, when `torchrun` cannot be run. */
export function assertTorchrun(torchrun = 'torchrun'): void {
  if (spawnSync(torchrun, ['--help'], { stdio: 'ignore' }).error) throw new TorchEngineError(`--engine torch runs ${torchrun}, which is not installed; ${HOW_TO_GET_TORCH}`);
}

/**
 * Trains the graph with PyTorch through torchrun. This machine's rank-0 process writes the results; on the other
 * machines of a multi-machine run the call returns `{ written: false }` once torchrun ends.
 */
export async function trainWithTorch(options: TorchTrainOptions): Promise<{ written: boolean; testAccuracy?: number }> {
  const stopping = options.stopAfterEpochs !== undefined && options.stopAfterEpochs < options.config.epochs;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const torchrun = options.launch.torchrun ?? 'torchrun';
  assertTorchrun(torchrun);
  const files = torchRunFiles(options.out);
  if (options.resume) checkResumable(options, files);
  else prepareRun(options, files);
  const started = Date.now();
  const args = [...torchrunArguments(options.launch, options.graph.name, options.out, options.resume === true), ...(stopping ? ['--stop-after', String(options.stopAfterEpochs)] : [])];
  log(`netspec: training ${options.graph.name} with PyTorch: ${[displayPath(torchrun), ...args.map((a) => (a === TORCH_ENGINE_SCRIPT ? 'netspec_torch_train.py' : a))].join(' ')}`);
  const status = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(torchrun, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (status !== 0) throw new TorchEngineError(`torchrun exited with status ${status}; the checkpoint of the last finished epoch, if any, is in ${displayPath(files.checkpoint)} (continue with --resume)`);
  if (stopping) {
    log(`netspec: stopped after epoch ${options.stopAfterEpochs}; continue with --resume`);
    return { written: false };
  }
  if (!existsSync(files.state) || statSync(files.state).mtimeMs < started - 1000) {
    log('netspec: this machine did not run rank 0, which writes the weights; they are on the machine that did');
    return { written: false };
  }
  return { written: true, testAccuracy: finishRun(options, files, log) };
}

/** Writes the module, the settings (with the normalisation it measures) and the images into the run folder. */
function prepareRun(options: TorchTrainOptions, files: ReturnType<typeof torchRunFiles>): void {
  const { data, config } = options;
  if (existsSync(files.checkpoint)) throw new TorchEngineError(`${displayPath(files.checkpoint)} holds a PyTorch run already; continue it with --resume, or choose another --out`);
  assertWritable([
    { path: files.data, kind: 'safetensors' },
    { path: files.module, kind: 'generated-text' },
    { path: files.settings, kind: 'json' },
    { path: files.state, kind: 'safetensors' },
    { path: files.weights, kind: 'weights-folder' },
    { path: files.metrics, kind: 'json' },
    { path: files.curves, kind: 'generated-text' },
  ]);
  const normalization = measureNormalization(data.train);
  // The same images netspec's own trainer would take under --limit: a stratified, seeded sample.
  const trainSet = limitedSet(data.train, config.trainLimit, config.seed);
  const split = (name: string, set: ImageSet, count: number): [string, ByteTensor][] => [
    [`${name}.images`, { shape: [count, set.height, set.width, set.channels], data: set.images.subarray(0, count * set.height * set.width * set.channels) }],
    [`${name}.labels`, { shape: [count], data: set.labels.subarray(0, count) }],
  ];
  const tensors = new Map([...split('train', trainSet, trainSet.count), ...split('test', data.test, data.test.count)]);
  writeAtomically(files.data, writeSafetensors(tensors, new Map([['producer', PRODUCER]])), 'safetensors');
  writeAtomically(files.module, options.module, 'generated-text');
  const settings = { producer: PRODUCER, model: options.graph.name, config, normalization, classNames: data.classNames ?? null };
  writeAtomically(files.settings, `${JSON.stringify(settings, null, 2)}\n`, 'json');
}

/**
 * A resumed run keeps the settings and images it started with. Its module is written again from the spec rather
 * than run as found: the engine executes model.py, and a run folder may come from someone else.
 */
function checkResumable(options: TorchTrainOptions, files: ReturnType<typeof torchRunFiles>): void {
  for (const path of [files.settings, files.data, files.module, files.checkpoint]) {
    if (!existsSync(path)) throw new TorchEngineError(`--resume needs ${displayPath(path)}, which a PyTorch run writes; start the run without --resume`);
  }
  readSettings(files.settings, options.graph);
  checkCheckpoint(options, files.checkpoint);
  assertWritable([{ path: files.module, kind: 'generated-text' }]);
  writeAtomically(files.module, options.module, 'generated-text');
}

/** The largest checkpoint read: a model and its optimiser's slots, in one buffer. */
const MAX_CHECKPOINT_BYTES = 2 ** 32 - 2;
/** The largest JSON file of a run read (settings, history): class names and per-epoch figures take kilobytes. */
const MAX_RUN_JSON_BYTES = 64 * 2 ** 20;

/** A file of the run folder, read with its size bounded; a device, pipe, folder or oversized file is one line. */
function readRunFile(path: string, limit: number): Uint8Array {
  const bytes = readBounded(path, limit);
  if (bytes instanceof Uint8Array) return bytes;
  throw new TorchEngineError(`cannot read ${displayPath(path)}: ${bytes.kind === 'tooLarge' ? `the file is ${bytes.size}, more than the ${limit}-byte limit` : bytes.reason}`);
}

/** A JSON file of the run folder, parsed; one that is not JSON is one line naming it. */
function readRunJson(path: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(readRunFile(path, MAX_RUN_JSON_BYTES)));
  } catch (error) {
    if (error instanceof TorchEngineError) throw error;
    throw new TorchEngineError(`${displayPath(path)} is not JSON: ${(error as Error).message}`);
  }
}

/**
 * The run's settings file, checked as a checkpoint's state is: the engine trains with them and the weights folder
 * records their normalisation, so settings out of range or a normalisation that every command would refuse stop here.
 */
function readSettings(path: string, graph: AnalyzedGraph): { config: TrainConfig; normalization: Normalization; classNames: string[] | null } {
  const settings = readRunJson(path) as { config?: unknown; normalization?: unknown; classNames?: unknown } | null;
  const problem =
    configProblem(settings?.config, optimizerNames, schedules) ??
    normalizationProblem(settings?.normalization, graph.inputShape[2]) ??
    (settings?.classNames === null || (Array.isArray(settings?.classNames) && settings.classNames.every((name) => typeof name === 'string')) ? undefined : 'classNames is not a list of names');
  if (problem) throw new TorchEngineError(`${displayPath(path)} cannot drive the run: ${problem}`);
  return settings as { config: TrainConfig; normalization: Normalization; classNames: string[] | null };
}

/**
 * Checks a checkpoint before the engine resumes from it: the model's tensors must be the spec's, by name and shape;
 * every tensor and every number of the optimiser's settings finite; the epoch one the run has. Each fault is one line.
 */
function checkCheckpoint(options: TorchTrainOptions, path: string): void {
  const shown = displayPath(path);
  const bytes = readRunFile(path, MAX_CHECKPOINT_BYTES);
  const refuse = (why: string): never => {
    throw new TorchEngineError(`${shown} cannot be resumed from: ${why}`);
  };
  let file: SafetensorsFile;
  try {
    file = readSafetensors(path, bytes);
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    return refuse(error.problems[0]!);
  }
  const model = new Map([...file.tensors].filter(([name]) => name.startsWith('model.')).map(([name, tensor]) => [name.slice('model.'.length), tensor]));
  const others = new Map([...file.others].filter(([name]) => name.startsWith('model.')).map(([name, dtype]) => [name.slice('model.'.length), dtype]));
  try {
    importCheckpoint(options.graph, path, { tensors: model, others, metadata: file.metadata });
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    refuse(`it does not hold ${options.graph.name}: ${error.problems[0]}${error.problems.length > 1 ? ` (and ${error.problems.length - 1} more)` : ''}`);
  }
  for (const [name, tensor] of file.tensors) {
    const problem = nonFiniteProblem(name, tensor.data);
    if (problem) refuse(problem);
  }
  const state = parseCheckpointState(file.metadata.get('netspec.checkpoint'), options.config.epochs);
  if (typeof state === 'string') refuse(state);
}

/** Why the checkpoint's JSON state is unusable, or the state. */
function parseCheckpointState(text: string | undefined, epochs: number): string | { epoch: number } {
  if (text === undefined) return 'it has no netspec.checkpoint state in its metadata';
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    return 'its state is not valid JSON';
  }
  const { epoch, history, param_groups: groups } = (state ?? {}) as { epoch?: unknown; history?: unknown; param_groups?: unknown };
  if (!Number.isInteger(epoch) || (epoch as number) < 1 || (epoch as number) > epochs) return `its epoch ${JSON.stringify(epoch)} is not one of this run's 1 to ${epochs}`;
  if (!Array.isArray(history) || history.length !== epoch) return `its history does not hold one record per finished epoch`;
  if (!Array.isArray(groups) || groups.length === 0) return "it lacks the optimiser's settings";
  for (const group of groups as Record<string, unknown>[]) {
    for (const [key, value] of Object.entries(group ?? {})) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v === 'number' && !Number.isFinite(v)) || (key === 'lr' && !(typeof value === 'number' && value > 0))) {
        return `the optimiser's ${key} is ${JSON.stringify(value)}`;
      }
    }
  }
  return { epoch: epoch as number };
}

/** torchrun's options, spelt with underscores, which every torchrun release takes (dashes came later). */
function torchrunArguments(launch: TorchLaunch, name: string, out: string, resume: boolean): string[] {
  const spread = ['--nnodes', String(launch.nnodes), '--nproc_per_node', String(launch.nproc)];
  if (launch.nnodes > 1) {
    if (!launch.rdzvEndpoint) throw new TorchEngineError('a run on several machines needs --rdzv-endpoint HOST:PORT, where the machines meet');
    spread.push('--node_rank', String(launch.nodeRank), '--rdzv_backend', 'c10d', '--rdzv_endpoint', launch.rdzvEndpoint, '--rdzv_id', `netspec-${name}`);
  } else {
    // One machine: a private rendezvous on a free port, so that runs side by side do not meet.
    spread.push('--standalone');
  }
  // torchrun before PyTorch 2 cannot parse its own defaults "0" for these under Python 3.11 (IntFlag iteration skips
  // 0); teeing standard error, where the engine reports, into logs in the run folder is parsed by every release.
  const streams = ['--redirects', '2', '--tee', '2', '--log_dir', join(out, 'torchrun-logs')];
  return [...spread, ...streams, TORCH_ENGINE_SCRIPT, out, ...(resume ? ['--resume'] : [])];
}

/** The state dict as a netspec weights folder, and metrics.json and curves.svg from the engine's history. */
function finishRun(options: TorchTrainOptions, files: ReturnType<typeof torchRunFiles>, log: (line: string) => void): number {
  const { graph } = options;
  const imported = importCheckpoint(graph, files.state, readSafetensors(files.state, readRunFile(files.state, MAX_CHECKPOINT_BYTES)));
  const settings = readSettings(files.settings, graph);
  writeWeightsFolder(files.weights, graph.name, imported.weights, imported.skippedLayers, { input: settings.normalization, classes: settings.classNames ?? undefined });
  const history = readRunJson(files.history) as EpochRecord[];
  const { last } = writeRunReport(options.out, { model: graph.name, backend: 'torch', config: settings.config, normalization: settings.normalization, history });
  const accuracy = last ? `${(last.testAccuracy * 100).toFixed(2)}%` : 'n/a';
  log(`netspec: test accuracy ${accuracy} after ${history.length} epochs; weights in ${displayPath(files.weights)}, metrics in ${displayPath(files.metrics)}, curves in ${displayPath(files.curves)}`);
  return last?.testAccuracy ?? NaN;
}
