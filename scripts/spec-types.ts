import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { schemaPath } from '../src/spec/validate.js';

export const specTypesPath = fileURLToPath(new URL('../src/spec/types.ts', import.meta.url));

/** The spec's TypeScript types, rendered from the schema so the two cannot disagree. */
export async function renderSpecTypes(): Promise<string> {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as JSONSchema;
  return compile(schema, 'NetSpec', {
    bannerComment: '// Generated from schema/netspec.schema.json by `npm run types` — do not edit.',
    ignoreMinAndMaxItems: true,
    additionalProperties: false,
    style: { singleQuote: true, printWidth: 120 },
  });
}
