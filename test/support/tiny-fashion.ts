import { compileSpec } from '../../src/compile.js';
import type { AnalyzedGraph } from '../../src/ir/analyze.js';

/**
 * A tiny ResNet for Fashion-MNIST in the format of specs/fashion/resnet20.json: a 3×3 stem of 8 channels without
 * pooling, then two stages of one basic block each (8 and 16 channels, the second at stride 2); 28×28×1 in, 10 classes.
 */
export const TINY_FASHION_SPEC = {
  name: 'tiny_fashion',
  input: { height: 28, width: 28, channels: 1 },
  stem: { type: 'conv', width: 8, kernelSize: 3, stride: 1, pool: 'none' },
  block: { type: 'basic' },
  stages: { widths: [8, 16], depths: [1, 1], strides: [1, 2] },
  head: { type: 'classifier', classes: 10 },
};

/** The tiny spec, or the spec with `overrides` applied, compiled in memory. */
export function tinyGraph(overrides: object = {}): AnalyzedGraph {
  const result = compileSpec('specs/tiny_fashion.json', new TextEncoder().encode(JSON.stringify({ ...TINY_FASHION_SPEC, ...overrides })));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.graph;
}
