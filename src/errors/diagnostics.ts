/** A problem in a user's spec, positioned in its file. Diagnostics are collected, never thrown. */
export interface Diagnostic {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, in UTF-16 code units as editors count them. */
  readonly column: number;
  /** Errors stop compilation; warnings are printed and compilation goes on. */
  readonly severity: 'error' | 'warning';
  readonly code: DiagnosticCode;
  readonly message: string;
}

/**
 * Every diagnostic code the compiler can report, with what it means. Codes are stable: tools and
 * tests match on them, so a code is never reused for a different meaning.
 */
export const diagnosticCodes = {
  NS001: 'the spec file cannot be read',
  NS002: 'the spec file is larger than the size limit',
  NS003: 'the spec file is not valid UTF-8',
  NS004: 'the JSON is nested deeper than the depth limit',
  NS010: 'the file is not valid JSON',
  NS011: 'a key appears twice in one object',
  NS012: 'a number cannot be represented exactly',
  NS101: 'a value has the wrong type',
  NS102: 'a required field is missing',
  NS103: 'a field is not part of the spec language',
  NS104: 'a number is out of range',
  NS105: 'a value is not one of the allowed choices',
  NS106: 'a string has the wrong length or form',
  NS107: 'a list has too few or too many entries',
  NS201: 'the stage lists have different lengths',
  NS202: 'a stride is applied to a feature map too small for it',
  NS203: "groups cannot divide a stage's bottleneck width evenly",
  NS204: 'a stage with basic blocks is dilated',
  NS205: 'a stage after a dilated stage is not dilated',
  NS206: 'an output names a stage the model does not have',
  NS207: 'the avgPool shortcut is given a stride above 2',
  NS208: 'a neck or head reads a stage the backbone does not have',
  NS209: 'a head is combined with a neck or with outputs it does not take',
  NS210: "the anchors do not fit the pyramid's levels",
  NS211: 'per-block widths do not fit the blocks',
  NS212: 'GroupNorm groups cannot divide a normalised width evenly',
  NS213: 'anti-aliasing is asked for where it has no stride to carry',
  NS214: 'the preprocessing does not give one mean and one deviation per input channel',
  NS215: "the input's size bounds are given for a fixed size, or leave no size",
  NS301: 'the model is larger than the size limit',
  NS302: 'an open input size that some layer cannot take',
  NS401: 'two specs would write the same output file',
  NS501: 'the model trains in TensorFlow.js on the wasm backend only (warning)',
  NS502: 'a DeepLabV3 head reads an undilated backbone (warning)',
} as const;

export type DiagnosticCode = keyof typeof diagnosticCodes;

export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * A parsed spec file: its value, and where each part of it came from. Declared here, beside Diagnostic, so that every
 * layer that reports at a spec field (spec's rules, ir's limits) can do so without importing the reader.
 */
export interface SourceDocument {
  /** The path shown in diagnostics and generated headers, with forward slashes. */
  readonly path: string;
  readonly sha256: string;
  /** The parsed JSON. Objects have no prototype, so keys such as `__proto__` are plain data. */
  readonly value: unknown;
  /** Where the value at a JSON pointer (as ajv reports it) starts, or where its key starts. */
  locate(pointer: string, part?: 'key' | 'value'): Position;
  /** The value at a JSON pointer as written in the file, shortened for messages. */
  sourceText(pointer: string): string;
}

/** A diagnostic at the field a JSON pointer names. */
export function diagnose(
  document: SourceDocument,
  code: DiagnosticCode,
  pointer: string,
  message: string,
  part: 'key' | 'value' = 'value',
  severity: Diagnostic['severity'] = 'error',
): Diagnostic {
  return { file: document.path, ...document.locate(pointer, part), severity, code, message };
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`;
}

/** Diagnostics in file order, so that a user reads them top to bottom. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
}
