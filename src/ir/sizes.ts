import { diagnose, type Diagnostic, type SourceDocument } from '../errors/diagnostics.js';
import { InternalError } from '../errors/internal-error.js';
import { definitionOf } from '../ops/index.js';
import { sideAt, sideStride, type SideFormula } from '../ops/side-formula.js';
import type { Graph } from './graph.js';

/** What every admissible side must satisfy, found from the ops' side rules. */
type Constraint =
  | { readonly kind: 'smallest'; readonly op: string; readonly side: SideFormula; readonly smallest: number }
  | { readonly kind: 'agree'; readonly op: string; readonly sides: readonly SideFormula[] };

/** The sides an open-size model takes, and each layer's output side as a formula of the input's. */
export interface OpenSizes {
  /** Admissible sides are the multiples of `multiple` from `minimum` to `maximum`, for height and width alike. */
  readonly minimum: number;
  readonly maximum: number;
  readonly multiple: number;
  /** Per op, in graph order: its output's side, or null for a vector (or RetinaNet's joined levels). */
  readonly sides: readonly (SideFormula | null)[];
  /** Per op: for an output of [perInputPixel × its inputs' pixels, values], the factor and those inputs' sides. */
  readonly locations: readonly ({ readonly perInputPixel: number; readonly sides: readonly SideFormula[] } | null)[];
  readonly constraints: readonly Constraint[];
  /** Where the spec's input field is, for a diagnostic about a size asked for later. */
  readonly at: Pick<Diagnostic, 'file' | 'line' | 'column'>;
}

/**
 * For a spec that leaves its input size open: every op's side formula, the sides the model takes (the declared
 * bounds, else the multiple of the network's total stride and the smallest side every layer can read), and the
 * graph with its input set to the largest of them, where the size limits are then checked. Sides no layer can take,
 * and branches that disagree at some admissible side, are diagnostics at the spec's input.
 */
export function resolveSizes(graph: Graph, document: SourceDocument): { graph: Graph; sizes?: OpenSizes; diagnostics: Diagnostic[] } {
  if (!graph.openSize) return { graph, diagnostics: [] };
  const { sides, locations, constraints } = sideFormulas(graph);
  const multiple = graph.openSize.multiple ?? Math.max(...sides.map((side) => (side ? sideStride(side) : 1)));
  const largest = Math.floor(graph.openSize.maximum / multiple) * multiple;
  const from = graph.openSize.minimum ?? multiple;
  const first = Math.ceil(from / multiple) * multiple;
  const fail = (pointer: string, message: string) => ({ graph, diagnostics: [diagnose(document, 'NS302', pointer, message)] });
  let minimum = first;
  while (minimum <= largest && firstBroken(constraints, minimum, 'smallest')) minimum += multiple;
  if (minimum > largest) {
    const broken = firstBroken(constraints, largest, 'smallest')!;
    const pointer = graph.openSize.multiple === undefined ? '/input' : '/input/sizeMultiple';
    return fail(pointer, `no side up to ${largest} that is a multiple of ${multiple} suits every layer: ${broken}`);
  }
  if (graph.openSize.minimum !== undefined && minimum !== first)
    return fail('/input/minSize', `${firstBroken(constraints, first, 'smallest')}; the smallest side this model takes is ${minimum}`);
  for (let side = minimum; side <= largest; side += multiple) {
    const broken = firstBroken(constraints, side, 'agree');
    if (broken) {
      const pointer = graph.openSize.multiple === undefined ? '/input' : '/input/sizeMultiple';
      return fail(pointer, `${broken}; ${agreeingMultipleAdvice(constraints, multiple, minimum, largest)}`);
    }
  }
  const ops = graph.ops.map((op) => (op.kind === 'input' ? { ...op, shape: [largest, largest, op.shape[2]] as const } : op));
  const at = diagnose(document, 'NS302', '/input', '');
  const sizes = { minimum, maximum: largest, multiple, sides, locations, constraints, at: { file: at.file, line: at.line, column: at.column } };
  return { graph: { ...graph, ops }, sizes, diagnostics: [] };
}

/** Each op's output side from its rule, or its inputs' common side; and what the sides must satisfy. */
function sideFormulas(graph: Graph): Pick<OpenSizes, 'sides' | 'locations' | 'constraints'> {
  const byName = new Map<string, SideFormula | null>();
  const constraints: Constraint[] = [];
  const locations: OpenSizes['locations'][number][] = [];
  const sides = graph.ops.map((op) => {
    const inputs = op.inputs.map((name) => {
      if (!byName.has(name)) throw new InternalError(`${op.name} reads ${name}, which is not defined before it`);
      return byName.get(name)!;
    });
    const maps = inputs.filter((side): side is SideFormula => side !== null);
    const definition = definitionOf(op);
    let side: SideFormula | null;
    if (definition.sides) {
      const rule = definition.sides(op as never, maps);
      if (rule.smallestInput > 1) constraints.push({ kind: 'smallest', op: op.name, side: maps[0]!, smallest: rule.smallestInput });
      side = rule.side;
      locations.push(rule.perInputPixel === undefined ? null : { perInputPixel: rule.perInputPixel, sides: maps });
    } else {
      if (maps.length > 1) constraints.push({ kind: 'agree', op: op.name, sides: maps });
      side = maps[0] ?? null;
      locations.push(null);
    }
    byName.set(op.name, side);
    return side;
  });
  return { sides, locations, constraints };
}

/** What the first constraint of `kind` broken at input side `n` is, in words, or null. */
function firstBroken(constraints: readonly Constraint[], n: number, kind: Constraint['kind']): string | null {
  for (const constraint of constraints) {
    if (constraint.kind !== kind) continue;
    if (constraint.kind === 'smallest') {
      const got = sideAt(constraint.side, n);
      if (got < constraint.smallest)
        return `at an input side of ${n}, ${constraint.op} would read a side of ${got}, and it takes at least ${constraint.smallest}`;
    } else {
      const got = constraint.sides.map((side) => sideAt(side, n));
      if (got.some((value) => value !== got[0]))
        return `at an input side of ${n}, the inputs of ${constraint.op} would have sides ${got.join(' and ')}, which cannot be joined`;
    }
  }
  return null;
}

/** A multiple of `multiple` at which every branch agrees, when one exists. */
function agreeingMultipleAdvice(constraints: readonly Constraint[], multiple: number, minimum: number, largest: number): string {
  for (let candidate = multiple * 2; candidate <= largest; candidate += multiple) {
    const start = Math.ceil(minimum / candidate) * candidate;
    let agrees = start <= largest;
    for (let side = start; agrees && side <= largest; side += candidate) agrees = firstBroken(constraints, side, 'agree') === null;
    if (agrees) return `input.sizeMultiple ${candidate} avoids it`;
  }
  return 'no multiple up to the largest side avoids it';
}

/** A diagnostic at the spec's input when the model cannot take a `height`×`width` input, else null. */
export function sizeDiagnostic(sizes: OpenSizes, height: number, width: number): Diagnostic | null {
  const problem = sizeProblem(sizes, height, width);
  return problem === null ? null : { ...sizes.at, severity: 'error', code: 'NS302', message: `${height}×${width}: ${problem}` };
}

/** Why the model cannot take a `height`×`width` input, or null when it can. */
export function sizeProblem(sizes: OpenSizes, height: number, width: number): string | null {
  for (const [what, n] of [
    ['height', height],
    ['width', width],
  ] as const) {
    const broken = firstBroken(sizes.constraints, n, 'smallest') ?? firstBroken(sizes.constraints, n, 'agree');
    if (broken) return `${broken.replace('an input side', `an input ${what}`)}`;
    if (n < sizes.minimum || n > sizes.maximum) return `the ${what} ${n} is outside the ${sizes.minimum} to ${sizes.maximum} this model takes`;
    if (n % sizes.multiple !== 0) return `the ${what} ${n} is not a multiple of ${sizes.multiple}, as this model's sides must be`;
  }
  return null;
}
