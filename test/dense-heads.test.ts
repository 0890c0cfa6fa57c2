// Resizing and its gradient against PyTorch's F.interpolate and autograd. Small segmentation and detection models: every weight of the new ops (resize, concat, RetinaNet's shared towers,
// convolutions with bias) gets a gradient on the wasm backend equal to tfjs' cpu kernels' within 1e-4, the shared
// towers from every level; and `decodeBatch`, which generated modules' `detect` calls, decodes each image of a batch
// as it decodes that image alone.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededDropout } from '../src/runtime/ops/dropout.js';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { decodeBatch, type DetectionConfig } from '../src/runtime/tasks/detection.js';
import { resizeLike } from '../src/runtime/ops/resize.js';
import { relativeError } from './support/error.js';
import { modelWithWeights, weightsFor } from './support/families.js';
import { seededRandom } from './support/mutate.js';
import { denseBackbone, tinyRetinanet } from './support/dense-specs.js';

const TOLERANCE = 1e-4;
const PYTHON = '/usr/bin/python3';
const specs = {
  fcn: { ...denseBackbone, name: 'tiny_fcn', head: { type: 'fcn', classes: 3, aux: true } },
  // Rates 1 keep ASPP undilated, so that tfjs' cpu kernels (which have no dilated gradients) can be the reference.
  deeplabv3: { ...denseBackbone, name: 'tiny_deeplab', head: { type: 'deeplabv3', classes: 3, aux: true, rates: [1, 1, 1] } },
  retinanet: tinyRetinanet(4),
};

function compiled(spec: object): AnalyzedGraph {
  const result = compileSpec('tiny.json', new TextEncoder().encode(JSON.stringify(spec)));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result.graph;
}

const random = (shape: number[], seed: number) => {
  const r = seededRandom(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * r.next() - 1),
    shape,
  );
};

/** The gradient of Σ output·R (R fixed per output) with respect to every trainable weight, in training mode. */
async function gradients(graph: AnalyzedGraph, backend: 'cpu' | 'wasm'): Promise<Map<string, Float32Array>> {
  await tf.setBackend(backend);
  const model = modelWithWeights(graph, weightsFor(graph));
  // Dropout draws its masks from each backend's own generator; without it, training mode is deterministic.
  for (const layer of model.layers) if (layer instanceof SeededDropout) (layer as unknown as { rate: number }).rate = 0;
  // Four images: BatchNorm over ASPP's 1×1 pooled map in training normalises over the batch alone.
  const x = random([4, ...graph.inputShape], 1);
  const projections = graph.outputShapes.map((shape, i) => random([4, ...shape], 10 + i));
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const outputs = [model.apply(x, { training: true })].flat() as tf.Tensor[];
    return tf.addN(outputs.map((y, i) => y.mul(projections[i]!).sum())) as tf.Scalar;
  }, weights);
  const result = new Map(model.trainableWeights.map((w, i) => [w.originalName, grads[weights[i]!.name]!.dataSync() as Float32Array]));
  tf.dispose([x, ...projections, ...Object.values(grads)]);
  model.dispose();
  return result;
}

test.before(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  await initBackend({ backend: 'wasm', log: () => {} });
});

for (const [kind, spec] of Object.entries(specs)) {
  test(`${kind}: every weight's gradient on wasm equals tfjs' cpu kernels' within ${TOLERANCE}, and none is zero`, async () => {
    const graph = compiled(spec);
    const [cpu, wasm] = [await gradients(graph, 'cpu'), await gradients(graph, 'wasm')];
    assert.equal([...wasm.keys()].sort(), [...cpu.keys()].sort());
    for (const [name, expected] of cpu) {
      const actual = wasm.get(name)!;
      const error = relativeError(tf.tensor(actual), tf.tensor(expected));
      assert.ok(error <= TOLERANCE, `${name}: relative max |Δ| ${error.toExponential(2)}`);
      assert.ok(
        expected.some((g) => g !== 0),
        `${name} has no gradient`,
      );
    }
  });
}

/** PyTorch's F.interpolate and its autograd gradient of Σ y·R, for x and R given as nested lists (NCHW). */
const TORCH_RESIZE = `
import json, sys, torch
import torch.nn.functional as F
case = json.load(sys.stdin)
x = torch.tensor(case["x"], requires_grad=True)
mode = case["mode"]
y = F.interpolate(x, size=case["size"], mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
(y * torch.tensor(case["r"])).sum().backward()
json.dump({"y": y.detach().tolist(), "dx": x.grad.tolist()}, sys.stdout)
`;

const nested = (t: tf.Tensor) => t.arraySync() as number[][][][];

for (const mode of ['bilinear', 'nearest'] as const) {
  test(`${mode} resize and its gradient equal PyTorch's F.interpolate and autograd at odd sizes, up and down`, async () => {
    await tf.setBackend('wasm');
    for (const [inSize, outSize] of [
      [
        [7, 5],
        [13, 11],
      ],
      [
        [1, 1],
        [4, 3],
      ],
      [
        [9, 6],
        [4, 5],
      ],
      [
        [4, 2],
        [7, 4],
      ],
    ] as const) {
      const x = random([2, inSize[0], inSize[1], 3], 5);
      const r = random([2, outSize[0], outSize[1], 3], 6);
      const { value: y, grads } = tf.valueAndGrads((input: tf.Tensor) =>
        resizeLike(input as tf.Tensor4D, outSize[0], outSize[1], mode === 'bilinear')
          .mul(r)
          .sum(),
      )([x]);
      const output = resizeLike(x as tf.Tensor4D, outSize[0], outSize[1], mode === 'bilinear');
      const input = JSON.stringify({ x: nested(x.transpose([0, 3, 1, 2])), r: nested(r.transpose([0, 3, 1, 2])), size: outSize, mode });
      const run = spawnSync(PYTHON, ['-c', TORCH_RESIZE], { input, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(run.stderr);
      const torch = JSON.parse(run.stdout) as { y: number[][][][]; dx: number[][][][] };
      const expectedY = tf.tensor(torch.y).transpose([0, 2, 3, 1]);
      const expectedDx = tf.tensor(torch.dx).transpose([0, 2, 3, 1]);
      const what = `${inSize.join('×')} → ${outSize.join('×')}`;
      assert.ok(relativeError(output, expectedY) <= 1e-6, `${what}: output off by ${relativeError(output, expectedY).toExponential(2)}`);
      assert.ok(relativeError(grads[0]!, expectedDx) <= 1e-6, `${what}: gradient off by ${relativeError(grads[0]!, expectedDx).toExponential(2)}`);
      tf.dispose([x, r, y, output, ...grads, expectedY, expectedDx]);
    }
  });
}

test("without the auxiliary head, the committed segmentation specs count torchvision's 32,957,013 and 39,638,869", () => {
  // torchvision's FCNHead(1024, 21) on C4: a 3×3 convolution 1024 → 256 (2,359,296), BatchNorm (512) and a 1×1
  // convolution 256 → 21 with bias (5,397): 2,365,205 in all, so 35,322,218 − 2,365,205 and 42,004,074 − 2,365,205.
  for (const [spec, withAux, withoutAux] of [
    ['specs/segmentation/fcn_resnet50.json', 35_322_218, 32_957_013],
    ['specs/segmentation/deeplabv3_resnet50.json', 42_004_074, 39_638_869],
  ] as const) {
    const source = JSON.parse(readFileSync(spec, 'utf8')) as { head: { aux: boolean } };
    assert.is(compiled(source).params.trainable, withAux, spec);
    assert.is(compiled({ ...source, head: { ...source.head, aux: false } }).params.trainable, withoutAux, `${spec} without aux`);
    assert.is(withAux - withoutAux, 1024 * 256 * 9 + 2 * 256 + 256 * 21 + 21);
  }
});

test('decodeBatch decodes each image of a batch as it decodes that image alone, from tfjs or onnxruntime outputs, and refuses outputs of other levels', async () => {
  await tf.setBackend('wasm');
  const graph = compiled(specs.retinanet);
  if (graph.task?.kind !== 'detection') throw new Error('not a detection graph');
  const shapeOf = (op: string) => graph.layers.find((layer) => layer.op.name === op)!.outputShape;
  const config: DetectionConfig = {
    input: [graph.inputShape[0]!, graph.inputShape[1]!],
    levels: graph.task.levels.map((op) => [shapeOf(op)[0]!, shapeOf(op)[1]!] as const),
    anchors: graph.task.anchors,
    scoreThreshold: 0.3,
  };
  const model = modelWithWeights(graph, weightsFor(graph));
  const x = random([2, ...graph.inputShape], 3);
  const [logits, boxes] = model.predict(x) as tf.Tensor[];
  const batch = decodeBatch(logits!, boxes!, config);
  assert.is(batch.length, 2);
  for (let i = 0; i < 2; i++) {
    const [one, oneBoxes] = [logits!.slice(i, 1), boxes!.slice(i, 1)];
    const alone = decodeBatch(one, oneBoxes, config)[0]!;
    tf.dispose([one, oneBoxes]);
    assert.ok(alone.scores.length > 0, 'the check needs detections');
    assert.equal(batch[i], alone);
  }
  // onnxruntime's outputs, { data, dims }, decode the same.
  const asOnnx = (t: tf.Tensor) => ({ data: t.dataSync() as Float32Array, dims: t.shape });
  assert.equal(decodeBatch(asOnnx(logits!), asOnnx(boxes!), config), batch);
  assert.throws(() => decodeBatch(logits!, boxes!, { ...config, levels: config.levels.slice(1) }), /the outputs hold \d+ anchors, but the levels .* have \d+/);
  tf.dispose([x, logits!, boxes!]);
  model.dispose();
});

test.run();
