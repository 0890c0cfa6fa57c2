import { summarize, summaryTable } from '../emit/summary.js';
import { analyzeAt, type AnalyzedGraph } from '../ir/analyze.js';
import { sizeDiagnostic } from '../ir/sizes.js';
import { defineCommand, UsageError } from './command-line.js';
import { analyzeSpecFile, SpecError } from './print-diagnostics.js';

export const command = defineCommand({
  name: 'check',
  summary: 'Validate one spec and print its layer-by-layer summary',
  forms: [{ args: '<spec.json>' }],
  description: `Validates a spec and prints a summary like Keras model.summary(): each layer with its output shape,
parameters and multiply-accumulates, then the totals. For a spec whose input size is open, shapes and
multiply-accumulates are formulas of the input's height H and width W (⌈H/4⌉ is H divided by 4, rounded up), and
--size gives the figures for one size. Nothing is written.`,
  options: {
    size: { type: 'string', arg: 'HxW', help: 'Open-size specs: the figures for a height × width input, such as 480x640' },
    json: {
      type: 'boolean',
      help: 'Print one JSON object: name, input, output, outputs, params { trainable, nonTrainable, total }, macs, and layers, each { name, op, outputShape, params, macs }; for an open size, formulas as strings and sizes { minimum, maximum, multiple }',
    },
  },
  run: async ({ values, positionals }) => {
    if (positionals.length !== 1) throw new UsageError(`check takes exactly one spec file, got ${positionals.length}`);
    const analyzed = analyzeSpecFile(positionals[0]!);
    const graph = values.size === undefined ? analyzed : atSize(analyzed, values.size);
    process.stdout.write(values.json ? `${JSON.stringify(summarize(graph), null, 2)}\n` : `${summaryTable(graph)}\n`);
    return 0;
  },
});

/** The graph's figures at `--size HxW`: a usage error when the text is not a size, a diagnostic when the model cannot take it. */
function atSize(graph: AnalyzedGraph, text: string): AnalyzedGraph {
  const match = /^(\d{1,5})[x×](\d{1,5})$/.exec(text);
  if (!match) throw new UsageError(`--size takes a height and a width such as 480x640, got ${JSON.stringify(text)}`);
  const [height, width] = [Number(match[1]), Number(match[2])];
  if (!graph.sizes) {
    const [fixedHeight, fixedWidth] = graph.inputShape;
    throw new UsageError(`--size is for specs whose input size is open; ${graph.source.path} fixes it at ${fixedHeight}×${fixedWidth}`);
  }
  const problem = sizeDiagnostic(graph.sizes, height, width);
  if (problem) throw new SpecError([problem]);
  return { ...analyzeAt(graph, height, width), sizes: undefined };
}
