// The inference-optimised tfjs path and the worker pool give the layers model's outputs on every block family.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { inferencePlan } from '../src/emit/plan.js';
import { optimizeForInference } from '../src/runtime/inference/optimize.js';
import { createInferencePool } from '../src/runtime/inference/pool.js';
import { importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { families, familySpec, modelWithWeights, weightsFor } from './support/families.js';
import { relativeError } from './support/error.js';

const TOLERANCE = 1e-4;

function compiled(overrides: object): { graph: AnalyzedGraph; code: string } {
  const result = compileSpec('specs/x.json', new TextEncoder().encode(JSON.stringify(familySpec(overrides))));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result;
}

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

for (const [family, overrides] of Object.entries(families)) {
  test(`${family}: the optimised path (BatchNorm folded, ReLU fused) equals the layers model within ${TOLERANCE}`, () => {
    const { graph } = compiled(overrides);
    const model = modelWithWeights(graph, weightsFor(graph));
    const fast = optimizeForInference(model, inferencePlan(graph));
    const images = tf.randomNormal<tf.Rank>([3, ...graph.inputShape], 0, 1, 'float32', 5) as tf.Tensor4D;
    const expected = model.predict(images) as tf.Tensor | tf.Tensor[];
    const actual = fast.predict(images);
    const [e, a] = [expected, actual].map((r) => (Array.isArray(r) ? r : [r]));
    assert.is(a!.length, graph.outputs.length);
    e!.forEach((reference, i) => {
      assert.equal(a![i]!.shape, reference.shape);
      const error = relativeError(a![i]!, reference);
      assert.ok(error <= TOLERANCE, `${graph.outputs[i]!.name}: relative max |Δ| ${error.toExponential(2)}`);
    });
    // A second run reads what the first prepared: nothing it keeps may have been freed with the first run's values.
    const again = fast.predict(images);
    (Array.isArray(again) ? again : [again]).forEach((tensor, i) => assert.equal(tensor.dataSync(), a![i]!.dataSync(), 'a second run gives the same values'));
    tf.dispose([images, ...e!, ...a!, ...(Array.isArray(again) ? again : [again])]);
    fast.dispose();
    model.dispose();
  });
}

test("the worker pool splits an uneven batch across two workers and returns the layers model's outputs", async () => {
  const { graph, code } = compiled(families['multi-output']!);
  const weights = weightsFor(graph);
  const folder = mkdtempSync(join(tmpdir(), 'netspec-pool-'));
  const imported = importCheckpoint(graph, 'x', readSafetensors('x', writeSafetensors(weights)));
  writeWeightsFolder(join(folder, 'weights'), graph.name, imported.weights, []);
  const modules = join('test', `.pool-${process.pid}`);
  mkdirSync(modules, { recursive: true });
  writeFileSync(join(modules, 'x.ts'), code);
  const pool = await createInferencePool({ module: join(modules, 'x.ts'), weights: join(folder, 'weights'), workers: 2 });
  try {
    const images = tf.randomNormal<tf.Rank>([5, ...graph.inputShape], 0, 1, 'float32', 9) as tf.Tensor4D;
    const outputs = await pool.predict(images.dataSync() as Float32Array, images.shape as [number, number, number, number]);
    const model = modelWithWeights(graph, weights);
    const expected = model.predict(images) as tf.Tensor[];
    assert.is(outputs.length, 3);
    outputs.forEach((output, i) => {
      assert.equal(output.shape, expected[i]!.shape);
      const error = relativeError(tf.tensor(output.data, output.shape), expected[i]!);
      assert.ok(error <= TOLERANCE, `${graph.outputs[i]!.name}: relative max |Δ| ${error.toExponential(2)}`);
    });
    await pool.predict(new Float32Array(7), [1, 24, 24, 3]).then(
      () => assert.unreachable('should refuse'),
      (error: Error) => assert.is(error.message, 'expected 1 image(s) of [24, 24, 3], got 7 values'),
    );
    model.dispose();
  } finally {
    await pool.close();
    rmSync(modules, { recursive: true, force: true });
    rmSync(folder, { recursive: true, force: true });
  }
});

test.run();
