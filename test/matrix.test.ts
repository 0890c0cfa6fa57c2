// Every valid combination of block × pre-activation × stem × shortcut × dilation × head/outputs, at a tiny
// width: each compiles, all type-check in one tsc run, and each builds a tfjs model equal to its analysis.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { assertForwardPass, assertModelMatchesAnalysis, type GeneratedModule } from './support/agreement.js';
import { typeCheck } from './support/typecheck.js';

const blocks = {
  basic: { type: 'basic' },
  bottleneck: { type: 'bottleneck' },
  grouped: { type: 'bottleneck', groups: 2, widthPerGroup: 32 },
  strideOn1x1: { type: 'bottleneck', strideOn: '1x1', expansion: 2 },
};
const stems = {
  cifar: { type: 'conv', width: 8, kernelSize: 3, stride: 1 },
  imagenet: { type: 'conv', width: 8, kernelSize: 7, stride: 2, pool: 'max' },
  deep: { type: 'deep', width: 8, stride: 2, pool: 'max' },
};
const heads = {
  classifier: { head: { type: 'classifier', classes: 5, dropout: 0.25 } },
  pool: { head: { type: 'pool' } },
  backbone: { head: { type: 'none' } },
  featuresAndLogits: { head: { type: 'classifier', classes: 5 }, outputs: ['C2', 'C3', 'C4'] },
  features: { head: { type: 'none' }, outputs: ['C3', 'C4'] },
};

interface Combination {
  readonly id: string;
  readonly spec: object;
}

function combinations(): Combination[] {
  const all: Combination[] = [];
  for (const [blockName, block] of Object.entries(blocks)) {
    for (const preActivation of [false, true]) {
      for (const [stemName, stem] of Object.entries(stems)) {
        for (const shortcut of ['conv', 'avgPool']) {
          // torchvision's basic blocks cannot dilate; that combination is a diagnostic (NS204), tested elsewhere.
          for (const dilate of blockName === 'basic' ? [false] : [false, true]) {
            for (const [headName, head] of Object.entries(heads)) {
              const index = all.length;
              all.push({
                id: `m${index}_${blockName}_${preActivation ? 'pre' : 'post'}_${stemName}_${shortcut}_${dilate ? 'dilated' : 'strided'}_${headName}`,
                spec: {
                  name: `m${index}`,
                  input: { height: 16, width: 16, channels: 3 },
                  stem,
                  block: { ...block, preActivation, shortcut, zeroInitResidual: index % 2 === 0 },
                  stages: { widths: [4, 8, 8], depths: [1, 2, 1], strides: [1, 2, 2], ...(dilate ? { dilate: [false, false, true] } : {}) },
                  ...head,
                },
              });
            }
          }
        }
      }
    }
  }
  return all;
}

const folder = join('test', `.matrix-${process.pid}`);
const compiled: { combination: Combination; graph: AnalyzedGraph; file: string }[] = [];

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  mkdirSync(folder, { recursive: true });
  for (const combination of combinations()) {
    const result = compileSpec(`specs/${combination.id}.json`, new TextEncoder().encode(JSON.stringify(combination.spec)));
    if (!result.ok) throw new Error(`${combination.id}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
    const file = join(folder, `${combination.id}.ts`);
    writeFileSync(file, result.code);
    compiled.push({ combination, graph: result.graph, file });
  }
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

test('the matrix spans every valid combination', () => {
  // basic: 2 activations × 3 stems × 2 shortcuts × 5 heads = 60; three bottleneck kinds also dilate: 3 × 120 = 360.
  assert.is(compiled.length, 420);
});

test('every generated module type-checks under tsc --strict', () => {
  assert.is(typeCheck(compiled.map((c) => c.file)), '');
});

test('every model equals its analysis, starts its residual branches at zero where asked, and runs', async () => {
  for (const { combination, graph, file } of compiled) {
    const generated = (await import(`./${file.slice('test/'.length)}`)) as GeneratedModule;
    const model = generated.createModel();
    try {
      assertModelMatchesAnalysis(model, graph);
      for (const op of graph.ops) {
        if ((op.kind === 'batchNorm' && op.initZero) || (op.kind === 'conv2d' && op.init === 'zero')) {
          const [first] = model.getLayer(op.name).getWeights();
          assert.is(
            tf.tidy(() => tf.max(tf.abs(first!)).dataSync()[0]),
            0,
            `${combination.id}: ${op.name} starts at zero`,
          );
        }
      }
      await assertForwardPass(generated, model, graph, 1);
    } catch (error) {
      throw new Error(`${combination.id}: ${(error as Error).message}`);
    } finally {
      model.dispose();
    }
  }
});

test.run();
