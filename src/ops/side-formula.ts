/**
 * A feature map's side as an exact function of the input's side n. Every window PyTorch slides (convolution, pool,
 * in floor or ceil mode) maps a side x to ⌊(x + c) / s⌋ + e, and since ⌊⌊m / d⌋ / s⌋ = ⌊m / (d·s)⌋ for positive d
 * and s, a chain of them stays one floor: ⌊(n + offset) / divisor⌋ + base. A global pool makes a constant side.
 * `offset` is kept in [0, divisor), which makes the form unique: two formulas are equal exactly when their fields are.
 */
export type SideFormula =
  | { readonly kind: 'floor'; readonly offset: number; readonly divisor: number; readonly base: number }
  | { readonly kind: 'constant'; readonly value: number };

function floorFormula(offset: number, divisor: number, base: number): SideFormula {
  const carried = Math.floor(offset / divisor);
  return { kind: 'floor', offset: offset - carried * divisor, divisor, base: base + carried };
}

/** The input's own side. */
export const INPUT_SIDE: SideFormula = floorFormula(0, 1, 0);

export const constantSide = (value: number): SideFormula => ({ kind: 'constant', value });

/** ⌊(x + shift) / stride⌋ + plus of the side x that `side` gives. */
function shiftDivide(side: SideFormula, shift: number, stride: number, plus: number): SideFormula {
  if (side.kind === 'constant') return constantSide(Math.floor((side.value + shift) / stride) + plus);
  // ⌊(⌊(n + a)/d⌋ + b + shift)/s⌋ = ⌊⌊(n + a + (b + shift)·d)/d⌋/s⌋ = ⌊(n + a + (b + shift)·d)/(d·s)⌋
  return floorFormula(side.offset + (side.base + shift) * side.divisor, side.divisor * stride, plus);
}

/** PyTorch's padded, strided, dilated window: ⌊(x + 2p − d(k − 1) − 1) / s⌋ + 1. */
export function windowSide(side: SideFormula, kernel: number, stride: number, padding: number, dilation: number): SideFormula {
  return shiftDivide(side, 2 * padding - dilation * (kernel - 1) - 1, stride, 1);
}

/** A ceil-mode unpadded pool: ⌈x / s⌉ = ⌊(x + s − 1) / s⌋. */
export function ceilSide(side: SideFormula, stride: number): SideFormula {
  return shiftDivide(side, stride - 1, stride, 0);
}

/** The side for an input side of `n`. */
export function sideAt(side: SideFormula, n: number): number {
  return side.kind === 'constant' ? side.value : Math.floor((n + side.offset) / side.divisor) + side.base;
}

export function sameSide(a: SideFormula, b: SideFormula): boolean {
  if (a.kind === 'constant' || b.kind === 'constant') return a.kind === b.kind && sideAt(a, 0) === sideAt(b, 0);
  return a.offset === b.offset && a.divisor === b.divisor && a.base === b.base;
}

/** How much the input's side is divided by to give this one: 1 for the input, 32 at a ResNet's last stage. */
export const sideStride = (side: SideFormula): number => (side.kind === 'constant' ? 1 : side.divisor);

/** The formula in the input's symbol `n`: `H`, `⌈H/4⌉`, `⌊H/8⌋`, `⌊(H + 3)/8⌋ + 1`. */
export function formatSide(side: SideFormula, n: string): string {
  if (side.kind === 'constant') return String(side.value);
  const { offset, divisor, base } = side;
  const plus = base === 0 ? '' : base > 0 ? ` + ${base}` : ` − ${-base}`;
  if (divisor === 1) return `${n}${plus}`;
  if (offset === 0) return `⌊${n}/${divisor}⌋${plus}`;
  if (offset === divisor - 1) return `⌈${n}/${divisor}⌉${plus}`;
  return `⌊(${n} + ${offset})/${divisor}⌋${plus}`;
}

/** The same formula as a TypeScript or Python expression of the variable `n` (integer division by Math.floor or //). */
export function sideExpression(side: SideFormula, n: string, language: 'typescript' | 'python'): string {
  if (side.kind === 'constant') return String(side.value);
  const { offset, divisor, base } = side;
  const plus = base === 0 ? '' : base > 0 ? ` + ${base}` : ` - ${-base}`;
  if (divisor === 1) return `${n}${plus}`;
  const numerator = offset === 0 ? n : `(${n} + ${offset})`;
  const divided = language === 'python' ? `${numerator} // ${divisor}` : `Math.floor(${numerator} / ${divisor})`;
  return `${divided}${plus}`;
}
