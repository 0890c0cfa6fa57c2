import { UserError } from '../errors/user-error.js';

/**
 * Input the metrics cannot score: a non-finite number, a detection on an image the ground truth lacks, a label
 * outside the classes. The message is one line naming the record: a user error.
 */
export class MetricsInputError extends UserError {
  override readonly name = 'MetricsInputError';
}

/** Refuses NaN and ±Infinity where they would silently change a figure. */
export function requireFinite(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new MetricsInputError(`${what} is ${String(value)}, not a finite number`);
  return value;
}
