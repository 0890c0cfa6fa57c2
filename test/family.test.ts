// The ResNet family against torchvision's published counts, with the bottleneck arithmetic written out by hand.
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

// A bottleneck of stage width p and bottleneck width w (= p for ResNet) reading c channels and writing 4p:
//   conv1 1×1 c·w, conv2 3×3 9·w·w/groups, conv3 1×1 w·4p, BatchNorms 2w + 2w + 2·4p;
//   the first block of a stage adds the projection: 1×1 conv c·4p and BatchNorm 2·4p.
// resnet50, worked by hand (w = p):
//   stage 1, p 64:   block 0 (c 64):   4,096 + 36,864 + 16,384 + 768 + 16,384 + 512 = 75,008
//                    blocks 1–2 (c 256): 16,384 + 36,864 + 16,384 + 768 = 70,400 each     → 215,808
//   stage 2, p 128:  block 0 (c 256):  32,768 + 147,456 + 65,536 + 1,536 + 131,072 + 1,024 = 379,392
//                    blocks 1–3 (c 512): 65,536 + 147,456 + 65,536 + 1,536 = 280,064 each  → 1,219,584
//   stage 3, p 256:  block 0 (c 512):  131,072 + 589,824 + 262,144 + 3,072 + 524,288 + 2,048 = 1,512,448
//                    blocks 1–5 (c 1024): 262,144 + 589,824 + 262,144 + 3,072 = 1,117,184 each → 7,098,368
//   stage 4, p 512:  block 0 (c 1024): 524,288 + 2,359,296 + 1,048,576 + 6,144 + 2,097,152 + 4,096 = 6,039,552
//                    blocks 1–2 (c 2048): 1,048,576 + 2,359,296 + 1,048,576 + 6,144 = 4,462,592 each → 14,964,736
//   stem 7×7 conv 9,408 + bn1 128; fc 2048·1000 + 1000 = 2,049,000.
const resnet50Stages = 215_808 + 1_219_584 + 7_098_368 + 14_964_736;
const stemAndFc = 9_408 + 128 + 2_049_000;

/** The same arithmetic for any depths, groups and width per group, to check the deeper and wider variants. */
function bottleneckNetwork(depths: readonly number[], groups: number, widthPerGroup: number): number {
  let channels = 64;
  let total = stemAndFc;
  [64, 128, 256, 512].forEach((p, s) => {
    const w = Math.floor((p * widthPerGroup) / 64) * groups;
    for (let b = 0; b < depths[s]!; b++) {
      total += channels * w + (9 * w * w) / groups + w * 4 * p + 2 * w + 2 * w + 2 * 4 * p;
      if (b === 0) total += channels * 4 * p + 2 * 4 * p;
      channels = 4 * p;
    }
  });
  return total;
}

test('the hand-worked resnet50 and the general arithmetic agree', () => {
  assert.is(resnet50Stages + stemAndFc, 25_557_032);
  assert.is(bottleneckNetwork([3, 4, 6, 3], 1, 64), 25_557_032);
});

// torchvision's trainable parameters and multiply-accumulates (its `_ops`, in G) at 224×224.
const torchvision: [spec: string, params: number, gmacs: string, depths: number[], groups: number, widthPerGroup: number][] = [
  ['resnet50', 25_557_032, '4.09', [3, 4, 6, 3], 1, 64],
  ['resnet101', 44_549_160, '7.80', [3, 4, 23, 3], 1, 64],
  ['resnet152', 60_192_808, '11.51', [3, 8, 36, 3], 1, 64],
  ['resnext50_32x4d', 25_028_904, '4.23', [3, 4, 6, 3], 32, 4],
  ['resnext101_32x8d', 88_791_336, '16.41', [3, 4, 23, 3], 32, 8],
  ['wide_resnet50_2', 68_883_240, '11.40', [3, 4, 6, 3], 1, 128],
];

for (const [name, params, gmacs, depths, groups, widthPerGroup] of torchvision) {
  test(`${name}: torchvision's ${params.toLocaleString('en-US')} trainable parameters and ${gmacs} GMACs`, () => {
    const graph = analyzed(`specs/imagenet/${name}.json`);
    assert.is(bottleneckNetwork(depths, groups, widthPerGroup), params);
    assert.is(graph.params.trainable, params);
    assert.is((graph.macs / 1e9).toFixed(2), gmacs);
    assert.equal(graph.outputShapes, [[1000]]);
  });
}

test("resnet50d: the deep stem adds 19,232 parameters to resnet50, giving timm's 25,576,264", () => {
  // Deep stem 3×3 convs 3→32 (864), 32→32 (9,216), 32→64 (18,432) and two BatchNorms of 32 (2·64) replace the
  // 7×7 conv's 9,408: 864 + 64 + 9,216 + 64 + 18,432 − 9,408 = 19,232. Pooling shortcuts add no parameters.
  const graph = analyzed('specs/imagenet/resnet50d.json');
  assert.is(graph.params.trainable, 25_557_032 + 19_232);
  const names = graph.layers.map((l) => l.op.name);
  assert.equal(names.slice(1, 11), ['conv1.0', 'conv1.1', 'conv1.2', 'conv1.3', 'conv1.4', 'conv1.5', 'conv1.6', 'bn1', 'relu', 'maxpool']);
  // ResNet-D: stage 1 keeps stride 1 (no pool); later stages pool 2×2 before a stride-1 projection.
  assert.equal(
    names.filter((n) => n.startsWith('layer1.0.downsample')),
    ['layer1.0.downsample.1', 'layer1.0.downsample.2'],
  );
  assert.equal(
    names.filter((n) => n.startsWith('layer2.0.downsample')),
    ['layer2.0.downsample.0', 'layer2.0.downsample.1', 'layer2.0.downsample.2'],
  );
  const pool = graph.layers.find((l) => l.op.name === 'layer2.0.downsample.0')!;
  assert.equal([pool.op.kind, pool.outputShape], ['avgPool', [28, 28, 256]]);
});

test("seresnet50: squeeze-excitation adds 2,530,992 parameters to resnet50, giving timm's 28,088,024", () => {
  // An SE module over C channels reduces to R = make_divisible(C / 16, 8): max(8, ⌊(C/16 + 4) / 8⌋ · 8), so
  // C 256 → 16, 512 → 32, 1024 → 64, 2048 → 128. Its 1×1 convolutions with bias hold C·R + R + R·C + C:
  //   stage 1: 2·256·16 + 16 + 256 = 8,464 × 3 blocks = 25,392
  //   stage 2: 2·512·32 + 32 + 512 = 33,312 × 4 = 133,248
  //   stage 3: 2·1024·64 + 64 + 1024 = 132,160 × 6 = 792,960
  //   stage 4: 2·2048·128 + 128 + 2048 = 526,464 × 3 = 1,579,392
  const se = 25_392 + 133_248 + 792_960 + 1_579_392;
  assert.is(se, 2_530_992);
  const graph = analyzed('specs/imagenet/seresnet50.json');
  assert.is(graph.params.trainable, 25_557_032 + se);
  // After the block's last BatchNorm, before the residual add, named as timm names it.
  const names = graph.layers.map((l) => l.op.name);
  assert.equal(names.slice(names.indexOf('layer1.0.bn3'), names.indexOf('layer1.0.bn3') + 2), ['layer1.0.bn3', 'layer1.0.se']);
  const add = graph.ops.find((op) => op.name === 'layer1.0.add')!;
  assert.is(add.inputs[0], 'layer1.0.se');
});

test("ecaresnet50d: ECA adds 86 parameters to resnet50d, giving timm's 25,576,350", () => {
  // ECA's kernel over C channels: t = ⌊|log₂ C + 1| / 2⌋, made odd, at least 3:
  //   C 256: ⌊9 / 2⌋ = 4 → 5;  512: ⌊10 / 2⌋ = 5;  1024: ⌊11 / 2⌋ = 5;  2048: ⌊12 / 2⌋ = 6 → 7.
  // One 1-D convolution without bias per block: 3·5 + 4·5 + 6·5 + 3·7 = 86.
  const graph = analyzed('specs/imagenet/ecaresnet50d.json');
  assert.is(graph.params.trainable, 25_557_032 + 19_232 + 86);
  const kernels = graph.ops.flatMap((op) => (op.kind === 'efficientChannelAttention' ? [op.kernelSize] : []));
  assert.equal(kernels, [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7]);
});

test("resnet50t: timm's tiered deep stem (24, 32, 64) adds 16,696 parameters to resnet50", () => {
  // 3×3 convs 3→24 (648), 24→32 (6,912), 32→64 (18,432) and BatchNorms of 24 and 32 (48 + 64) replace the 7×7
  // conv's 9,408: 648 + 6,912 + 18,432 + 48 + 64 − 9,408 = 16,696.
  const graph = analyzed('specs/timm/resnet50t.json');
  assert.is(graph.params.trainable, 25_557_032 + 16_696);
  const widths = ['conv1.0', 'conv1.3', 'conv1.6'].map((name) => graph.layers.find((l) => l.op.name === name)!.outputShape[2]);
  assert.equal(widths, [24, 32, 64]);
});

test("resnetrs50: the convolutional stem pool and SE at ratio 0.25 give timm's 35,691,912", () => {
  // The stem pool: a 3×3 conv 64→64 (36,864) and a BatchNorm (128). SE reduces C to R = C/4, each module holding
  // C·R + R + R·C + C: 256→64: 33,088 × 3; 512→128: 131,712 × 4; 1024→256: 525,568 × 6; 2048→512: 2,099,712 × 3.
  const se = 33_088 * 3 + 131_712 * 4 + 525_568 * 6 + 2_099_712 * 3;
  assert.is(se, 10_078_656);
  const graph = analyzed('specs/timm/resnetrs50.json');
  assert.is(graph.params.trainable, 25_576_264 + 36_864 + 128 + se);
  const names = graph.layers.map((l) => l.op.name);
  assert.equal(names.slice(names.indexOf('bn1'), names.indexOf('bn1') + 5), ['bn1', 'relu', 'maxpool.0', 'maxpool.1', 'maxpool.2']);
  // 160×160 input: the stem conv halves it to 80, the stem pool's strided conv to 40.
  assert.equal(graph.layers.find((l) => l.op.name === 'maxpool.2')!.outputShape, [40, 40, 64]);
});

test('resnetblur50 and resnetaa50: anti-aliasing moves the stride off the 3×3 convolution onto a pool after its ReLU, adding no parameters', () => {
  const shape = (graph: AnalyzedGraph, name: string) => graph.layers.find((l) => l.op.name === name)!.outputShape;
  const blur = analyzed('specs/timm/resnetblur50.json');
  assert.is(blur.params.trainable, 25_557_032);
  // The stem: a stride-1 max-pool keeps 112, BlurPool halves it.
  assert.equal(
    [shape(blur, 'maxpool.0'), shape(blur, 'maxpool.1')],
    [
      [112, 112, 64],
      [56, 56, 64],
    ],
  );
  const block = blur.layers.filter((l) => l.op.name.startsWith('layer2.0.')).map((l) => l.op.name);
  assert.equal(block.slice(0, 8), [
    'layer2.0.conv1',
    'layer2.0.bn1',
    'layer2.0.relu1',
    'layer2.0.conv2',
    'layer2.0.bn2',
    'layer2.0.relu2',
    'layer2.0.aa',
    'layer2.0.conv3',
  ]);
  assert.equal(
    [shape(blur, 'layer2.0.conv2'), shape(blur, 'layer2.0.aa')],
    [
      [56, 56, 128],
      [28, 28, 128],
    ],
  );
  const averaged = analyzed('specs/timm/resnetaa50.json');
  assert.is(averaged.params.trainable, 25_557_032);
  // The stem's max-pool becomes a 2×2 average-pool; the blocks' pools are average-pools too.
  assert.equal(
    averaged.ops.filter((op) => op.name === 'maxpool' || op.name.endsWith('.aa')).map((op) => op.kind),
    ['avgPool', 'avgPool', 'avgPool', 'avgPool'],
  );
});

test('resnet50_gn: GroupNorm keeps the trainable count and holds no running statistics', () => {
  // resnet50 has 53 BatchNorms whose 2C running statistics make 53,120 non-trainable values; GroupNorm has none.
  const graph = analyzed('specs/timm/resnet50_gn.json');
  assert.is(graph.params.trainable, 25_557_032);
  assert.is(graph.params.nonTrainable, 0);
  assert.is(analyzed('specs/imagenet/resnet50.json').params.nonTrainable, 53_120);
  assert.ok(graph.ops.every((op) => op.kind !== 'batchNorm'));
});

test("dropPath rises linearly over the blocks, from 0 at the first to the rate at the last, as timm's drop_path_rate", () => {
  const spec = JSON.parse(readFileSync('specs/imagenet/resnet50.json', 'utf8')) as { block: object };
  spec.block = { type: 'bottleneck', dropPath: 0.15 };
  const result = compileSpec('specs/x.json', new TextEncoder().encode(JSON.stringify(spec)));
  assert.ok(result.ok);
  // 16 blocks: block i drops with 0.15 · i / 15; the first (rate 0) has none.
  const rates = result.graph.ops.flatMap((op) => (op.kind === 'dropPath' ? [[op.name, op.rate] as const] : []));
  assert.is(rates.length, 15);
  assert.equal(rates[0], ['layer1.1.drop_path', 0.01]);
  assert.equal(rates.at(-1), ['layer4.2.drop_path', 0.15]);
  assert.is(result.graph.params.trainable, 25_557_032);
});

test('pre-activation resnet50: BatchNorm moves onto block inputs, projections lose theirs, a final BatchNorm is added', () => {
  // Per block the BatchNorms are 2c + 2p + 2p instead of 2p + 2p + 2·4p; only first blocks differ (c ≠ 4p):
  //   stage 1 (c 64, p 64): 384 vs 768 → −384;   stage 2 (c 256, p 128): 1,024 vs 1,536 → −512;
  //   stage 3 (c 512, p 256): 2,048 vs 3,072 → −1,024;   stage 4 (c 1024, p 512): 4,096 vs 6,144 → −2,048.
  // Projections lose BatchNorms of 2·4p: 512 + 1,024 + 2,048 + 4,096. The final BatchNorm over 2048 adds 4,096.
  const delta = -(384 + 512 + 1_024 + 2_048) - (512 + 1_024 + 2_048 + 4_096) + 4_096;
  assert.is(delta, -7_552);
  const graph = analyzed('specs/imagenet/resnet50_preact.json');
  assert.is(graph.params.trainable, 25_557_032 + delta);
  const block = graph.layers.filter((l) => l.op.name.startsWith('layer1.0.')).map((l) => l.op.name);
  assert.equal(block, [
    'layer1.0.bn1',
    'layer1.0.relu1',
    'layer1.0.conv1',
    'layer1.0.bn2',
    'layer1.0.relu2',
    'layer1.0.conv2',
    'layer1.0.bn3',
    'layer1.0.relu3',
    'layer1.0.conv3',
    'layer1.0.downsample.0',
    'layer1.0.add',
  ]);
  // The projection reads the pre-activated input.
  assert.equal(graph.ops.find((op) => op.name === 'layer1.0.downsample.0')!.inputs, ['layer1.0.relu1']);
  assert.equal(
    graph.layers.slice(-4).map((l) => l.op.name),
    ['bn_final', 'relu_final', 'avgpool', 'fc'],
  );
});

test('the output-stride-8 backbone returns C2–C5 at 56, 28, 28, 28 with dilations 2 and 4', () => {
  const graph = analyzed('specs/imagenet/resnet50_dilated8.json');
  assert.equal(
    graph.outputs.map((o) => o.name),
    ['C2', 'C3', 'C4', 'C5'],
  );
  assert.equal(graph.outputShapes, [
    [56, 56, 256],
    [28, 28, 512],
    [28, 28, 1024],
    [28, 28, 2048],
  ]);
  // resnet50 without its classifier: 25,557,032 − 2,049,000.
  assert.is(graph.params.trainable, 23_508_032);
  const dilationOf = (name: string) => {
    const op = graph.ops.find((o) => o.name === name)!;
    return op.kind === 'conv2d' ? [op.stride, op.dilation, op.padding] : [];
  };
  // As torchvision: a dilated stage's first block keeps the previous dilation; the rest use the new one.
  assert.equal(dilationOf('layer3.0.conv2'), [1, 1, 1]);
  assert.equal(dilationOf('layer3.1.conv2'), [1, 2, 2]);
  assert.equal(dilationOf('layer4.0.conv2'), [1, 2, 2]);
  assert.equal(dilationOf('layer4.1.conv2'), [1, 4, 4]);
});

test('torchvision v1.5 strides the 3×3 convolution; strideOn "1x1" moves it to the first 1×1', () => {
  const spec = JSON.parse(readFileSync('specs/imagenet/resnet50.json', 'utf8'));
  const strides = (block: object) => {
    const text = JSON.stringify({ ...spec, block: { type: 'bottleneck', ...block } });
    const result = compileSpec('specs/x.json', new TextEncoder().encode(text));
    if (!result.ok) throw new Error('does not compile');
    return ['conv1', 'conv2', 'conv3'].map((c) => {
      const op = result.graph.ops.find((o) => o.name === `layer2.0.${c}`)!;
      return op.kind === 'conv2d' ? op.stride : 0;
    });
  };
  assert.equal(strides({}), [1, 2, 1]);
  assert.equal(strides({ strideOn: '1x1' }), [2, 1, 1]);
});

test('the CIFAR resnet50 keeps the founding layout', () => {
  const graph = analyzed('specs/resnet50.json');
  // resnet50's stages with the 3×3 stem (1,728 + 128) and a 10-way classifier (2048·10 + 10 = 20,490).
  assert.is(graph.params.trainable, resnet50Stages + 1_728 + 128 + 20_490);
  assert.equal(graph.layers.find((l) => l.op.name === 'layer4.2.relu3')!.outputShape, [4, 4, 2048]);
});

test.run();
