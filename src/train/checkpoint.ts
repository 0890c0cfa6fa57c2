import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors/user-error.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { writeAtomically } from '../files/atomic-write.js';
import { PRODUCER } from '../files/output-guard.js';
import { readSafetensors, WeightFileError, writeSafetensors, type FloatTensor, type SafetensorsFile } from '../weights/safetensors.js';
import type { Normalization } from './batches.js';
import { slotNamesOf } from './optimizer.js';
import type { EpochRecord } from './plot.js';
import type { TrainConfig } from './config.js';

/** Where a run stands: the next epoch and step to run, and the sums of the epoch in progress. */
export interface TrainPosition {
  readonly epoch: number;
  readonly step: number;
  readonly lossSum: number;
  readonly correct: number;
  readonly seen: number;
  readonly seconds: number;
}

export interface CheckpointState {
  readonly format: 'netspec-checkpoint';
  readonly version: 1;
  readonly model: string;
  readonly config: TrainConfig;
  readonly normalization: Normalization;
  readonly position: TrainPosition;
  readonly history: readonly EpochRecord[];
}

export interface Checkpoint {
  readonly state: CheckpointState;
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
export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
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

/** Reads a checkpoint written by writeCheckpoint; a file that is not one, or is one of another model, is a UserError. */
export function readCheckpoint(path: string, model: string): Checkpoint {
  const file = checkpointFile(path);
  const text = file.metadata.get(STATE_KEY);
  if (text === undefined) throw new UserError(`${path} is not a netspec training checkpoint (no ${STATE_KEY} metadata)`);
  const state = parseState(path, text);
  if (state.format !== 'netspec-checkpoint' || state.version !== 1) throw new UserError(`${path}: unsupported checkpoint format ${String(state.format)} version ${String(state.version)}`);
  if (state.model !== model) throw new UserError(`${path} is a checkpoint of ${state.model}, not of ${model}`);
  const slotNames = slotNamesOf(state.config.optimizer.name);
  const weights: NamedWeight[] = [];
  const slots: Float32Array[][] = [];
  for (const [name, tensor] of file.tensors) {
    if (name.startsWith('model/')) weights.push({ name: name.slice('model/'.length), shape: tensor.shape, data: tensor.data });
    const slot = /^optimizer\/(\d+)\/(.+)$/.exec(name);
    if (slot) (slots[Number(slot[1])] ??= [])[slotNames.indexOf(slot[2]!)] = tensor.data;
  }
  return { state, weights, optimizer: { steps: Number(file.metadata.get(OPTIMIZER_STEPS_KEY) ?? 0), slots } };
}

/** The checkpoint of the run in `out`, to resume it; a UserError when there is none to resume. */
export function readRunCheckpoint(out: string, model: string): Checkpoint {
  const path = join(out, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new UserError(`cannot resume: ${path} does not exist`);
  return readCheckpoint(path, model);
}

/** The checkpoint's safetensors; a damaged one is a UserError of one line, since nothing was about to be written. */
function checkpointFile(path: string): SafetensorsFile {
  try {
    return readSafetensors(path, readFileSync(path));
  } catch (error) {
    if (!(error instanceof WeightFileError)) throw error;
    throw new UserError(error.message);
  }
}

function parseState(path: string, text: string): CheckpointState {
  try {
    return JSON.parse(text) as CheckpointState;
  } catch {
    throw new UserError(`${path} is not a netspec training checkpoint (its ${STATE_KEY} metadata is not JSON)`);
  }
}
