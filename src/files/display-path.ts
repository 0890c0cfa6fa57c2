import { relative, resolve, sep } from 'node:path';

/**
 * Control characters (line breaks, escape sequences) and those that reorder or hide text (U+202E and the other
 * bidirectional controls, zero-width characters, line and paragraph separators, the byte-order mark): in a file
 * or class name they could rewrite a terminal line or make it read as something else.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/**
 * User text (a path, a class name, a value read from a file) as the terminal may show it: every character of
 * UNPRINTABLE escaped as \uXXXX. The one helper for all terminal output of user text.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A user's text for a message: quoted as JSON, printable, cut at 60 characters. */
export function quoted(text: string): string {
  return printable(JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}…` : text));
}

/** A path as diagnostics and messages show it: relative to the working directory when inside it, with forward slashes, printable. */
export function displayPath(path: string): string {
  const inside = relative(process.cwd(), resolve(path));
  const shown = inside.startsWith('..') ? resolve(path) : inside;
  return printable(shown.split(sep).join('/'));
}
