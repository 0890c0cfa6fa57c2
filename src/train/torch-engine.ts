// Training in PyTorch: the run folder gets the emitted nn.Module, the settings and the data (a classifier's images
// here; a detector's or segmenter's index of files in torch-dense.ts); torchrun runs the engine netspec ships
// (python/netspec_torch_train.py) on one or many processes and machines; the result comes back as a netspec weights
// folder, metrics.json and curves.svg, as a run of netspec's own trainer leaves them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ImageSet } from '../data/image-set.js';
import { InternalError } from '../errors/internal-error.js';
import { UserError } from '../errors/user-error.js';
import { displayPath } from '../files/display-path.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { assertWritable, PRODUCER, type OutputKind } from '../files/output-guard.js';
import { writeAtomically } from '../files/atomic-write.js';
import { readBounded } from '../files/read-bounded.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { weightProblem, normalizationProblem } from '../runtime/weights/numbers.js';
import { importCheckpoint, type ImportedWeights } from '../weights/convert.js';
import { writeWeightsFolder } from '../weights/folder.js';
import { initialWeights } from '../weights/init.js';
import { toTfjs, toTorch, weightSlots } from '../weights/mapping.js';
import { readSafetensors, WeightFileError, writeSafetensors, type ByteTensor, type FloatTensor, type SafetensorsFile } from '../weights/safetensors.js';
import { limitedSet, measureNormalization, type Normalization } from './batches.js';
import { configProblem, type TrainConfig } from './config.js';
import { classOutputs, initialisedFrom } from './fine-tune.js';
import { optimizerNames } from './optimizer-names.js';
import { schedules } from './schedule.js';
import type { EpochRecord } from './plot.js';
import { progressReporter, type ProgressReporter } from './progress.js';
import { epochSummary, runFiles, writeRunReport } from './train.js';

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

/** What every PyTorch run is given, whatever its task. */
export interface TorchRunOptions {
  readonly graph: AnalyzedGraph;
  /** The spec's PyTorch module, as `compile --target pytorch` writes it. */
  readonly module: string;
  readonly config: TrainConfig;
  readonly out: string;
  /** Start from these weights (a weights folder's, named in `source`) instead of the seeded initialisation; class outputs of other shapes start fresh. */
  readonly init?: { readonly weights: ReadonlyMap<string, NamedWeight>; readonly source: string };
  readonly resume?: boolean;
  readonly launch: TorchLaunch;
  /** End after this many epochs, leaving the checkpoint to resume from, as an interruption would. */
  readonly stopAfterEpochs?: number;
  /** Summary lines (one per epoch, the result); default standard error. */
  readonly log?: (line: string) => void;
}

export interface TorchTrainOptions extends TorchRunOptions {
  readonly data: { readonly train: ImageSet; readonly test: ImageSet; readonly classNames?: readonly string[] };
  /** Each step's progress, as the engine reports it; default a bar (or plain lines) on standard error. */
  readonly progress?: ProgressReporter;
}

/** A step as the engine reports it: the epoch's running means so far. */
export interface TorchStep {
  readonly epoch: number;
  readonly epochs: number;
  readonly done: number;
  readonly total: number;
  readonly loss: number;
  readonly seconds: number;
  /** A classifier's running accuracy. */
  readonly accuracy?: number;
  /** A detector's or segmenter's running loss parts, by name. */
  readonly losses?: Readonly<Record<string, number>>;
}

/** What one kind of run brings to the engine's launch: its data in the run folder, how its reports show, its results. */
export interface TorchRunKind<Record, Result> {
  /** The data file the engine reads (a resumed run needs it), with its kind for the output guard. */
  readonly data: { readonly path: string; readonly kind: OutputKind };
  /** Writes the data file; returns the settings the engine reads beside the model's name and the config. */
  prepare(): { readonly normalization: Normalization } & { readonly [key: string]: unknown };
  step(step: TorchStep): void;
  /** An epoch's record as the engine reports it, of the run's `epochs`; returns its line in the log. */
  epoch(record: Record, epochs: number): string;
  /** The results from the state dict and history rank 0 wrote: the weights folder, metrics.json, curves.svg. */
  finish(shape: TorchRunShape, state: ImportedWeights, history: Record[], settings: TorchSettings): Promise<Result>;
}

/** The run-folder files the engine reads and writes, beside the ones every run has. */
export function torchRunFiles(out: string) {
  return {
    ...runFiles(out),
    module: join(out, 'model.py'),
    settings: join(out, 'torch-run.json'),
    init: join(out, 'torch-init.safetensors'),
    data: join(out, 'torch-data.safetensors'),
    /** A detector's or segmenter's data: an index of the image and mask files, their boxes, the anchors. */
    index: join(out, 'torch-data.json'),
    checkpoint: join(out, 'checkpoint.safetensors'),
    state: join(out, 'weights.safetensors'),
    history: join(out, 'torch-history.json'),
  };
}

/** A run that cannot start or did not finish: one line for the user. */
export class TorchEngineError extends UserError {}

const HOW_TO_GET_TORCH = 'install PyTorch (Debian: apt-get install python3-torch; elsewhere: pip install torch), which provides torchrun';

/**
 * Whether `command` is an executable file where spawn would look for it: itself when it is a path (holds a slash),
 * else in each folder of the PATH. Looked up rather than run: `torchrun --help` imports PyTorch, seconds of work.
 */
export function isExecutable(command: string): boolean {
  const folders = (process.env.PATH ?? '').split(delimiter).filter((folder) => folder !== '');
  return (command.includes('/') ? [command] : folders.map((folder) => join(folder, command))).some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

/** Throws, saying how to get PyTorch, when `torchrun` cannot be run. */
export function assertTorchrun(torchrun = 'torchrun'): void {
  if (!isExecutable(torchrun)) throw new TorchEngineError(`--engine torch runs ${torchrun}, which is not installed; ${HOW_TO_GET_TORCH}`);
}

/**
 * Trains a classifier graph with PyTorch through torchrun. This machine's rank-0 process writes the results; on the
 * other machines of a multi-machine run the call returns `{ written: false }` once torchrun ends.
 */
export async function trainWithTorch(options: TorchTrainOptions): Promise<{ written: boolean; testAccuracy?: number }> {
  const ran = await runWithTorch(options, classifierRun(options));
  return ran.written ? { written: true, testAccuracy: ran.result } : { written: false };
}

/**
 * Runs the engine through torchrun on the run folder that `kind` prepares (or on the one a resumed run left), shows
 * its reports, and hands rank 0's state dict and history to `kind` to finish. A fault the engine reports in one line
 * (a data file it cannot read) is that line; torchrun's own account of the failed process is not repeated.
 */
export async function runWithTorch<Record, Result>(
  options: TorchRunOptions,
  kind: TorchRunKind<Record, Result>,
): Promise<{ written: false } | { written: true; result: Result }> {
  const stopping = options.stopAfterEpochs !== undefined && options.stopAfterEpochs < options.config.epochs;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const torchrun = options.launch.torchrun ?? 'torchrun';
  assertTorchrun(torchrun);
  const files = torchRunFiles(options.out);
  // A resumed run trains for the epochs it was started with.
  const epochs = options.resume ? checkResumable(options, files, kind.data.path).config.epochs : options.config.epochs;
  if (!options.resume) prepareRun(options, files, kind, log);
  const started = Date.now();
  const rendezvous = options.launch.nnodes > 1 ? undefined : `127.0.0.1:${await freePort()}`;
  const args = [
    ...torchrunArguments(options.launch, rendezvous, options.graph.name, options.out, options.resume === true),
    ...(stopping ? ['--stop-after', String(options.stopAfterEpochs)] : []),
  ];
  log(
    `netspec: training ${options.graph.name} with PyTorch: ${[displayPath(torchrun), ...args.map((a) => (a === TORCH_ENGINE_SCRIPT ? 'netspec_torch_train.py' : a))].join(' ')}`,
  );
  const child = spawn(torchrun, args, { stdio: ['ignore', 'pipe', 'pipe'], env: withThreadsPerProcess(options.launch.nproc) });
  const reports = followReports(child.stdout, child.stderr, kind, (record) => log(kind.epoch(record, epochs)));
  const [status] = (await Promise.all([once(child, 'close'), reports]))[0] as [number | null];
  const { shape, error } = await reports;
  if (error !== undefined) throw new TorchEngineError(error);
  if (status !== 0)
    throw new TorchEngineError(
      `torchrun exited with status ${status}; the checkpoint of the last finished epoch, if any, is in ${displayPath(files.checkpoint)} (continue with --resume)`,
    );
  if (stopping) {
    log(`netspec: stopped after epoch ${options.stopAfterEpochs}; continue with --resume`);
    return { written: false };
  }
  if (!existsSync(files.state) || statSync(files.state).mtimeMs < started - 1000) {
    log('netspec: this machine did not run rank 0, which writes the weights; they are on the machine that did');
    return { written: false };
  }
  if (!shape) throw new InternalError('the PyTorch engine wrote the weights without reporting how the run was spread');
  const { graph } = options;
  const state = importCheckpoint(graph, files.state, readSafetensors(files.state, readRunFile(files.state, MAX_CHECKPOINT_BYTES)));
  const history = readRunJson(files.history) as Record[];
  return { written: true, result: await kind.finish(shape, state, history, readSettings(files.settings, graph)) };
}

/** How the run was spread, as rank 0 reports it when it starts. */
export interface TorchRunShape {
  readonly processes: number;
  readonly machines: number;
  readonly device: string;
}

/** The run's settings file as the engine read it. */
export interface TorchSettings {
  readonly config: Omit<TrainConfig, 'replicas'>;
  readonly normalization: Normalization;
  readonly classNames: string[] | null;
}

/**
 * Shows the engine's reports (one JSON object a line on its standard output: each step, each epoch, where it runs,
 * and a fault that ends it) through `kind`; other output passes through. Standard error passes through until the
 * engine reports a fault: what torchrun prints after it is a traceback of the same fault, kept in torchrun-logs.
 */
async function followReports<Record>(
  stdout: NodeJS.ReadableStream,
  stderr: NodeJS.ReadableStream,
  kind: TorchRunKind<Record, unknown>,
  epoch: (record: Record) => void,
): Promise<{ shape?: TorchRunShape; error?: string }> {
  let shape: TorchRunShape | undefined;
  let error: string | undefined;
  const passed = (async () => {
    for await (const line of createInterface({ input: stderr, crlfDelay: Infinity })) if (error === undefined) process.stderr.write(`${line}\n`);
  })();
  for await (const line of createInterface({ input: stdout, crlfDelay: Infinity })) {
    const report = parseReport<Record>(line);
    if (report?.start) shape = report.start;
    else if (report?.step) kind.step(report.step);
    else if (report?.epoch) epoch(report.epoch);
    else if (report?.error !== undefined) error ??= report.error;
    else process.stdout.write(`${line}\n`);
  }
  await passed;
  return { shape, error };
}

type EngineReport<Record> = {
  readonly start?: TorchRunShape;
  readonly step?: TorchStep;
  readonly epoch?: Record;
  readonly error?: string;
};

/** The engine's report on a line, or undefined for a line the model or PyTorch printed. */
function parseReport<Record>(line: string): EngineReport<Record> | undefined {
  if (!/^\{"(start|step|epoch|error)"/.test(line)) return undefined;
  try {
    return JSON.parse(line) as EngineReport<Record>;
  } catch {
    return undefined;
  }
}

/** A classifier's run: the images and labels as bytes in the run folder, its steps and epochs shown as netspec's trainer shows them. */
function classifierRun(options: TorchTrainOptions): TorchRunKind<EpochRecord, number> {
  const files = torchRunFiles(options.out);
  const progress = options.progress ?? progressReporter(process.stderr);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    data: { path: files.data, kind: 'safetensors' },
    prepare: () => writeImages(options, files.data),
    step: ({ seconds, losses: _losses, accuracy = 0, ...step }) => progress.step({ ...step, accuracy, imagesPerSecond: seconds > 0 ? step.done / seconds : 0 }),
    epoch: (record, epochs) => {
      progress.end();
      return epochSummary(record, epochs);
    },
    finish: async (shape, state, history, settings) => finishRun(options, shape, state, history, settings, log),
  };
}

/**
 * The environment with OMP_NUM_THREADS, unless the user set it, sharing this machine's cores among the processes;
 * torchrun would otherwise set 1 for several processes and print a banner saying so.
 */
function withThreadsPerProcess(nproc: number): NodeJS.ProcessEnv {
  if (nproc === 1 || process.env.OMP_NUM_THREADS !== undefined) return process.env;
  return { ...process.env, OMP_NUM_THREADS: String(Math.max(1, Math.floor(availableParallelism() / nproc))) };
}

/** A port on 127.0.0.1 that nothing listens on now, for a one-machine run's rendezvous. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Writes the run's data (as `kind` does), the initial weights, the module and the settings into the run folder. */
function prepareRun<Record>(
  options: TorchRunOptions,
  files: ReturnType<typeof torchRunFiles>,
  kind: TorchRunKind<Record, unknown>,
  log: (line: string) => void,
): void {
  if (existsSync(files.checkpoint))
    throw new TorchEngineError(`${displayPath(files.checkpoint)} holds a PyTorch run already; continue it with --resume, or choose another --out`);
  assertWritable([
    kind.data,
    { path: files.init, kind: 'safetensors' },
    { path: files.module, kind: 'generated-text' },
    { path: files.settings, kind: 'json' },
    { path: files.state, kind: 'safetensors' },
    { path: files.history, kind: 'json' },
    { path: files.weights, kind: 'weights-folder' },
    { path: files.metrics, kind: 'json' },
    { path: files.curves, kind: 'generated-text' },
  ]);
  const settings = kind.prepare();
  writeAtomically(files.init, writeSafetensors(startingWeights(options, log), new Map([['producer', PRODUCER]])), 'safetensors');
  writeAtomically(files.module, options.module, 'generated-text');
  const all = { producer: PRODUCER, model: options.graph.name, config: withoutReplicas(options.config), ...settings };
  writeAtomically(files.settings, `${JSON.stringify(all, null, 2)}\n`, 'json');
}

/**
 * A classifier's images and labels as bytes (the same images netspec's own trainer would take under --limit: a
 * stratified, seeded sample); returns its settings: the normalisation it measures, the count the engine shuffles
 * and the class names.
 */
function writeImages(options: TorchTrainOptions, path: string) {
  const { data, config } = options;
  const normalization = measureNormalization(data.train);
  const trainSet = limitedSet(data.train, config.trainLimit, config.seed);
  const split = (name: string, set: ImageSet, count: number): [string, ByteTensor][] => [
    [`${name}.images`, { shape: [count, set.height, set.width, set.channels], data: set.images.subarray(0, count * set.height * set.width * set.channels) }],
    [`${name}.labels`, { shape: [count], data: set.labels.subarray(0, count) }],
  ];
  const tensors = new Map([...split('train', trainSet, trainSet.count), ...split('test', data.test, data.test.count)]);
  writeAtomically(path, writeSafetensors(tensors, new Map([['producer', PRODUCER]])), 'safetensors');
  // The engine draws each epoch's order over the images it is given (the sample under --limit), as netspec's trainer does.
  return { normalization, shuffledCount: trainSet.count, classNames: data.classNames ?? null };
}

/**
 * The state dict the run starts from: netspec's seeded initialisation, the one its own trainer starts from with the
 * same seed, or a weights folder's weights over it (a head of other shapes kept fresh, as netspec's trainer does).
 */
function startingWeights(options: TorchRunOptions, log: (line: string) => void): Map<string, FloatTensor> {
  const { graph, init } = options;
  const fresh = initialWeights(graph, options.config.seed);
  if (!init) return fresh;
  const slots = weightSlots(graph);
  const heads = classOutputs(graph);
  const current = slots.map((slot) => ({ name: slot.tfjsName, shape: slot.tfjsShape, data: toTfjs(slot, fresh.get(slot.torchName)!.data) }));
  let chosen;
  try {
    chosen = initialisedFrom(current, init.weights, heads, init.source);
  } catch (error) {
    throw new TorchEngineError((error as Error).message);
  }
  const byName = new Map(chosen.weights.map((weight) => [weight.name, weight]));
  log(
    `netspec: starting from the weights in ${init.source}${chosen.freshHead ? `; the head ${heads.join(', ')} has other shapes there (another class count) and starts fresh` : ''}`,
  );
  return new Map(slots.map((slot) => [slot.torchName, { shape: slot.torchShape, data: toTorch(slot, byName.get(slot.tfjsName)!.data) }]));
}

/** The settings without the tfjs engine's replica count, which says nothing of a PyTorch run. */
function withoutReplicas(config: TrainConfig): Omit<TrainConfig, 'replicas'> {
  const { replicas: _replicas, ...rest } = config;
  return rest;
}

/**
 * A resumed run keeps the settings and images it started with. Its module is written again from the spec rather
 * than run as found: the engine executes model.py, and a run folder may come from someone else.
 */
function checkResumable(options: TorchRunOptions, files: ReturnType<typeof torchRunFiles>, data: string): TorchSettings {
  for (const path of [files.settings, data, files.module, files.checkpoint]) {
    if (!existsSync(path)) throw new TorchEngineError(`--resume needs ${displayPath(path)}, which a PyTorch run writes; start the run without --resume`);
  }
  const settings = readSettings(files.settings, options.graph);
  checkCheckpoint(options, files.checkpoint, settings.config.epochs);
  assertWritable([{ path: files.module, kind: 'generated-text' }]);
  writeAtomically(files.module, options.module, 'generated-text');
  return settings;
}

/** The largest checkpoint read: a model and its optimiser's slots, in one buffer. */
const MAX_CHECKPOINT_BYTES = 2 ** 32 - 2;
/** The largest JSON file of a run read (settings, history): class names and per-epoch figures take kilobytes. */
const MAX_RUN_JSON_BYTES = 64 * 2 ** 20;

/** A file of the run folder, read with its size bounded; a device, pipe, folder or oversized file is one line. */
function readRunFile(path: string, limit: number): Uint8Array {
  const bytes = readBounded(path, limit);
  if (bytes instanceof Uint8Array) return bytes;
  throw new TorchEngineError(
    `cannot read ${displayPath(path)}: ${bytes.kind === 'tooLarge' ? `the file is ${bytes.size}, more than the ${limit}-byte limit` : bytes.reason}`,
  );
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
function readSettings(path: string, graph: AnalyzedGraph): TorchSettings {
  const settings = readRunJson(path) as { config?: unknown; normalization?: unknown; classNames?: unknown } | null;
  const problem =
    configProblem(settings?.config, optimizerNames, schedules, 'torch') ??
    normalizationProblem(settings?.normalization, graph.inputShape[2]) ??
    (settings?.classNames === null || (Array.isArray(settings?.classNames) && settings.classNames.every((name) => typeof name === 'string'))
      ? undefined
      : 'classNames is not a list of names');
  if (problem) throw new TorchEngineError(`${displayPath(path)} cannot drive the run: ${problem}`);
  return settings as TorchSettings;
}

/**
 * Checks a checkpoint before the engine resumes from it: the model's tensors must be the spec's, by name and shape;
 * every tensor and every number of the optimiser's settings finite; the epoch one the run has. Each fault is one line.
 */
function checkCheckpoint(options: TorchRunOptions, path: string, epochs: number): void {
  const shown = displayPath(path);
  const bytes = readRunFile(path, MAX_CHECKPOINT_BYTES);
  const refusal = (why: string) => new TorchEngineError(`${shown} cannot be resumed from: ${why}`);
  let file: SafetensorsFile;
  try {
    file = readSafetensors(path, bytes);
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    throw refusal(error.problems[0]!);
  }
  const model = new Map([...file.tensors].filter(([name]) => name.startsWith('model.')).map(([name, tensor]) => [name.slice('model.'.length), tensor]));
  const others = new Map([...file.others].filter(([name]) => name.startsWith('model.')).map(([name, dtype]) => [name.slice('model.'.length), dtype]));
  try {
    importCheckpoint(options.graph, path, { tensors: model, others, metadata: file.metadata });
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    throw refusal(`it does not hold ${options.graph.name}: ${error.problems[0]}${error.problems.length > 1 ? ` (and ${error.problems.length - 1} more)` : ''}`);
  }
  for (const [name, tensor] of file.tensors) {
    const problem = weightProblem(name, tensor.data);
    if (problem) throw refusal(problem);
  }
  const state = parseCheckpointState(file.metadata.get('netspec.checkpoint'), epochs);
  if (typeof state === 'string') throw refusal(state);
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
  if (!Number.isInteger(epoch) || (epoch as number) < 1 || (epoch as number) > epochs)
    return `its epoch ${JSON.stringify(epoch)} is not one of this run's 1 to ${epochs}`;
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

/**
 * torchrun's options, spelt with underscores, which every torchrun release takes (dashes came later). One machine
 * meets at `rendezvous`, a free port of its own: --standalone would take port 29400 in PyTorch 1.13, where two runs
 * side by side meet and the first to end takes the other down.
 */
function torchrunArguments(launch: TorchLaunch, rendezvous: string | undefined, name: string, out: string, resume: boolean): string[] {
  const spread = ['--nnodes', String(launch.nnodes), '--nproc_per_node', String(launch.nproc)];
  if (launch.nnodes > 1) {
    if (!launch.rdzvEndpoint) throw new TorchEngineError('a run on several machines needs --rdzv-endpoint HOST:PORT, where the machines meet');
    spread.push('--node_rank', String(launch.nodeRank), '--rdzv_backend', 'c10d', '--rdzv_endpoint', launch.rdzvEndpoint, '--rdzv_id', `netspec-${name}`);
  } else {
    spread.push('--rdzv_backend', 'c10d', '--rdzv_endpoint', rendezvous!, '--rdzv_id', `netspec-${name}`);
  }
  // torchrun before PyTorch 2 cannot parse its own defaults "0" for these under Python 3.11 (IntFlag iteration skips
  // 0); teeing standard error, where the engine reports, into logs in the run folder is parsed by every release.
  const streams = ['--redirects', '2', '--tee', '2', '--log_dir', join(out, 'torchrun-logs')];
  // torchrun looks at its processes every 5 seconds by default, so a run ended seconds after its last epoch.
  const watch = ['--monitor_interval', '0.5'];
  return [...spread, ...streams, ...watch, TORCH_ENGINE_SCRIPT, out, ...(resume ? ['--resume'] : [])];
}

/** A classifier's state dict as a netspec weights folder, and metrics.json and curves.svg from the engine's history. */
function finishRun(
  options: TorchTrainOptions,
  shape: TorchRunShape,
  state: ImportedWeights,
  history: EpochRecord[],
  settings: TorchSettings,
  log: (line: string) => void,
): number {
  const files = torchRunFiles(options.out);
  writeWeightsFolder(files.weights, options.graph.name, state.weights, state.skippedLayers, {
    input: settings.normalization,
    classes: settings.classNames ?? undefined,
  });
  const { last } = writeRunReport(options.out, {
    model: options.graph.name,
    engine: { engine: 'torch', ...shape },
    config: settings.config,
    normalization: settings.normalization,
    history,
  });
  const accuracy = last ? `${(last.testAccuracy * 100).toFixed(2)}%` : 'n/a';
  log(
    `netspec: test accuracy ${accuracy} after ${history.length} epochs; weights in ${displayPath(files.weights)}, metrics in ${displayPath(files.metrics)}, curves in ${displayPath(files.curves)}`,
  );
  return last?.testAccuracy ?? NaN;
}
