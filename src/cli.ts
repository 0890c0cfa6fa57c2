#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes: spec errors and stale output are the user's to fix (1); a malformed command line is 2. */
const EXIT = { ok: 0, specError: 1, usage: 2, internal: 70 } as const;

class UsageError extends Error {}

const mainHelp = `netspec — compile declarative model specs into typed TensorFlow.js model code

Usage:
  netspec compile [spec.json...] [--out DIR] [--specs DIR] [--check]
  netspec check <spec.json> [--json]
  netspec <command> --help
  netspec --version

Commands:
  compile   Validate specs and generate one TypeScript module per spec
  check     Validate one spec and print its layer-by-layer summary

Exit status: 0 success, 1 spec errors or stale output, 2 usage errors.`;

interface Command {
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly run: (args: { values: Record<string, string | boolean | undefined>; positionals: string[] }) => Promise<number>;
}

const commands: Record<'compile' | 'check', Command> = {
  compile: {
    help: `Usage: netspec compile [spec.json...] [--out DIR] [--specs DIR] [--check]

Validates every spec, renders all modules in memory, and only then writes them, each atomically. If any
spec has errors, nothing is written. A spec under the specs folder is mirrored under the output folder:
specs/imagenet/resnet34.json → generated/imagenet/resnet34.ts.

Arguments:
  spec.json...   Spec files to compile (default: every .json file under the specs folder)

Options:
  --out DIR      Output folder (default: generated)
  --specs DIR    Specs folder (default: specs)
  --check        Write nothing; exit 1 naming each output that is missing, stale or extra
  -h, --help     Show this help`,
    options: {
      out: { type: 'string', default: 'generated' },
      specs: { type: 'string', default: 'specs' },
      check: { type: 'boolean', default: false },
    },
    run: async ({ values, positionals }) => {
      const { compileCommand } = await import('./commands.js');
      return compileCommand({
        specs: positionals,
        specRoot: String(values.specs),
        outDir: String(values.out),
        check: values.check === true,
      });
    },
  },
  check: {
    help: `Usage: netspec check <spec.json> [--json]

Validates a spec and prints a summary like Keras model.summary(): each layer with its output shape,
parameters and multiply-accumulates, then the totals. Nothing is written.

Options:
  --json       Print one JSON object: { name, input, output, params: { trainable, nonTrainable, total },
               macs, layers: [{ name, op, outputShape, params, macs }] }
  -h, --help   Show this help`,
    options: { json: { type: 'boolean', default: false } },
    run: async ({ values, positionals }) => {
      if (positionals.length !== 1) throw new UsageError(`check takes exactly one spec file, got ${positionals.length}`);
      const { checkCommand } = await import('./commands.js');
      return checkCommand({ spec: positionals[0]!, json: values.json === true });
    },
  },
};

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${mainHelp}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  if (!(first in commands)) throw new UsageError(`unknown command ${JSON.stringify(first)}; commands are ${Object.keys(commands).join(', ')}`);
  const command = commands[first as keyof typeof commands];
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h', default: false } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  return command.run(parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`netspec: ${error.message}\nRun 'netspec --help' for usage.\n`);
      process.exitCode = EXIT.usage;
    } else {
      process.stderr.write(`netspec: internal error, please report it with the spec that caused it:\n${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.internal;
    }
  },
);
