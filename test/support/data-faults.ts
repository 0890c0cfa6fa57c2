import { DataFileError } from '../../src/data/data-file-error.js';

/** The message of the DataFileError that `run` throws; any other outcome fails the test. */
export function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof DataFileError) return error.message;
    throw error;
  }
  throw new Error('expected a DataFileError, but the call succeeded');
}

/** The message of the DataFileError that `run`'s promise rejects with; any other outcome fails the test. */
export async function asyncRefusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof DataFileError) return error.message;
    throw error;
  }
  throw new Error('expected a DataFileError, but the call succeeded');
}
