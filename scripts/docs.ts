// Rewrites the README's spec table from the specs (npm run docs). A test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { readmePath, readmeWithSpecTable } from './spec-table.js';

writeFileSync(readmePath, readmeWithSpecTable());
console.log(`updated the spec table in ${readmePath}`);
