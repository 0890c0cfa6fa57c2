/**
 * The only ways user text enters generated code. Each helper returns text that cannot end the construct it
 * sits in: a string literal cannot be closed early, a comment cannot be closed or broken onto a new line.
 */

/** A double-quoted TypeScript string literal of any text, lone surrogates and line separators included. */
export function stringLiteral(text: string): string {
  // JSON.stringify escapes quotes, backslashes, control characters and lone surrogates; U+2028/U+2029 are escaped too
  // so that the literal stays on one line in every tool that reads the file.
  return JSON.stringify(text).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const reservedWords = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined'
  ).split(' '),
);

/**
 * Turns names into distinct identifiers: invalid characters become `_`, a leading digit or a reserved word
 * gets a `_`, and a name that collides with one already taken (or with `reserved`) gets a numeric suffix.
 */
export function identifierScope(reserved: Iterable<string>): (name: string) => string {
  const taken = new Set(reserved);
  return (name) => {
    let base = name.replace(/[^A-Za-z0-9_$]/g, '_');
    if (base === '' || /^[0-9]/.test(base) || reservedWords.has(base)) base = `_${base}`;
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}_${n}`;
    taken.add(candidate);
    return candidate;
  };
}

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

/** A `/** … *\/` documentation comment whose text cannot close it early. */
export function docComment(text: string, indent = ''): string {
  const lines = commentLines(text).map((line) => `${indent} *${line === '' ? '' : ` ${line.replace(/\*\//g, '*\\/')}`}`);
  return [`${indent}/**`, ...lines, `${indent} */`].join('\n');
}
