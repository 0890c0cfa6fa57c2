// Weights folders named on the command line: what is wrong with one is the user's to fix (exit 1), not a bug. Reading
// one needs no tfjs, so that the weights and export commands start without it; load-user-weights.ts loads into models.
import { asUserError } from '../errors/user-error.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { readWeightsFolder } from '../runtime/weights/read-folder.js';

/** The folder, read and checked against its manifest: a malformed one is a UserError, an unreadable one a filesystem fault. */
export async function readUserWeights(folder: string): Promise<WeightsFolder> {
  try {
    return await readWeightsFolder(folder);
  } catch (error) {
    throw asUserError(error);
  }
}
