#!/usr/bin/env node
import { closest, distance } from 'fastest-levenshtein';
import { readFileSync } from 'node:fs';
import { overview, UsageError, type Command } from './commands/command-line.js';
import { userErrorLines } from './errors/user-error.js';
import { printable } from './files/display-path.js';

/**
 * Exit codes: user errors (spec errors, stale or refused outputs, unusable files, data or weights, filesystem faults)
 * are 1; a malformed command line is 2; anything else is a bug, 70.
 */
const EXIT = { ok: 0, userError: 1, usage: 2, internal: 70 } as const;

/**
 * Each command's module, loaded only when it is run or asked for its help: most of them load tfjs, which
 * `netspec check` does not need. The tool's help loads them all for their usage lines.
 */
const COMMANDS: Readonly<Record<string, () => Promise<{ readonly command: Command }>>> = {
  compile: () => import('./commands/compile-command.js'),
  check: () => import('./commands/check-command.js'),
  weights: () => import('./commands/weights-command.js'),
  predict: () => import('./commands/predict-command.js'),
  export: () => import('./commands/export-command.js'),
  train: () => import('./commands/train-command.js'),
  eval: () => import('./commands/eval-command.js'),
  verify: () => import('./commands/verify-command.js'),
};

async function toolHelp(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).command));
  return `netspec — compile declarative model specs into typed TensorFlow.js model code

${overview(commands)}

Exit status: ${EXIT.ok} success, ${EXIT.userError} user errors (spec errors, stale output, unusable weights, data or images,
refused outputs, file-system faults), ${EXIT.usage} usage errors, ${EXIT.internal} internal errors (please report them).`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${await toolHelp()}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  // Own keys only: `constructor` or `__proto__` are not commands.
  if (!Object.hasOwn(COMMANDS, first))
    throw new UsageError(`unknown command ${JSON.stringify(first)}${didYouMean(first)}; commands are ${Object.keys(COMMANDS).join(', ')}`);
  const { command } = await COMMANDS[first]!();
  return command.invoke(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const userError = userErrorLines(error);
    if (error instanceof UsageError) {
      process.stderr.write(`netspec: ${printable(error.message)}\nRun 'netspec --help' for usage.\n`);
      process.exitCode = EXIT.usage;
    } else if (userError !== undefined) {
      // Nothing here is a bug: what the user fixes, one line per problem, without a stack. User text in a message
      // (a path, a class name) was made printable where the message was made; this catches what was not.
      process.stderr.write(userError.map((line) => `${printable(line)}\n`).join(''));
      process.exitCode = EXIT.userError;
    } else {
      process.stderr.write(`netspec: internal error, please report it with the spec that caused it:\n${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.internal;
    }
  },
);

/** A command a mistyped word is close to (`trian` → `train`), as the spec diagnostics suggest field names. */
function didYouMean(word: string): string {
  const best = closest(word, Object.keys(COMMANDS));
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}
