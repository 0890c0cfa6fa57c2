import type { AnalyzedGraph } from '../../src/ir/analyze.js';
import { weightSlots } from '../../src/weights/mapping.js';
import type { FloatTensor } from '../../src/weights/safetensors.js';

/**
 * A checkpoint for `graph` in PyTorch names and shapes, its values distinct and reproducible, in [−0.5, 0.5), but
 * BatchNorm's running variances in [0, 1): a negative variance is refused on import, as it would be NaN in PyTorch.
 */
export function checkpointFor(graph: AnalyzedGraph): Map<string, FloatTensor> {
  let next = 0;
  return new Map(
    weightSlots(graph).map((slot) => {
      const size = slot.torchShape.reduce((a, b) => a * b, 1);
      const shift = slot.torchName.endsWith('.running_var') ? 0 : -0.5;
      return [slot.torchName, { shape: slot.torchShape, data: Float32Array.from({ length: size }, () => (next++ % 97) / 97 + shift) }];
    }),
  );
}
