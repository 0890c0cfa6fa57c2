import { summarize, summaryTable } from '../emit/summary.js';
import { defineCommand, UsageError } from './command-line.js';
import { analyzeSpecFile } from './print-diagnostics.js';

export const command = defineCommand({
  name: 'check',
  summary: 'Validate one spec and print its layer-by-layer summary',
  forms: [{ args: '<spec.json>' }],
  description: `Validates a spec and prints a summary like Keras model.summary(): each layer with its output shape,
parameters and multiply-accumulates, then the totals. Nothing is written.`,
  options: {
    json: {
      type: 'boolean',
      help: 'Print one JSON object: name, input, output, outputs, params { trainable, nonTrainable, total }, macs, and layers, each { name, op, outputShape, params, macs }',
    },
  },
  run: async ({ values, positionals }) => {
    if (positionals.length !== 1) throw new UsageError(`check takes exactly one spec file, got ${positionals.length}`);
    const graph = analyzeSpecFile(positionals[0]!);
    process.stdout.write(values.json ? `${JSON.stringify(summarize(graph), null, 2)}\n` : `${summaryTable(graph)}\n`);
    return 0;
  },
});
