// Weights folders named on the command line: what is wrong with one is the user's to fix (exit 1), not a bug.
import type * as tf from '@tensorflow/tfjs';
import { asUserError } from '../errors/user-error.js';
import { loadWeights, readWeightsFolder } from '../runtime/weights/files.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';

/** The folder, read and checked against its manifest: a malformed one is a UserError, an unreadable one a filesystem fault. */
export async function readUserWeights(folder: string): Promise<WeightsFolder> {
  try {
    return await readWeightsFolder(folder);
  } catch (error) {
    throw asUserError(error);
  }
}

/** The model with the folder's weights; weights that do not fit it are a UserError, and the model is disposed. */
export async function loadUserWeights(model: tf.LayersModel, folder: WeightsFolder): Promise<tf.LayersModel> {
  try {
    return await loadWeights(model, folder, { disposeOnError: true });
  } catch (error) {
    throw asUserError(error);
  }
}
