// The plan the compiler's inference pass makes for a model, as each generated module exports it (`inferencePlan`).
// Types only, so that the emitter writes plans without loading TensorFlow.js.
import type { LayerHelper } from '../ops/names.js';

/**
 * One step of a model at inference: the layer it runs, with a BatchNorm folded into it and a ReLU fused after it
 * where the pass found them.
 */
export interface InferenceStep {
  readonly helper: LayerHelper;
  /** Its output's name, by which later steps read it. */
  readonly name: string;
  /** The layer whose weights it uses. */
  readonly layer: string;
  readonly inputs: readonly string[];
  /** The layer's options, as the model was built with them. */
  readonly options?: Readonly<Record<string, number | boolean>>;
  readonly batchNorm?: { readonly layer: string; readonly epsilon: number };
  readonly relu?: boolean;
}

export interface InferencePlan {
  /** The input's name, which steps read like any other value. */
  readonly input: string;
  readonly steps: readonly InferenceStep[];
  /** The value of each model output, in order. */
  readonly outputs: readonly string[];
}
