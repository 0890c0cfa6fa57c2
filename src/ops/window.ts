import type { SideRule } from './op.js';
import { windowSide, type SideFormula } from './side-formula.js';

/** PyTorch's output size of a padded, strided, dilated window: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1. */
export function outputSize(size: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** PyTorch's ceil-mode size for an unpadded `stride`×`stride` pool: ⌈n / s⌉ (a partial last window is kept). */
export function ceilPooledSize(size: number, stride: number): number {
  return Math.ceil(size / stride);
}

/** The ImageNet stem's max-pool, as torchvision builds it. */
export const STEM_POOL = { size: 3, stride: 2, padding: 1 } as const;

/**
 * A window's side rule: PyTorch's window arithmetic on the side formula, taking what PyTorch takes, an input whose
 * padded side holds the dilated kernel. (A fixed-size spec is held to more: rule NS202 wants a side of at least
 * the stride. An open size takes what torchvision's models take, since it is their sizes it is compared with.)
 */
export function slidingWindow(input: SideFormula, kernel: number, stride: number, padding: number, dilation = 1): SideRule {
  return { side: windowSide(input, kernel, stride, padding, dilation), smallestInput: Math.max(dilation * (kernel - 1) + 1 - 2 * padding, 1) };
}
