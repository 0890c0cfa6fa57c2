import { InternalError } from '../errors/internal-error.js';
/**
 * The only ways user text enters generated code. Each helper returns text that cannot end the construct it
 * sits in: a string literal cannot be closed early, a comment cannot be closed or broken onto a new line.
 */

/** A double-quoted TypeScript string literal of any text, lone surrogates and line separators included. */
export function stringLiteral(text: string): string {
  // JSON.stringify escapes quotes, backslashes, control characters and lone surrogates; U+2028/U+2029 are escaped too
  // so that the literal stays on one line in every tool that reads the file.
  return JSON.stringify(text)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const reservedWords = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined'
  ).split(' '),
);

const pythonKeywords = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from global ' +
    'if import in is lambda nonlocal not or pass raise return try while with yield match case type _'
  ).split(' '),
);

/**
 * Turns names into distinct TypeScript identifiers: invalid characters become `_`, a leading digit or a reserved
 * word gets a `_`, and a name that collides with one already taken (or with `reserved`) gets a numeric suffix.
 */
export function identifierScope(reserved: Iterable<string>): (name: string) => string {
  return scope(reserved, /[^A-Za-z0-9_$]/g, reservedWords);
}

/** The same for Python identifiers, which are ASCII letters, digits and `_` here (no `$`), and Python's keywords. */
export function pythonIdentifierScope(reserved: Iterable<string>): (name: string) => string {
  return scope(reserved, /[^A-Za-z0-9_]/g, pythonKeywords);
}

function scope(reserved: Iterable<string>, invalid: RegExp, keywords: ReadonlySet<string>): (name: string) => string {
  const taken = new Set(reserved);
  return (name) => {
    let base = name.replace(invalid, '_');
    if (base === '' || /^[0-9]/.test(base) || keywords.has(base)) base = `_${base}`;
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}_${n}`;
    taken.add(candidate);
    return candidate;
  };
}

/**
 * A double-quoted Python string literal of any text: the JSON escapes TypeScript's literal uses (`\"`, `\\`, `\n`,
 * `\uXXXX`, lone surrogates as `\ud800`) mean the same in Python, so the same text serves.
 */
export const pythonStringLiteral = stringLiteral;

/** Lines of text for comments: split at every line break, with lone surrogates made well-formed. */
function commentLines(text: string): string[] {
  return text.toWellFormed().split(/\r\n|[\r\n\u2028\u2029]/);
}

/** `// ` comment lines, one per line of `text`. */
export function lineComment(text: string, indent = ''): string {
  return commentLines(text)
    .map((line) => `${indent}//${line === '' ? '' : ` ${line}`}`)
    .join('\n');
}

/** `# ` Python comment lines, one per line of `text`. */
export function pythonComment(text: string, indent = ''): string {
  return commentLines(text)
    .map((line) => `${indent}#${line === '' ? '' : ` ${line}`}`)
    .join('\n');
}

/** A `/** … *\/` documentation comment whose text cannot close it early. */
export function docComment(text: string, indent = ''): string {
  const lines = commentLines(text).map((line) => `${indent} *${line === '' ? '' : ` ${line.replace(/\*\//g, '*\\/')}`}`);
  return [`${indent}/**`, ...lines, `${indent} */`].join('\n');
}

/** Integers with digit separators, so that counts read at a glance: 21_282_122. */
export function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new InternalError(`${value} is not an exact integer`);
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}
