import { summarize, summaryTable } from '../emit/summary.js';
import { defineCommand, UsageError } from './command-line.js';
import { graphAtSize } from './input-size.js';
import { analyzeSpecFile } from './print-diagnostics.js';

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
    const graph = values.size === undefined ? analyzed : graphAtSize(analyzed, values.size);
    process.stdout.write(values.json ? `${JSON.stringify(summarize(graph), null, 2)}\n` : `${summaryTable(graph)}\n`);
    return 0;
  },
});
