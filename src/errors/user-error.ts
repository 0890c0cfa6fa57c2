// Problems the user fixes, as opposed to bugs. Commands throw them; the command line prints them and exits 1.
import { displayPath } from '../files/display-path.js';
import { fsFaultLine } from '../files/fs-errors.js';
import { ImageFormatError, ImageTooLargeError } from '../runtime/images/header.js';
import { OnnxRuntimeMissingError } from '../runtime/onnx/types.js';
import { WeightsError } from '../runtime/weights/folder.js';

/**
 * A problem with what the user gave netspec (a spec, a file, data, weights, a place to write) rather than a bug:
 * the command line prints its lines to standard error, never a stack, and exits 1.
 */
export class UserError extends Error {
  /** What standard error shows: each line of the message after `netspec: `. */
  lines(): readonly string[] {
    return this.message.split('\n').map((line) => `netspec: ${line}`);
  }
}

/** User errors met while the rest of the work went on (images that could not be read among those that could), all reported. */
export class UserErrors extends UserError {
  constructor(readonly errors: readonly UserError[]) {
    super(errors.map((error) => error.message).join('\n'));
  }

  override lines(): readonly string[] {
    return this.errors.flatMap((error) => error.lines());
  }
}

/**
 * What standard error shows for an error the user fixes (a UserError, the runtime's complaint about what it was given,
 * or a filesystem fault: one line naming the path), or undefined for a bug.
 */
export function userErrorLines(error: unknown): readonly string[] | undefined {
  const converted = asUserError(error);
  if (converted instanceof UserError) return converted.lines();
  const fault = fsFaultLine(error, displayPath);
  return fault === undefined ? undefined : [`netspec: ${fault}`];
}

/**
 * The runtime's complaint about what a command gave it from the user (weights that cannot be loaded, an image it
 * cannot decode or refuses as too large) as a UserError with the same message; any other error as it is. The
 * runtime reports these in its own classes, since it knows nothing of the command line.
 */
export function asUserError(error: unknown): unknown {
  const fromUser =
    error instanceof WeightsError || error instanceof ImageFormatError || error instanceof ImageTooLargeError || error instanceof OnnxRuntimeMissingError;
  return fromUser ? new UserError(error.message) : error;
}
