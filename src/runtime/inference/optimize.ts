import * as tf from '@tensorflow/tfjs';
import runtimeOps from '../ops/index.js';
import type { Weights } from '../ops/op.js';
import type { InferencePlan } from './plan.js';

export interface InferenceModel {
  /** Runs the model like `model.predict`, with the same outputs in the same order. */
  predict(x: tf.Tensor4D): tf.Tensor | tf.Tensor[];
  /** Frees the folded weights (the layers model keeps its own). */
  dispose(): void;
}

/**
 * An inference-only version of a model built by a generated module, running the plan the compiler's inference pass
 * made for it (`inferencePlan` from the same module): BatchNorms folded into the convolutions before them, ReLUs
 * fused into the same `tf.fused.conv2d` call, dense layers as one fused matrix multiply, dropout gone. Weights are
 * read once, when this is called; train or reload the layers model and call it again.
 */
export function optimizeForInference(model: tf.LayersModel, plan: InferencePlan): InferenceModel {
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(tensor: T): T => {
    kept.push(tensor);
    return tensor;
  };
  const read = (layer: string) => model.getLayer(layer).getWeights();
  const weights: Weights = { read, copy: (layer) => read(layer).map((w) => keep(w.clone())), keep };
  const runs = plan.steps.map((step) => ({ step, run: runtimeOps[step.helper].kernel(step, weights) }));
  const lastUse = new Map<string, number>();
  runs.forEach(({ step }, i) => step.inputs.forEach((name) => lastUse.set(name, i)));
  return {
    predict: (x) => {
      // Each value is freed after its last reader runs, as the layers model frees them: holding every activation
      // of a large batch until the end costs more in memory traffic than fusion saves.
      const values = new Map<string, tf.Tensor>([[plan.input, x]]);
      runs.forEach(({ step, run }, i) => {
        values.set(
          step.name,
          tf.tidy(() => run(step.inputs.map((name) => values.get(name)!))),
        );
        for (const name of new Set(step.inputs)) {
          if (lastUse.get(name) === i && name !== plan.input && !plan.outputs.includes(name)) values.get(name)!.dispose();
        }
      });
      const results = plan.outputs.map((name) => values.get(name)!);
      return results.length === 1 ? results[0]! : results;
    },
    dispose: () => tf.dispose(kept),
  };
}
