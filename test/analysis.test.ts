// The analysis against figures computed by hand (arithmetic written out) and torchvision's published counts.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';

function analyzed(path: string): AnalyzedGraph {
  const result = compileSpec(path, readFileSync(path));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.graph;
}

const shapeOf = (graph: AnalyzedGraph, name: string) => graph.layers.find((layer) => layer.op.name === name)?.outputShape;

// Basic-block stages shared by both layouts (widths 64/128/256/512; a 3×3 conv has 9·in·out weights, a BN 2·C):
//   stage 1, 3 blocks of 64→64, no projection: per block 2·(9·64·64) + 2·(2·64) = 73,728 + 256 = 73,984
//   stage 2 block 0: 9·64·128 + 9·128·128 + 2·(2·128) + 1×1 projection 64·128 + BN 2·128
//                    = 73,728 + 147,456 + 512 + 8,192 + 256 = 230,144; later blocks 2·147,456 + 512 = 295,424
//   stage 3 block 0: 9·128·256 + 9·256·256 + 2·512 + 128·256 + 512 = 294,912 + 589,824 + 1,024 + 32,768 + 512 = 919,040
//                    later blocks 2·589,824 + 1,024 = 1,180,672
//   stage 4 block 0: 9·256·512 + 9·512·512 + 2·1,024 + 256·512 + 1,024 = 1,179,648 + 2,359,296 + 2,048 + 131,072 + 1,024
//                    = 3,673,088; later blocks 2·2,359,296 + 2,048 = 4,720,640
const resnet34Stages = 3 * 73_984 + (230_144 + 3 * 295_424) + (919_040 + 5 * 1_180_672) + (3_673_088 + 2 * 4_720_640);
const resnet18Stages = 2 * 73_984 + (230_144 + 295_424) + (919_040 + 1_180_672) + (3_673_088 + 4_720_640);

test('stage arithmetic adds up', () => {
  assert.is(resnet34Stages, 221_952 + 1_116_416 + 6_822_400 + 13_114_368);
  assert.is(resnet18Stages, 147_968 + 525_568 + 2_099_712 + 8_393_728);
});

test('founding resnet34 (CIFAR layout): 21,282,122 trainable + 17,024 BatchNorm statistics', () => {
  const graph = analyzed('specs/resnet34.json');
  // stem 3×3 conv 9·3·64 = 1,728 and bn1 2·64 = 128; fc 512·10 + 10 = 5,130.
  assert.is(1_728 + 128 + resnet34Stages + 5_130, 21_282_122);
  assert.is(graph.params.trainable, 21_282_122);
  // Running mean and variance per BN channel: bn1 64; stage 1 has 6 BNs of 64; stage 2 8+1 of 128; stage 3 12+1 of 256;
  // stage 4 6+1 of 512: 64 + 384 + 1,152 + 3,328 + 3,584 = 8,512 channels, two statistics each.
  assert.is(2 * (64 + 6 * 64 + 9 * 128 + 13 * 256 + 7 * 512), 17_024);
  assert.is(graph.params.nonTrainable, 17_024);
  assert.is(graph.params.total, 21_282_122 + 17_024);
  assert.equal(shapeOf(graph, 'layer1.2.relu2'), [32, 32, 64]);
  assert.equal(shapeOf(graph, 'layer2.3.relu2'), [16, 16, 128]);
  assert.equal(shapeOf(graph, 'layer3.5.relu2'), [8, 8, 256]);
  assert.equal(shapeOf(graph, 'layer4.2.relu2'), [4, 4, 512]);
  assert.equal(graph.inputShape, [32, 32, 3]);
  assert.equal(graph.outputShapes, [[10]]);
});

test('founding resnet34 multiply-accumulates: weights × output pixels per conv', () => {
  // stem 1,728·32·32 = 1,769,472; stage 1: 6 convs · 36,864 · 1,024 = 226,492,416;
  // stage 2 at 16·16: 73,728·256 + 7·147,456·256 + 8,192·256 = 18,874,368 + 264,241,152 + 2,097,152 = 285,212,672;
  // stage 3 at 8·8: 294,912·64 + 11·589,824·64 + 32,768·64 = 18,874,368 + 415,236,096 + 2,097,152 = 436,207,616;
  // stage 4 at 4·4: 1,179,648·16 + 5·2,359,296·16 + 131,072·16 = 18,874,368 + 188,743,680 + 2,097,152 = 209,715,200;
  // fc 512·10 = 5,120.
  const expected = 1_769_472 + 226_492_416 + 285_212_672 + 436_207_616 + 209_715_200 + 5_120;
  assert.is(expected, 1_159_402_496);
  assert.is(analyzed('specs/resnet34.json').macs, expected);
});

test('torchvision resnet34 (ImageNet layout): 21,797,672 trainable, stages 56/28/14/7, 3.66 GMACs', () => {
  const graph = analyzed('specs/imagenet/resnet34.json');
  // stem 7×7 conv 49·3·64 = 9,408 and bn1 128; fc 512·1000 + 1000 = 513,000.
  assert.is(9_408 + 128 + resnet34Stages + 513_000, 21_797_672);
  assert.is(graph.params.trainable, 21_797_672);
  assert.equal(shapeOf(graph, 'conv1'), [112, 112, 64]);
  assert.equal(shapeOf(graph, 'maxpool'), [56, 56, 64]);
  assert.equal(shapeOf(graph, 'layer1.2.relu2'), [56, 56, 64]);
  assert.equal(shapeOf(graph, 'layer2.3.relu2'), [28, 28, 128]);
  assert.equal(shapeOf(graph, 'layer3.5.relu2'), [14, 14, 256]);
  assert.equal(shapeOf(graph, 'layer4.2.relu2'), [7, 7, 512]);
  assert.equal(graph.outputShapes, [[1000]]);
  // torchvision documents resnet34 at 3.66 GFLOPS, counting one multiply-accumulate as one operation.
  assert.is((graph.macs / 1e9).toFixed(2), '3.66');
});

test('torchvision resnet18 (ImageNet layout): 11,689,512 trainable, 1.81 GMACs', () => {
  const graph = analyzed('specs/imagenet/resnet18.json');
  assert.is(9_408 + 128 + resnet18Stages + 513_000, 11_689_512);
  assert.is(graph.params.trainable, 11_689_512);
  assert.equal(shapeOf(graph, 'layer4.1.relu2'), [7, 7, 512]);
  assert.is((graph.macs / 1e9).toFixed(2), '1.81');
});

test('CIFAR resnet18: [2,2,2,2] blocks', () => {
  const graph = analyzed('specs/resnet18.json');
  assert.is(graph.params.trainable, 1_728 + 128 + resnet18Stages + 5_130);
});

test('torchvision names: projection shortcuts only where stride or width change', () => {
  const names = analyzed('specs/resnet34.json').layers.map((layer) => layer.op.name);
  assert.equal(
    names.filter((name) => name.includes('downsample')),
    ['layer2.0.downsample.0', 'layer2.0.downsample.1', 'layer3.0.downsample.0', 'layer3.0.downsample.1', 'layer4.0.downsample.0', 'layer4.0.downsample.1'],
  );
  assert.equal(names.slice(0, 4), ['input', 'conv1', 'bn1', 'relu']);
  assert.equal(names.slice(-2), ['avgpool', 'fc']);
  assert.is(new Set(names).size, names.length);
});

test('a stride-2 stage pads symmetrically, as PyTorch does: ⌊(n + 2p − k) / s⌋ + 1', () => {
  const graph = analyzed('specs/imagenet/resnet18.json');
  const conv1 = graph.layers.find((layer) => layer.op.name === 'conv1')!.op;
  assert.equal(conv1.kind === 'conv2d' && [conv1.kernelSize, conv1.stride, conv1.padding], [7, 2, 3]);
  // (224 + 6 − 7) / 2 = 111.5 → 111, + 1 = 112
  assert.equal(shapeOf(graph, 'conv1'), [112, 112, 64]);
});

test.run();
