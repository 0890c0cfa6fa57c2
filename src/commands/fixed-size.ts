import type { AnalyzedGraph } from '../ir/analyze.js';
import { UserError } from '../errors/user-error.js';

/**
 * Refuses a spec whose input size is open for a command that still runs one size: `what` is the command's work.
 * (check, compile, export onnx, and predict and eval of detectors and segmenters take open sizes.)
 */
export function requireFixedSize(graph: AnalyzedGraph, what: string): void {
  if (!graph.sizes) return;
  throw new UserError(
    `${what} needs a spec of one input size, and ${graph.name} leaves its size open; give its input a height and a width (its open size serves check, compile, export onnx, and predict and eval of detectors and segmenters)`,
  );
}
