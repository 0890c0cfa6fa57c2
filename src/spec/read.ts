import { createHash } from 'node:crypto';
import * as momoa from '@humanwhocodes/momoa';
import type { Diagnostic, DiagnosticCode, Position, SourceDocument } from '../errors/diagnostics.js';

/** Spec files are small; anything past this is a mistake or an attack, refused before parsing. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** A spec nests three levels; the parser and every later walk recurse, so depth is capped first. */
export const MAX_SPEC_DEPTH = 64;

/** The NS002 sentence, for a size known exactly or only as "more than" the limit. */
export const sizeLimitMessage = (size: string) => `the file is ${size}; spec files are limited to ${MAX_SPEC_BYTES} bytes`;

export interface ReadResult {
  readonly document?: SourceDocument;
  readonly diagnostics: readonly Diagnostic[];
}

interface Located {
  readonly value: Position;
  readonly key?: Position;
  readonly start: number;
  readonly end: number;
}

/** Decodes and parses a spec file's bytes, keeping the source position of every value. */
export function read(path: string, bytes: Uint8Array): ReadResult {
  const at = (position: Position, code: DiagnosticCode, message: string): ReadResult => ({
    diagnostics: [{ file: path, ...position, severity: 'error', code, message }],
  });
  if (bytes.length > MAX_SPEC_BYTES) {
    return at(start, 'NS002', sizeLimitMessage(`${bytes.length} bytes`));
  }
  const decoded = decodeUtf8(bytes);
  if (typeof decoded !== 'string') {
    return at(
      decoded.position,
      'NS003',
      `byte 0x${decoded.byte.toString(16).padStart(2, '0')} at offset ${decoded.offset} is not valid UTF-8; save the file as UTF-8`,
    );
  }
  // Editors hide a byte-order mark and do not count it as a column, so it is dropped before positions are taken.
  const text = decoded.startsWith('\uFEFF') ? decoded.slice(1) : decoded;
  const lexical = scanLexical(text);
  if (lexical.problem) return at(positionOf(text, lexical.problem.offset), lexical.problem.code, lexical.problem.message);

  let ast: momoa.DocumentNode;
  try {
    ast = momoa.parse(text, { mode: 'json' });
  } catch (error) {
    const syntax = describeSyntaxError(text, error, lexical.unclosed);
    return at(syntax.position, 'NS010', syntax.message);
  }

  const diagnostics: Diagnostic[] = [];
  const locations = new Map<string, Located>();
  const report = (position: Position, code: DiagnosticCode, message: string) => diagnostics.push({ file: path, ...position, severity: 'error', code, message });
  const value = toValue(ast.body, '', undefined);

  function toValue(node: momoa.ValueNode, pointer: string, key: Position | undefined): unknown {
    const loc = node.loc.start;
    locations.set(pointer, { value: toPosition(loc), key, start: loc.offset, end: node.loc.end.offset });
    switch (node.type) {
      case 'Object': {
        const object: Record<string, unknown> = Object.create(null);
        const firstLine = new Map<string, number>();
        for (const member of node.members) {
          const name = member.name.type === 'String' ? member.name.value : member.name.name;
          const keyPosition = toPosition(member.name.loc.start);
          const earlier = firstLine.get(name);
          if (earlier !== undefined) {
            report(
              keyPosition,
              'NS011',
              `key ${JSON.stringify(name)} appears twice in this object (first on line ${earlier}); JSON keeps only the last, so remove one`,
            );
          } else {
            firstLine.set(name, keyPosition.line);
          }
          // defineProperty, not assignment: `__proto__` must stay an ordinary key.
          Object.defineProperty(object, name, {
            value: toValue(member.value, `${pointer}/${escapePointer(name)}`, keyPosition),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return object;
      }
      case 'Array':
        return node.elements.map((element, index) => toValue(element.value, `${pointer}/${index}`, undefined));
      case 'Number': {
        const raw = text.slice(loc.offset, node.loc.end.offset);
        if (!Number.isFinite(node.value)) {
          report(toPosition(loc), 'NS012', `number ${raw} is too large to represent`);
        } else if (Number.isInteger(node.value) && !Number.isSafeInteger(node.value)) {
          report(toPosition(loc), 'NS012', `integer ${raw} is beyond 2^53 and cannot be represented exactly`);
        }
        return node.value;
      }
      case 'String':
      case 'Boolean':
        return node.value;
      case 'Null':
        return null;
      default:
        return undefined;
    }
  }

  const lookup = (pointer: string): Located => {
    for (let p = pointer; ; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) {
      const found = locations.get(p);
      if (found) return found;
      if (p === '') return { value: start, start: 0, end: 0 };
    }
  };
  const document: SourceDocument = {
    path,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    value,
    locate: (pointer, part = 'value') => {
      const found = lookup(pointer);
      return (part === 'key' && found.key) || found.value;
    },
    sourceText: (pointer) => {
      const found = lookup(pointer);
      // Only the excerpt's own stretch of text is collapsed: a diagnostic per key of a large object must not rescan
      // the whole object each time, which made thousands of unknown keys take minutes.
      const raw = text.slice(found.start, Math.min(found.end, found.start + EXCERPT_SCAN)).replace(/\s+/g, ' ');
      return raw.length > 40 || found.end - found.start > EXCERPT_SCAN ? `${raw.slice(0, 37)}...` : raw;
    },
  };
  return { document, diagnostics };
}

const start: Position = { line: 1, column: 1 };

/** How much source text an excerpt in a message reads: its 40 characters after whitespace runs collapse to one space. */
const EXCERPT_SCAN = 4096;

function toPosition(location: { line: number; column: number }): Position {
  return { line: location.line, column: location.column };
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Line and column of a string offset; CRLF counts as one line break, as momoa and editors count it. */
function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

type Decoded = string | { offset: number; byte: number; position: Position };

/** Decodes strict UTF-8; on failure finds the first bad byte by bisecting on streaming decodes. */
function decodeUtf8(bytes: Uint8Array): Decoded {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const decodesUpTo = (length: number) => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, length), { stream: true });
        return true;
      } catch {
        return false;
      }
    };
    let good = 0;
    let bad = bytes.length + 1;
    while (bad - good > 1) {
      const mid = (good + bad) >> 1;
      if (decodesUpTo(mid)) good = mid;
      else bad = mid;
    }
    // When every prefix streams cleanly, the file ends inside a multi-byte character.
    let offset = Math.min(good, bytes.length - 1);
    if (bad > bytes.length) while (offset > 0 && (bytes[offset]! & 0xc0) === 0x80) offset--;
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset)).replace(/^\uFEFF/, '');
    return { offset, byte: bytes[offset]!, position: positionOf(before, before.length) };
  }
}

interface LexicalScan {
  /** Nesting too deep, or a raw control character in a string. */
  readonly problem?: { offset: number; code: DiagnosticCode; message: string };
  /** Whether the text ends inside a string or an unclosed bracket. */
  readonly unclosed: boolean;
}

/** Checks nesting depth and raw control characters in strings without recursion, before any parser runs. */
function scanLexical(text: string): LexicalScan {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      else if (c < 0x20) {
        const message = `control character U+${c.toString(16).toUpperCase().padStart(4, '0')} inside a string; write it as an escape such as \\n`;
        return { problem: { offset: i, code: 'NS010', message }, unclosed: true };
      }
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_SPEC_DEPTH) {
        return { problem: { offset: i, code: 'NS004', message: `the JSON is nested more than ${MAX_SPEC_DEPTH} levels deep` }, unclosed: true };
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { unclosed: inString || depth > 0 };
}

function describeSyntaxError(text: string, error: unknown, unclosed: boolean): { position: Position; message: string } {
  const located = error as { line?: unknown; column?: unknown; offset?: unknown };
  if (typeof located.line !== 'number' || typeof located.column !== 'number' || typeof located.offset !== 'number') {
    throw error;
  }
  const offset = located.offset;
  const position = { line: located.line, column: located.column };
  if (text.trim() === '') return { position, message: 'the file is empty; a spec is a JSON object' };
  const char = text[offset] ?? '';
  if (char === '/') return { position, message: 'comments are not allowed in JSON' };
  if (char === '}' || char === ']') {
    const comma = text.slice(0, offset).search(/,\s*$/);
    if (comma >= 0) return { position: positionOf(text, comma), message: `trailing comma before '${char}' is not allowed in JSON` };
  }
  // momoa blames the last token of a file that stops inside a bracket or string; ending early is the real fault.
  const isLastToken = /^[-{[",:0-9tfn]/.test(char) && !/\s/.test(text.slice(offset).trim());
  if (offset >= text.length || (unclosed && isLastToken)) {
    return { position: positionOf(text, text.length), message: 'the JSON ends early: a value or a closing bracket is missing' };
  }
  if (char === "'") return { position, message: "strings in JSON take double quotes, not '" };
  const shown = char.trim() === '' ? `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `'${char}'`;
  return { position, message: `unexpected ${shown} in JSON` };
}
