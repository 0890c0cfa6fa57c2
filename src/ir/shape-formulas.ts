import { InternalError } from '../errors/internal-error.js';
import { definitionOf } from '../ops/index.js';
import { formatSide, sameSide, sideAt, sideExpression, type SideFormula } from '../ops/side-formula.js';
import type { AnalyzedGraph } from './analyze.js';
import type { OpenSizes } from './sizes.js';

/**
 * One dimension of an open-size layer's output: fixed (channels, features), a side formula of the input's height
 * or width, or RetinaNet's anchors over its levels, perInputPixel · Σ height(H)·width(W) of each level's side.
 */
export type DimFormula =
  | { readonly kind: 'fixed'; readonly value: number }
  | { readonly kind: 'height' | 'width'; readonly side: SideFormula }
  | { readonly kind: 'locations'; readonly perInputPixel: number; readonly sides: readonly SideFormula[] };

/** Multiply-accumulates per image: fixed, plus Σ coefficient · side(H) · side(W) over the feature-map sizes met. */
export interface MacsFormula {
  readonly fixed: number;
  readonly perPixel: readonly { readonly side: SideFormula; readonly coefficient: number }[];
}

const sizesOf = (graph: AnalyzedGraph): OpenSizes => {
  if (!graph.sizes) throw new InternalError(`${graph.name} has a fixed input size`);
  return graph.sizes;
};

/** Layer `index`'s output shape as formulas of the input's height and width. */
export function shapeFormula(graph: AnalyzedGraph, index: number): DimFormula[] {
  const sizes = sizesOf(graph);
  const side = sizes.sides[index];
  const shape = graph.layers[index]!.outputShape;
  const locations = sizes.locations[index];
  if (side)
    return [
      { kind: 'height', side },
      { kind: 'width', side },
      { kind: 'fixed', value: shape[2]! },
    ];
  if (locations) return [{ kind: 'locations', ...locations }, ...shape.slice(1).map((value) => ({ kind: 'fixed' as const, value }))];
  return shape.map((value) => ({ kind: 'fixed', value }));
}

/** The dimension for a `height`×`width` input. */
export function dimAt(dim: DimFormula, height: number, width: number): number {
  switch (dim.kind) {
    case 'fixed':
      return dim.value;
    case 'height':
      return sideAt(dim.side, height);
    case 'width':
      return sideAt(dim.side, width);
    case 'locations':
      return dim.perInputPixel * dim.sides.reduce((sum, side) => sum + sideAt(side, height) * sideAt(side, width), 0);
  }
}

/** A side's area, side(H)·side(W), as a TypeScript or Python expression of `height` and `width`. */
export function areaExpression(side: SideFormula, language: 'typescript' | 'python'): string {
  return `(${sideExpression(side, 'height', language)}) * (${sideExpression(side, 'width', language)})`;
}

/** A dimension as a TypeScript or Python expression of `height` and `width`. */
export function dimExpression(dim: DimFormula, language: 'typescript' | 'python'): string {
  switch (dim.kind) {
    case 'fixed':
      return String(dim.value);
    case 'height':
    case 'width':
      return sideExpression(dim.side, dim.kind, language);
    case 'locations':
      return `${dim.perInputPixel} * (${dim.sides.map((side) => areaExpression(side, language)).join(' + ')})`;
  }
}

/** ONNX and PyTorch order a feature map's dimensions [channels, height, width]; anything else stays as it is. */
export const channelsFirst = <T>(dims: readonly T[]): T[] => (dims.length === 3 ? [dims[2]!, dims[0]!, dims[1]!] : [...dims]);

/** `⌈H/4⌉×⌈W/4⌉×64`, `1000`, `9·(⌈H/8⌉·⌈W/8⌉ + ⌈H/16⌉·⌈W/16⌉)×91`. */
export function shapeFormulaText(dims: readonly DimFormula[]): string {
  return dims
    .map((dim) => {
      if (dim.kind === 'fixed') return String(dim.value);
      if (dim.kind !== 'locations') return formatSide(dim.side, dim.kind === 'height' ? 'H' : 'W');
      return `${dim.perInputPixel}·(${dim.sides.map(areaText).join(' + ')})`;
    })
    .join('×');
}

const areaText = (side: SideFormula) => `${formatSide(side, 'H')}·${formatSide(side, 'W')}`;

/** One layer's multiply-accumulates: fixed, or a count per pixel of the maps it grows with. */
export type LayerMacs = { readonly fixed: number } | { readonly coefficient: number; readonly sides: readonly SideFormula[] };

/**
 * Each layer's multiply-accumulates as a formula: a layer whose count grows with pixels has it per pixel (exact:
 * its count at the analysed size over that size's pixels) times the area of its output, or of its inputs together.
 */
export function layerMacs(graph: AnalyzedGraph): LayerMacs[] {
  const sizes = sizesOf(graph);
  const [height, width] = graph.inputShape as [number, number];
  const byName = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  return graph.layers.map((layer, i) => {
    const grows = definitionOf(layer.op).macsGrowWith;
    if (!grows || layer.macs === 0) return { fixed: layer.macs };
    const sides = grows === 'outputPixels' ? [sizes.sides[i]!] : layer.op.inputs.map((name) => sizes.sides[byName.get(name)!]!);
    const pixels = sides.reduce((sum, side) => sum + sideAt(side, height) * sideAt(side, width), 0);
    const coefficient = layer.macs / pixels;
    if (!Number.isInteger(coefficient)) throw new InternalError(`${layer.op.name}'s ${layer.macs} MACs are not a whole number per pixel of ${pixels}`);
    return { coefficient, sides };
  });
}

/** The model's multiply-accumulates as a formula: the layers' terms, those on maps of one size gathered. */
export function macsFormula(graph: AnalyzedGraph): MacsFormula {
  let fixed = 0;
  const perPixel: { side: SideFormula; coefficient: number }[] = [];
  for (const macs of layerMacs(graph)) {
    if ('fixed' in macs) {
      fixed += macs.fixed;
      continue;
    }
    for (const side of macs.sides) {
      const same = perPixel.find((term) => sameSide(term.side, side));
      if (same) same.coefficient += macs.coefficient;
      else perPixel.push({ side, coefficient: macs.coefficient });
    }
  }
  return { fixed, perPixel };
}

/** `9,408·⌈H/2⌉·⌈W/2⌉`, `2,359,296·(⌈H/8⌉·⌈W/8⌉ + ⌈H/16⌉·⌈W/16⌉)`, `513,000`. */
export function layerMacsText(macs: LayerMacs): string {
  if ('fixed' in macs) return count(macs.fixed);
  const areas = macs.sides.map(areaText);
  return `${count(macs.coefficient)}·${areas.length === 1 ? areas[0] : `(${areas.join(' + ')})`}`;
}

const count = (value: number) => value.toLocaleString('en-US');

export function macsAt(formula: MacsFormula, height: number, width: number): number {
  return formula.perPixel.reduce((sum, { side, coefficient }) => sum + coefficient * sideAt(side, height) * sideAt(side, width), formula.fixed);
}

/** `118,013,952·⌈H/2⌉·⌈W/2⌉ + … + 513,000`. */
export function macsFormulaText(formula: MacsFormula): string {
  const terms = formula.perPixel.map(({ side, coefficient }) => `${count(coefficient)}·${areaText(side)}`);
  return [...terms, ...(formula.fixed > 0 || terms.length === 0 ? [count(formula.fixed)] : [])].join(' + ');
}
