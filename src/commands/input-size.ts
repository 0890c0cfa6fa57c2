// What commands do with a spec whose input size is open: run it at one size they are given, or refuse it.
import { analyzeAt, type AnalyzedGraph } from '../ir/analyze.js';
import { sizeDiagnostic } from '../ir/sizes.js';
import { UserError } from '../errors/user-error.js';
import { UsageError } from './command-line.js';
import { SpecError } from './print-diagnostics.js';

/**
 * Refuses a spec whose input size is open for a command that still runs one size: `what` is the command's work.
 * (check, compile, export onnx, train, and predict and eval of detectors and segmenters take open sizes.)
 */
export function requireFixedSize(graph: AnalyzedGraph, what: string): void {
  if (!graph.sizes) return;
  throw new UserError(
    `${what} needs a spec of one input size, and ${graph.name} leaves its size open; give its input a height and a width (its open size serves check, compile, export onnx, train, and predict and eval of detectors and segmenters)`,
  );
}

/**
 * An open-size graph analysed at `option`'s `HxW`, as a graph of that one size: a usage error when the text is no
 * size or the spec's size is fixed, a positioned diagnostic when the model cannot take it.
 */
export function graphAtSize(graph: AnalyzedGraph, text: string, option = '--size'): AnalyzedGraph {
  const match = /^(\d{1,5})[x×](\d{1,5})$/.exec(text);
  if (!match) throw new UsageError(`${option} takes a height and a width such as 480x640, got ${JSON.stringify(text)}`);
  const [height, width] = [Number(match[1]), Number(match[2])];
  if (!graph.sizes) {
    const [fixedHeight, fixedWidth] = graph.inputShape;
    throw new UsageError(`${option} is for specs whose input size is open; ${graph.source.path} fixes it at ${fixedHeight}×${fixedWidth}`);
  }
  const problem = sizeDiagnostic(graph.sizes, height, width);
  if (problem) throw new SpecError([problem]);
  return { ...analyzeAt(graph, height, width), sizes: undefined };
}
