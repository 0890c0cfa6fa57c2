// What commands do with a spec whose input size is open: run it at one size they are given, or refuse it.
import { analyzeAt, type AnalyzedGraph } from '../ir/analyze.js';
import { sizeDiagnostic } from '../ir/sizes.js';
import { UserError } from '../errors/user-error.js';
import { UsageError } from './command-line.js';
import { SpecError } from './print-diagnostics.js';
import type { AskedSizes } from '../runtime/images/pipeline.js';

/** `--size HxW` of the commands that run an open-size spec at one size, as if its spec fixed that size. */
export const ONE_SIZE_OPTION = {
  size: {
    type: 'string',
    arg: 'HxW',
    help: 'Specs whose input size is open: run at this one size, such as 224x224, as if the spec fixed it',
  },
} as const;

/**
 * The graph a command that runs one size works on: the spec's own, or an open-size spec's at `size`. An open size
 * without `size` is refused in one line: `what` is the command's work.
 */
export function graphForOneSize(graph: AnalyzedGraph, size: string | undefined, what: string): AnalyzedGraph {
  if (size !== undefined) return graphAtSize(graph, size);
  if (!graph.sizes) return graph;
  throw new UserError(
    `${what} runs one input size, and ${graph.name} leaves its size open: give --size HxW, a size it takes (multiples of ${graph.sizes.multiple} from ${graph.sizes.minimum} to ${graph.sizes.maximum})`,
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

/**
 * The graph `predict` and `eval` run: an open-size spec at `--size` when given, else the spec's own, which for an
 * open-size detector or segmenter means natural sizes (`--min-size`, `--max-size`) and for a classifier needs `--size`.
 */
export function graphToRun(graph: AnalyzedGraph, size: string | undefined, asked: AskedSizes, what: string): AnalyzedGraph {
  refuseBothSizes(size, asked);
  return graph.task && size === undefined ? graph : graphForOneSize(graph, size, what);
}

/** A usage error when both one size and natural sizes are asked for. */
export function refuseBothSizes(size: string | undefined, asked: AskedSizes): void {
  if (size !== undefined && (asked.minSize !== undefined || asked.maxSize !== undefined))
    throw new UsageError('--size runs one size, --min-size and --max-size natural sizes: give one or the other');
}
