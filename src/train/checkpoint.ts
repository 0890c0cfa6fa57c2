import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { weightProblem, normalizationProblem } from '../runtime/weights/numbers.js';
import { writeAtomically } from '../files/atomic-write.js';
import { PRODUCER } from '../files/output-guard.js';
import { readBounded } from '../files/read-bounded.js';
import { weightSlots } from '../weights/mapping.js';
import { readSafetensors, WeightFileError, writeSafetensors, type FloatTensor, type SafetensorsFile } from '../weights/safetensors.js';
import type { Normalization } from './batches.js';
import { optimizerNames, slotNamesOf } from './optimizer-names.js';
import type { EpochRecord } from './plot.js';
import { configProblem, type TrainConfig } from './config.js';
import { schedules } from './schedule.js';

/** Where a run stands: the next epoch and step to run, and the sums of the epoch in progress. */
export interface TrainPosition {
  readonly epoch: number;
  readonly step: number;
  readonly lossSum: number;
  readonly correct: number;
  readonly seen: number;
  readonly seconds: number;
  /** A detector's or segmenter's loss parts summed over the epoch so far. */
  readonly parts?: Readonly<Record<string, number>>;
}

/** A run's state; the history is a classifier's epochs, or a detector's or segmenter's (DenseEpochRecord). */
export interface CheckpointState<Record = EpochRecord> {
  readonly format: 'netspec-checkpoint';
  readonly version: 1;
  readonly model: string;
  readonly config: TrainConfig;
  readonly normalization: Normalization;
  readonly position: TrainPosition;
  readonly history: readonly Record[];
}

export interface Checkpoint<Record = EpochRecord> {
  readonly state: CheckpointState<Record>;
  readonly weights: NamedWeight[];
  readonly optimizer: { steps: number; slots: Float32Array[][] };
}

/** The checkpoint's name inside a run's output folder. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

const STATE_KEY = 'netspec.checkpoint';
const OPTIMIZER_STEPS_KEY = 'netspec.optimizer.steps';

/**
 * One safetensors file holding everything a run needs to continue exactly: every model weight (BatchNorm
 * statistics included) under `model/`, the optimiser's slots under `optimizer/<variable>/<slot>`, and the run's
 * state as JSON metadata. Written atomically, so an interrupted write leaves the previous checkpoint.
 */
export function writeCheckpoint<Record>(path: string, checkpoint: Checkpoint<Record>): void {
  const slotNames = slotNamesOf(checkpoint.state.config.optimizer.name);
  const tensors = new Map<string, FloatTensor>();
  for (const w of checkpoint.weights) tensors.set(`model/${w.name}`, { shape: w.shape, data: w.data });
  checkpoint.optimizer.slots.forEach((slots, i) => slots.forEach((data, s) => tensors.set(`optimizer/${i}/${slotNames[s]}`, { shape: [data.length], data })));
  const metadata = new Map([
    [STATE_KEY, JSON.stringify(checkpoint.state)],
    [OPTIMIZER_STEPS_KEY, String(checkpoint.optimizer.steps)],
    ['producer', PRODUCER],
  ]);
  writeAtomically(path, writeSafetensors(tensors, metadata), 'safetensors');
}

/** The largest checkpoint read: a model of 10^9 parameters and Adam's two slots for each, in one buffer. */
const MAX_CHECKPOINT_BYTES = 2 ** 32 - 2;

/**
 * Reads a checkpoint written by writeCheckpoint and checks everything a resumed run will use before it is used: the
 * state's settings, normalisation, position and history; the model's tensors against the graph's weights by name
 * and shape; the optimiser's slots against the optimiser it names; every number finite. Each fault is a UserError of
 * one line naming the file. (How many slots the run's variables need, and their sizes, the optimiser checks: stateProblem.)
 */
export function readCheckpoint<Record = EpochRecord>(path: string, graph: AnalyzedGraph): Checkpoint<Record> {
  const file = checkpointFile(path);
  const refuse = (why: string): never => {
    throw new UserError(`${path} cannot be resumed from: ${why}`);
  };
  const text = file.metadata.get(STATE_KEY);
  if (text === undefined) throw new UserError(`${path} is not a netspec training checkpoint (no ${STATE_KEY} metadata)`);
  const state = parseState(path, text);
  if (state.format !== 'netspec-checkpoint' || state.version !== 1)
    throw new UserError(`${path}: unsupported checkpoint format ${String(state.format)} version ${String(state.version)}`);
  if (state.model !== graph.name) throw new UserError(`${path} is a checkpoint of ${String(state.model)}, not of ${graph.name}`);
  const problem = stateProblem(state, graph);
  if (problem) refuse(problem);
  const slotNames = slotNamesOf(state.config.optimizer.name);
  const weights: NamedWeight[] = [];
  const slots: Float32Array[][] = [];
  for (const [name, tensor] of file.tensors) {
    const numbers = weightProblem(name, tensor.data);
    if (numbers) refuse(numbers);
    if (name.startsWith('model/')) weights.push({ name: name.slice('model/'.length), shape: tensor.shape, data: tensor.data });
    else {
      const slot = /^optimizer\/(0|[1-9]\d{0,8})\/(.+)$/.exec(name);
      if (!slot || !slotNames.includes(slot[2]!))
        refuse(`it holds ${name}, which is neither a weight of the model nor a slot of ${state.config.optimizer.name}`);
      (slots[Number(slot![1])] ??= [])[slotNames.indexOf(slot![2]!)] = tensor.data;
    }
  }
  for (const [name, dtype] of file.others) refuse(`it holds ${name} of ${dtype}; a checkpoint holds float32 tensors only`);
  const fit = weightsProblem(graph, weights);
  if (fit) refuse(fit);
  for (let i = 0; i < slots.length; i++) {
    const missing = slotNames.filter((_, s) => slots[i]?.[s] === undefined);
    if (missing.length > 0) refuse(`the optimiser's ${missing.join(' and ')} of variable ${i} ${missing.length === 1 ? 'is' : 'are'} missing`);
  }
  const steps = Number(file.metadata.get(OPTIMIZER_STEPS_KEY) ?? 0);
  if (!Number.isSafeInteger(steps) || steps < 0)
    refuse(`its optimiser step count ${JSON.stringify(file.metadata.get(OPTIMIZER_STEPS_KEY))} is not a whole number`);
  return { state: state as CheckpointState<never>, weights, optimizer: { steps, slots } };
}

/** The checkpoint of the run in `out`, to resume it; a UserError when there is none to resume or it is unusable. */
export function readRunCheckpoint<Record = EpochRecord>(out: string, graph: AnalyzedGraph): Checkpoint<Record> {
  const path = join(out, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new UserError(`cannot resume: ${path} does not exist`);
  return readCheckpoint<Record>(path, graph);
}

/** The checkpoint's safetensors, read with its size bounded; a damaged one is a UserError of one line, since nothing was about to be written. */
function checkpointFile(path: string): SafetensorsFile {
  const bytes = readBounded(path, MAX_CHECKPOINT_BYTES);
  if (!(bytes instanceof Uint8Array))
    throw new UserError(
      `cannot read ${path}: ${bytes.kind === 'tooLarge' ? `the file is ${bytes.size}, more than the ${MAX_CHECKPOINT_BYTES}-byte limit for checkpoints` : bytes.reason}`,
    );
  try {
    return readSafetensors(path, bytes);
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    throw new UserError(error.message.split('\n')[0]!);
  }
}

function parseState(path: string, text: string): CheckpointState<unknown> {
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    throw new UserError(`${path} is not a netspec training checkpoint (its ${STATE_KEY} metadata is not JSON)`);
  }
  if (typeof state !== 'object' || state === null)
    throw new UserError(`${path} is not a netspec training checkpoint (its ${STATE_KEY} metadata is not an object)`);
  return state as CheckpointState<unknown>;
}

/** What in the state a resumed run could not use: its settings, normalisation, position or history. */
function stateProblem(state: CheckpointState<unknown>, graph: AnalyzedGraph): string | undefined {
  const config = configProblem(state.config, optimizerNames, schedules);
  if (config) return `its settings are unusable: ${config}`;
  const normalization = normalizationProblem(state.normalization, graph.inputShape[2]);
  if (normalization) return `its input normalisation is unusable: ${normalization}`;
  const { position, history } = state as { position: unknown; history: unknown };
  const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  const p = (position ?? {}) as Record<keyof TrainPosition, unknown>;
  if (
    typeof position !== 'object' ||
    position === null ||
    !count(p.epoch) ||
    !count(p.step) ||
    !count(p.correct) ||
    !count(p.seen) ||
    !amount(p.lossSum) ||
    !amount(p.seconds) ||
    !(p.parts === undefined || finiteAmounts(p.parts))
  ) {
    return `its position ${JSON.stringify(position)} is not whole epoch, step and image counts with finite sums`;
  }
  if ((p.epoch as number) > state.config.epochs || (p.correct as number) > (p.seen as number))
    return `its position (epoch ${p.epoch}, ${p.correct} of ${p.seen} correct) does not fit a run of ${state.config.epochs} epochs`;
  if (!Array.isArray(history) || history.length !== p.epoch) return `its history does not hold one record per finished epoch (${p.epoch})`;
  const record = history.findIndex((r: unknown, i) => (graph.task ? denseRecordProblem(r, i + 1) : classifierRecordProblem(r, i + 1)));
  if (record >= 0)
    return `its history's record ${record + 1} is not epoch ${record + 1} with finite losses, ${graph.task ? 'scores' : 'accuracies'} and seconds`;
  return undefined;
}

const amount = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;

function classifierRecordProblem(record: unknown, epoch: number): boolean {
  const r = (record ?? {}) as Record<string, unknown>;
  return r.epoch !== epoch || !['trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'seconds'].every((key) => amount(r[key]));
}

/** A dense record: its loss and seconds, and its parts and scores as objects of numbers (a score may be null, or −1 as COCO's "none"). */
function denseRecordProblem(record: unknown, epoch: number): boolean {
  const r = (record ?? {}) as Record<string, unknown>;
  const score = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v) && v >= -1);
  return r.epoch !== epoch || !amount(r.trainLoss) || !amount(r.seconds) || !finiteAmounts(r.losses) || !numbersOf(r.scores, score);
}

/** An object whose every value `allowed` admits. */
function numbersOf(x: unknown, allowed: (v: unknown) => boolean): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every(allowed);
}

/** An object of finite numbers from 0: a position's or a record's loss parts. */
function finiteAmounts(x: unknown): boolean {
  return numbersOf(x, amount);
}

/** Why the checkpoint's model weights are not the graph's, by name and shape: the first few differences, counted. */
function weightsProblem(graph: AnalyzedGraph, weights: readonly NamedWeight[]): string | undefined {
  const found = new Map(weights.map((w) => [w.name, w]));
  const expected = weightSlots(graph);
  const differences: string[] = [];
  for (const slot of expected) {
    const weight = found.get(slot.tfjsName);
    if (!weight) differences.push(`missing ${slot.tfjsName}`);
    else if (weight.shape.join() !== slot.tfjsShape.join())
      differences.push(`${slot.tfjsName} is [${weight.shape.join(', ')}] there but [${slot.tfjsShape.join(', ')}] in the spec`);
  }
  const names = new Set(expected.map((slot) => slot.tfjsName));
  for (const w of weights) if (!names.has(w.name)) differences.push(`unexpected ${w.name}`);
  if (differences.length === 0) return undefined;
  const more = differences.length > 3 ? ` (and ${differences.length - 3} more)` : '';
  return `its weights are not those of ${graph.name} as the spec describes it (was the spec changed?): ${differences.slice(0, 3).join('; ')}${more}`;
}
