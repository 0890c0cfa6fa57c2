/** Learning-rate schedules as PyTorch defines them, as functions of the fraction of training done. */
export type Schedule = 'cosine' | 'onecycle' | 'constant';

/** In the order `netspec train` lists them in its help and usage errors. */
export const schedules: readonly Schedule[] = ['onecycle', 'cosine', 'constant'];

/** OneCycleLR's defaults: warm up over the first 30% from peak / 25, then anneal to peak / (25 · 10⁴). */
const ONE_CYCLE = { warmup: 0.3, startDivisor: 25, finalDivisor: 1e4 } as const;

/**
 * The learning rate after `step` of `total` optimiser steps. cosine: CosineAnnealingLR from `peak` to 0;
 * onecycle: OneCycleLR with cosine annealing (PyTorch's defaults); constant: `peak` throughout.
 */
export function learningRate(schedule: Schedule, peak: number, step: number, total: number): number {
  if (schedule === 'constant') return peak;
  if (schedule === 'cosine') return cosineBetween(peak, 0, step / Math.max(total, 1));
  const start = peak / ONE_CYCLE.startDivisor;
  const warmupSteps = ONE_CYCLE.warmup * total - 1;
  if (step <= warmupSteps) return cosineBetween(start, peak, step / warmupSteps);
  return cosineBetween(peak, start / ONE_CYCLE.finalDivisor, (step - warmupSteps) / (total - 1 - warmupSteps));
}

/** Moves from `from` to `to` along half a cosine as `fraction` goes from 0 to 1. */
function cosineBetween(from: number, to: number, fraction: number): number {
  const clamped = Math.min(Math.max(fraction, 0), 1);
  return to + ((from - to) * (1 + Math.cos(Math.PI * clamped))) / 2;
}
