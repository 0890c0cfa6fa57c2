import { UserError } from '../errors/user-error.js';

/** A data file that cannot be used; the message is one sentence naming the file and the problem. */
export class DataFileError extends UserError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DataFileError';
  }
}
