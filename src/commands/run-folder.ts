// The folder a training run writes, and the checks made on it before any data is read.
import { buildModel } from '../build/model.js';
import type { OutputKind } from '../files/output-guard.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { frozenLayers } from '../train/fine-tune.js';
import { runFiles } from '../train/train.js';
import { withoutRandomInit } from '../runtime/ops/op.js';

/** What a run writes into its folder, each replaced only if an earlier run of netspec wrote it. */
export function runOutputs(out: string): { path: string; kind: OutputKind }[] {
  const files = runFiles(out);
  return [
    { path: files.checkpoint, kind: 'safetensors' },
    { path: files.weights, kind: 'weights-folder' },
    { path: files.metrics, kind: 'json' },
    { path: files.curves, kind: 'generated-text' },
  ];
}

/** Throws naming a --freeze entry that matches no layer, before any data is read. */
export function checkFreeze(graph: AnalyzedGraph, freeze: readonly string[]): void {
  if (freeze.length === 0) return;
  // Only its layers are read.
  const model = withoutRandomInit(() => buildModel(graph));
  try {
    frozenLayers(model, freeze);
  } finally {
    model.dispose();
  }
}
