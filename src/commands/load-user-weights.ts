// A weights folder named on the command line, loaded into a model: weights that do not fit are the user's to fix.
import type * as tf from '@tensorflow/tfjs';
import { asUserError } from '../errors/user-error.js';
import type { WeightsFolder } from '../runtime/weights/folder.js';
import { loadWeights } from '../runtime/weights/files.js';

/** The model `build` makes, with the folder's weights; weights that do not fit it are a UserError. */
export async function loadUserWeights(build: () => tf.LayersModel, folder: WeightsFolder): Promise<tf.LayersModel> {
  try {
    return await loadWeights(build, folder);
  } catch (error) {
    throw asUserError(error);
  }
}
