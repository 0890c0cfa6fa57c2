import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';
import { diagnose, type Diagnostic, type DiagnosticCode, type SourceDocument } from '../errors/diagnostics.js';
import { escapePointer } from './read.js';
import type { NetSpec } from './types.js';

export const schemaPath = fileURLToPath(new URL('../../schema/netspec.schema.json', import.meta.url));

/** A spec that passed the schema: its type is the one generated from the schema. */
export interface ValidSpec {
  readonly document: SourceDocument;
  readonly spec: NetSpec;
}

export interface ValidateResult {
  readonly valid?: ValidSpec;
  readonly diagnostics: readonly Diagnostic[];
}

let compiled: ValidateFunction | undefined;

/** The schema validator, compiled on first use and then reused for every spec. */
function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const Ajv = AjvModule.default;
    const ajv = new Ajv({ allErrors: true, verbose: true, discriminator: true, strict: true });
    compiled = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  }
  return compiled;
}

/** Checks a parsed spec against the schema and reports every violation at its position in the file. */
export function validate(document: SourceDocument): ValidateResult {
  const check = schemaValidator();
  if (check(document.value)) return { valid: { document, spec: document.value as NetSpec }, diagnostics: [] };
  const errors = check.errors ?? [];
  const diagnostics = errors.filter((error) => !isRedundant(error, errors)).map((error) => toDiagnostic(document, error));
  return { diagnostics };
}

/** Errors that repeat a clearer one: a failed `oneOf` beside its chosen branch's errors, a pattern beside emptiness. */
function isRedundant(error: ErrorObject, all: readonly ErrorObject[]): boolean {
  const besides = (keyword: string, samePath: boolean) =>
    all.some(
      (other) =>
        other !== error &&
        other.keyword === keyword &&
        (samePath ? other.instancePath === error.instancePath : other.instancePath.startsWith(error.instancePath)),
    );
  if (error.keyword === 'oneOf') return all.some((other) => other !== error && other.instancePath.startsWith(error.instancePath));
  return error.keyword === 'pattern' && besides('minLength', true);
}

function toDiagnostic(document: SourceDocument, error: ErrorObject): Diagnostic {
  const pointer = error.instancePath;
  const where = describePath(pointer);
  // Read only by the messages that quote the value: an unknown key per line of a large spec must not excerpt its object each time.
  const got = () => document.sourceText(pointer);
  const at = (code: DiagnosticCode, message: string, part: 'key' | 'value' = 'value', at = pointer): Diagnostic => diagnose(document, code, at, message, part);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return at('NS101', `${where} must be ${article(String(params.type))}, got ${got()}`);
    case 'required': {
      const field = String(params.missingProperty);
      return at('NS102', `${where} is missing the required field "${field}"`);
    }
    case 'dependencies': {
      const [field, needed] = [String(params.property), String(params.missingProperty)];
      return at('NS102', `${where} gives "${field}" without "${needed}"; give both for a fixed size, or neither for an open size`);
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      const suggestion = nearest(field, known);
      return at('NS103', `unknown field ${JSON.stringify(field)} in ${where}${suggestion}`, 'key', `${pointer}/${escapePointer(field)}`);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return at('NS104', `${where} must be ${String(params.comparison)} ${String(params.limit)}, got ${got()}`);
    case 'enum':
    case 'const': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [params.allowedValue];
      return at('NS105', `${where} must be ${choices(allowed)}, got ${got()}${suggest(error.data, allowed)}`);
    }
    case 'discriminator': {
      const allowed = headTypes(error.parentSchema);
      const tagPointer = `${pointer}/${String(params.tag)}`;
      if ((params as { error: string }).error === 'tag') {
        const present = typeof error.data === 'object' && error.data !== null && String(params.tag) in error.data;
        if (!present) return at('NS102', `${where} is missing the required field "${String(params.tag)}" (${choices(allowed)})`);
        return at('NS101', `${describePath(tagPointer)} must be a string, ${choices(allowed)}, got ${document.sourceText(tagPointer)}`, 'value', tagPointer);
      }
      const message = `${describePath(tagPointer)} must be ${choices(allowed)}, got ${document.sourceText(tagPointer)}`;
      return at('NS105', `${message}${suggest(params.tagValue, allowed)}`, 'value', tagPointer);
    }
    case 'minLength':
      return at('NS106', `${where} must not be empty, got ${got()}`);
    case 'maxLength':
      return at('NS106', `${where} must be at most ${String(params.limit)} characters long, got ${(error.data as string).length}`);
    case 'pattern':
      return at('NS106', `${where} must start with a letter or digit and contain only letters, digits, '.', '_' or '-', got ${got()}`);
    case 'minItems':
      return at('NS107', `${where} must have at least ${String(params.limit)} entr${params.limit === 1 ? 'y' : 'ies'}, got ${got()}`);
    case 'maxItems':
      return at('NS107', `${where} must have at most ${String(params.limit)} entries, got ${(error.data as unknown[]).length}`);
    default:
      return at('NS101', `${where} ${error.message ?? 'is invalid'}`);
  }
}

/** `/stages/depths/2` → `stages.depths[2]`, the way a user would name the field. */
export function describePath(pointer: string): string {
  if (pointer === '') return 'the spec';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

function article(type: string): string {
  return type === 'object' || type === 'array' || type === 'integer' ? `an ${type}` : `a ${type}`;
}

function choices(values: readonly unknown[]): string {
  const shown = values.map((value) => JSON.stringify(value));
  return shown.length === 1 ? shown[0]! : `one of ${shown.join(', ')}`;
}

function suggest(value: unknown, allowed: readonly unknown[]): string {
  const strings = allowed.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' && strings.length > 1 ? nearest(value, strings) : '';
}

/** `; did you mean "x"?` when a known name is a plausible typo of `text`, else nothing. */
function nearest(text: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const best = closest(text, [...known]);
  return distance(text, best) <= Math.max(2, Math.floor(text.length / 3)) ? `; did you mean ${JSON.stringify(best)}?` : '';
}

function headTypes(schema: unknown): string[] {
  const branches = (schema as { oneOf?: { properties?: { type?: { const?: unknown } } }[] }).oneOf ?? [];
  return branches.map((branch) => String(branch.properties?.type?.const));
}
