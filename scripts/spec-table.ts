import { readFileSync } from 'node:fs';
import { planCompile } from '../src/project/compile-files.js';
import { outputsText } from '../src/emit/summary.js';
import type { AnalyzedGraph } from '../src/ir/analyze.js';
import { macsAt, macsFormula } from '../src/ir/shape-formulas.js';

export const readmePath = 'README.md';
const begin = '<!-- spec-table:begin (npm run docs) -->';
const end = '<!-- spec-table:end -->';

/** The README's table of every spec, rendered from the specs by the compiler itself. */
export function renderSpecTable(): string {
  const plan = planCompile({ specs: [], specRoot: 'specs', outDir: 'generated' });
  const rows = plan.outputs.map(({ spec, graph }) => {
    const { input, macs } = graph.sizes ? openFigures(graph) : { input: graph.inputShape.join('×'), macs: (graph.macs / 1e9).toFixed(2) };
    return `| [\`${spec}\`](${spec}) | ${graph.params.trainable.toLocaleString('en-US')} | ${macs} | ${input} | ${outputsText(graph)} |`;
  });
  return [begin, '| spec | trainable params | GMACs | input | output |', '| --- | ---: | ---: | --- | --- |', ...rows, end].join('\n');
}

/** An open size's input as its sides, and its multiply-accumulates at the admissible side nearest 512. */
function openFigures(graph: AnalyzedGraph): { input: string; macs: string } {
  const { minimum, maximum, multiple } = graph.sizes!;
  const side = Math.min(maximum, Math.max(minimum, Math.ceil(512 / multiple) * multiple));
  const macs = macsAt(macsFormula(graph), side, side);
  return { input: `H×W×${graph.inputShape[2]} (multiples of ${multiple}, ${minimum}–${maximum})`, macs: `${(macs / 1e9).toFixed(2)} at ${side}²` };
}

/** The README with its spec table replaced by a fresh render. */
export function readmeWithSpecTable(): string {
  const readme = readFileSync(readmePath, 'utf8');
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${readmePath} lacks the spec table markers`);
  return readme.slice(0, from) + renderSpecTable() + readme.slice(to + end.length);
}
