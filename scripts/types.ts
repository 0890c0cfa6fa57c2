// Regenerates src/spec/types.ts from the schema (npm run types). A test fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { renderSpecTypes, specTypesPath } from './spec-types.js';

writeFileSync(specTypesPath, await renderSpecTypes());
console.log(`wrote ${specTypesPath}`);
