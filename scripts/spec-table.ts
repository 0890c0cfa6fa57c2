import { readFileSync } from 'node:fs';
import { planCompile } from '../src/project/compile-files.js';
import { outputsText } from '../src/emit/summary.js';

export const readmePath = 'README.md';
const begin = '<!-- spec-table:begin (npm run docs) -->';
const end = '<!-- spec-table:end -->';

/** The README's table of every spec, rendered from the specs by the compiler itself. */
export function renderSpecTable(): string {
  const plan = planCompile({ specs: [], specRoot: 'specs', outDir: 'generated' });
  const rows = plan.outputs.map(({ spec, graph }) => {
    const input = graph.inputShape.join('×');
    const macs = (graph.macs / 1e9).toFixed(2);
    return `| [\`${spec}\`](${spec}) | ${graph.params.trainable.toLocaleString('en-US')} | ${macs} | ${input} | ${outputsText(graph)} |`;
  });
  return [begin, '| spec | trainable params | GMACs | input | output |', '| --- | ---: | ---: | --- | --- |', ...rows, end].join('\n');
}

/** The README with its spec table replaced by a fresh render. */
export function readmeWithSpecTable(): string {
  const readme = readFileSync(readmePath, 'utf8');
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${readmePath} lacks the spec table markers`);
  return readme.slice(0, from) + renderSpecTable() + readme.slice(to + end.length);
}
