// Each command declares its options once, in a table: how each is parsed and checked, its default and its help
// line. The parser, the command's help and the tool's usage lines are all made from the tables, so that none of
// them can state an option or a default the others do not.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A malformed command line: exit status 2, with the reason and a pointer to --help. */
export class UsageError extends Error {}

interface Described {
  /** What the option does, without its choices or default: the help adds those from the table. */
  readonly help: string;
}

interface FlagOption extends Described {
  readonly type: 'boolean';
}

interface TextOption extends Described {
  readonly type: 'string';
  /** The value's placeholder in usage lines and help: `DIR`, `FROM=TO`. */
  readonly arg: string;
  readonly default?: string;
  /** The help's words for a default the command works out when it runs (`runs/<model name>`). */
  readonly defaultText?: string;
  /** Shown without brackets; the command refuses to run without it, in its own words. */
  readonly required?: boolean;
  /** Repeatable; the value is every occurrence in order, none by default. */
  readonly multiple?: boolean;
}

interface ChoiceOption extends Described {
  readonly type: 'choice';
  readonly arg: string;
  readonly choices: readonly string[];
  readonly default?: string;
  /** Values the option no longer takes, each with the usage error that says why and what to use instead. */
  readonly withdrawn?: { readonly [value: string]: string };
}

interface NumberOption extends Described {
  readonly type: 'number';
  readonly arg: string;
  readonly default?: number;
  readonly defaultText?: string;
  readonly min: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** The value must be above `min`, not merely at least `min`. */
  readonly exclusiveMin?: boolean;
}

export type OptionSpec = FlagOption | TextOption | ChoiceOption | NumberOption;
export type OptionTable = { readonly [name: string]: OptionSpec };

type Defaulted<O, V> = O extends { readonly default: unknown } ? V : V | undefined;
type ValueOf<O extends OptionSpec> = O extends FlagOption
  ? boolean
  : O extends NumberOption
    ? Defaulted<O, number>
    : O extends ChoiceOption
      ? Defaulted<O, O['choices'][number]>
      : O extends { readonly multiple: true }
        ? readonly string[]
        : Defaulted<O, string>;

/** The parsed values a table describes: a flag is a boolean, a choice one of its choices, an option with a default never undefined. */
export type OptionValues<T extends OptionTable> = { readonly [K in keyof T]: ValueOf<T[K]> };

interface CommandLine<T extends OptionTable> {
  readonly values: OptionValues<T>;
  readonly positionals: readonly string[];
  /** The options the command line sets, as opposed to those left at their defaults. */
  readonly given: ReadonlySet<keyof T>;
}

/** One way to call a command, as its usage line shows it. */
interface Form<T extends OptionTable> {
  /** The arguments before the options: `import <spec.json> <file.safetensors>`. */
  readonly args: string;
  /** The options this form takes, in usage order; all of the table's when absent. */
  readonly options?: readonly (keyof T & string)[];
  /** What follows the options: more arguments (`<image>...`), or `[options]` for those the line leaves out. */
  readonly after?: string;
}

interface CommandDeclaration<T extends OptionTable> {
  readonly name: string;
  /** The command's line in the tool's help. */
  readonly summary: string;
  readonly forms: readonly Form<T>[];
  /** The paragraphs between the usage and the options, as printed. */
  readonly description: string;
  readonly options: T;
  readonly run: (line: CommandLine<T>) => Promise<number>;
}

/** A declared command as the tool's entry point uses it, its option types no longer needed. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: readonly string[];
  readonly help: string;
  /** Parses the arguments after the command's name and runs the command, or prints its help for --help. */
  readonly invoke: (args: readonly string[]) => Promise<number>;
}

/** Help lines are wrapped to this many columns. */
const LINE_WIDTH = 112;

export function defineCommand<const T extends OptionTable>(declaration: CommandDeclaration<T>): Command {
  checkDefaults(declaration.options);
  const usage = declaration.forms.map((form) => usageLine(declaration.name, form, declaration.options));
  const head = usage.length === 1 ? `Usage: ${usage[0]}` : `Usage:\n${usage.map((line) => `  ${line}`).join('\n')}`;
  const help = `${head}\n\n${declaration.description}\n\nOptions:\n${optionLines(declaration.options).join('\n')}`;
  return {
    name: declaration.name,
    summary: declaration.summary,
    usage,
    help,
    invoke: async (args) => {
      const { line, wantsHelp } = parseCommandLine(declaration.options, args);
      if (!wantsHelp) return declaration.run(line);
      process.stdout.write(`${help}\n`);
      return 0;
    },
  };
}

/** The tool's usage lines and command list, for `netspec --help`. */
export function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 3;
  const usage = [...commands.flatMap((command) => command.usage), 'netspec <command> --help', 'netspec --version'];
  return `Usage:\n${usage.map((line) => `  ${line}`).join('\n')}\n\nCommands:\n${commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join('\n')}`;
}

function parseCommandLine<T extends OptionTable>(table: T, args: readonly string[]): { line: CommandLine<T>; wantsHelp: boolean } {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, option] of Object.entries(table)) {
    options[name] = { type: option.type === 'boolean' ? 'boolean' : 'string', multiple: option.type === 'string' && option.multiple === true };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' refusals of the arguments carry ERR_PARSE_ARGS_… codes; anything else is a bug in the table.
    if (!String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) throw error;
    // Its messages run over several lines; a usage error is one.
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  // parseArgs infers its values' types from a literal configuration; this one is built from the table, whose
  // types OptionValues states and optionValue() makes true.
  const raw = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const values = Object.fromEntries(Object.entries(table).map(([name, option]) => [name, optionValue(name, option, raw[name])]));
  const given = new Set<keyof T>(Object.keys(table).filter((name) => raw[name] !== undefined));
  return { line: { values: values as OptionValues<T>, positionals: parsed.positionals, given }, wantsHelp: raw.help === true };
}

/** An option's value from its text on the command line, its default when absent; a value the table refuses is a usage error. */
function optionValue(name: string, option: OptionSpec, raw: string | boolean | string[] | undefined): unknown {
  switch (option.type) {
    case 'boolean':
      return raw === true;
    case 'string':
      return raw ?? (option.multiple ? [] : option.default);
    case 'choice':
      if (raw === undefined) return option.default;
      if (option.withdrawn && Object.hasOwn(option.withdrawn, raw as string)) throw new UsageError(option.withdrawn[raw as string]!);
      if (!option.choices.includes(raw as string)) throw new UsageError(`--${name} takes ${option.choices.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'number':
      return raw === undefined ? option.default : numberValue(name, option, raw as string);
  }
}

/**
 * A plain decimal number: digits, an optional fraction and exponent. Number() also reads 0x10, 0o17, 0b11, Infinity and
 * padded text, none of which a user means as a count.
 */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number written in decimal, within the option's bounds (an integer if it says so). */
function numberValue(name: string, option: NumberOption, text: string): number {
  const range = `${option.exclusiveMin ? 'above' : 'from'} ${option.min}${option.max !== undefined ? ` to ${option.max}` : ''}`;
  const kind = option.integer ? 'an integer' : 'a number';
  if (!DECIMAL.test(text)) throw new UsageError(`--${name} takes ${kind} ${range} written in decimal digits, got ${JSON.stringify(text)}`);
  const value = Number(text);
  const low = option.exclusiveMin ? value <= option.min : value < option.min;
  const high = option.max !== undefined && value > option.max;
  if (!Number.isFinite(value) || low || high || (option.integer && !Number.isInteger(value)))
    throw new UsageError(`--${name} takes ${kind} ${range}, got ${JSON.stringify(text)}`);
  return value;
}

/** A default the option would refuse on the command line is a mistake in the table (or in the constant it names). */
function checkDefaults(table: OptionTable): void {
  for (const [name, option] of Object.entries(table)) {
    if ((option.type !== 'choice' && option.type !== 'number') || option.default === undefined) continue;
    try {
      optionValue(name, option, String(option.default));
    } catch (error) {
      throw new Error(`the default of --${name} is not a value it accepts: ${(error as Error).message}`);
    }
  }
}

function usageLine<T extends OptionTable>(command: string, form: Form<T>, table: T): string {
  const options = (form.options ?? Object.keys(table)).map((name) => {
    const option: OptionSpec = table[name]!;
    const word = option.type === 'boolean' ? `--${name}` : `--${name} ${option.arg}${option.type === 'string' && option.multiple ? '...' : ''}`;
    return option.type === 'string' && option.required ? word : `[${word}]`;
  });
  return ['netspec', command, form.args, ...options, ...(form.after === undefined ? [] : [form.after])].filter((word) => word !== '').join(' ');
}

function optionLines(table: OptionTable): string[] {
  const rows: [string, string][] = Object.entries(table).map(([name, option]) => [
    option.type === 'boolean' ? `--${name}` : `--${name} ${option.arg}`,
    describe(option),
  ]);
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.flatMap(([label, text]) => wrap(text, LINE_WIDTH - width - 5).map((line, i) => `  ${(i === 0 ? label : '').padEnd(width)}   ${line}`));
}

/** An option's help line with what the table adds: its choices, its default, whether it is required. */
function describe(option: OptionSpec): string {
  if (option.type === 'boolean') return option.help;
  if (option.type === 'choice') {
    const choices = option.choices.length > 1 ? `${option.choices.slice(0, -1).join(', ')} or ${option.choices.at(-1)}` : option.choices.join('');
    return `${option.help} (${choices}${option.default === undefined ? '' : `; default: ${option.default}`})`;
  }
  const shown = option.defaultText ?? (option.default === undefined ? undefined : String(option.default));
  const required = option.type === 'string' && option.required ? ' (required)' : '';
  return `${option.help}${shown === undefined ? '' : ` (default: ${shown})`}${required}`;
}

/** Words filled into lines of at most `width` columns; a longer word gets a line of its own. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}
