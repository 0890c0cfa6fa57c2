// The compiler's central check: the tfjs model built from each generated module agrees exactly with the analysis.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { analyzeAt, type AnalyzedGraph } from '../src/ir/analyze.js';
import { findSpecs, outputPathFor } from '../src/project/paths.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { conv2d, maxPool } from '../src/runtime/ops/index.js';
import { withoutRandomInit } from '../src/runtime/ops/op.js';
// Generated modules build with netspec/runtime's layer helpers, whose switch is their own.
import { withoutRandomInit as withoutRandomInitGenerated } from 'netspec/runtime';
import { assertForwardPass, assertModelMatchesAnalysis, probeSize, type GeneratedModule } from './support/agreement.js';

/** Forward passes of the biggest ImageNet models take seconds on wasm; their shapes and counts are still checked. */
const FORWARD_MACS_LIMIT = 5e9;

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

/**
 * Of timm's 80 specs, one of each new layer's models is built here (the tiered stem, BlurPool, the anti-aliasing
 * average-pool, GroupNorm): building all 80, up to 468 M parameters each, would take many minutes. timm.test.ts
 * checks every timm spec's analysis against timm's and runs one model of each combination of timm's options.
 */
const TIMM_HERE = new Set(['resnet10t', 'resnetblur18', 'resnetaa34d', 'resnet50_gn'].map((model) => `specs/timm/${model}.json`));
const built = findSpecs('specs').filter((spec) => !spec.startsWith('specs/timm/') || TIMM_HERE.has(spec));

for (const spec of built) {
  const result = compileSpec(spec, readFileSync(spec));
  if (!result.ok) throw new Error(`${spec} does not compile`);
  const graph: AnalyzedGraph = result.graph;
  const modulePath = `./${relative('test', outputPathFor(spec, 'specs', 'generated'))}`;
  // An open size runs forward at its smallest admissible size.
  const forwardMacs = graph.sizes ? analyzeAt(graph, ...probeSize(graph)).macs : graph.macs;

  test(`${spec}: the tfjs model equals the analysis and runs`, async () => {
    const generated = (await import(modulePath)) as GeneratedModule;
    const model = generated.createModel();
    try {
      assertModelMatchesAnalysis(model, graph);
      assert.equal(generated.params, graph.params);
      if (forwardMacs < FORWARD_MACS_LIMIT) await assertForwardPass(generated, model, graph, 2);

      // Built again without random initial values, as for loading weights: the same layers, and nothing drawn.
      const again = withoutRandomInitGenerated(() => generated.createModel());
      assert.equal(
        again.layers.map((l) => l.name),
        model.layers.map((l) => l.name),
        'same layer names when built twice',
      );
      for (const weight of again.weights) {
        const [low, high] = tf.tidy(() => [weight.read().min().dataSync()[0], weight.read().max().dataSync()[0]]);
        assert.is(low, high, `${weight.name} starts at one value`);
      }
      again.dispose();
      if (forwardMacs < FORWARD_MACS_LIMIT) {
        // `netspec predict` builds from the graph directly; it must make the very same model.
        const built = withoutRandomInit(() => buildModel(graph));
        assert.equal(
          built.layers.map((l) => [l.name, l.getClassName(), l.getConfig()]),
          model.layers.map((l) => [l.name, l.getClassName(), l.getConfig()]),
        );
        built.dispose();
      }
    } finally {
      model.dispose();
    }
  });
}

test('predict refuses images of another shape, naming both shapes', async () => {
  const generated = (await import('../generated/resnet18.ts')) as GeneratedModule;
  const model = generated.createModel();
  const wrong = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
  assert.throws(() => generated.predict(model, wrong), /resnet18 expects images shaped \[batch, 32, 32, 3\], got \[1, 28, 28, 3\]/);
  wrong.dispose();
  model.dispose();
});

// 4×4 image holding 1…16 row by row; a 3×3 window of ones, stride 2, one pixel of zero padding on every side.
// PyTorch's windows cover rows/cols {-1,0,1} and {1,2,3}:
//   (0,0): 1+2+5+6 = 14    (0,1): 2+3+4+6+7+8 = 30    (1,0): 5+6+9+10+13+14 = 57    (1,1): 6+7+8+10+11+12+14+15+16 = 99
// tfjs `same` would pad only bottom/right and give 1+2+3+5+6+7+9+10+11 = 54 at (0,0).
const image = () =>
  tf.tensor4d(
    Array.from({ length: 16 }, (_, i) => i + 1),
    [1, 4, 4, 1],
  );

test('a strided convolution pads symmetrically, as PyTorch does', async () => {
  const input = tf.input({ shape: [4, 4, 1] });
  const model = tf.model({ inputs: input, outputs: conv2d(input, 'conv', { filters: 1, kernelSize: 3, stride: 2, padding: 1 }) });
  model.getLayer('conv').setWeights([tf.ones([3, 3, 1, 1])]);
  const output = model.predict(image()) as tf.Tensor;
  assert.equal(await output.array(), [
    [
      [[14], [30]],
      [[57], [99]],
    ],
  ]);
  model.dispose();
});

test('a padded max-pool takes windows as PyTorch does', async () => {
  // Same windows: maxima 6, 8, 14, 16.
  const input = tf.input({ shape: [4, 4, 1] });
  const model = tf.model({ inputs: input, outputs: maxPool(input, 'pool', { poolSize: 3, stride: 2, padding: 1 }) });
  const output = model.predict(image()) as tf.Tensor;
  assert.equal(await output.array(), [
    [
      [[6], [8]],
      [[14], [16]],
    ],
  ]);
  model.dispose();
});

test.run();
