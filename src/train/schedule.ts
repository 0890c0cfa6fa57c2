/** Learning-rate schedules as PyTorch defines them, as functions of the fraction of training done. */
export type Schedule = 'cosine' | 'onecycle' | 'constant' | 'poly' | 'steps';

/** In the order `netspec train` lists them in its help and usage errors. */
export const schedules: readonly Schedule[] = ['onecycle', 'cosine', 'constant', 'poly', 'steps'];

/** torchvision's segmentation reference: the rate times (1 − done)^0.9, by step. */
const POLY_POWER = 0.9;
/**
 * torchvision's detection reference (26 epochs, ×0.1 after epochs 16 and 22, a linear warm-up from 1/1000 of the
 * rate over the first epoch, at most 1000 steps) as fractions of any run's steps.
 */
const STEPS = { epochs: 26, milestones: [16, 22], factor: 0.1, warmupFactor: 1e-3, maxWarmup: 1000 } as const;

/** OneCycleLR's defaults: warm up over the first 30% from peak / 25, then anneal to peak / (25 · 10⁴). */
const ONE_CYCLE = { warmup: 0.3, startDivisor: 25, finalDivisor: 1e4 } as const;

/**
 * The learning rate after `step` of `total` optimiser steps. cosine: CosineAnnealingLR from `peak` to 0;
 * onecycle: OneCycleLR with cosine annealing (PyTorch's defaults); constant: `peak` throughout.
 */
export function learningRate(schedule: Schedule, peak: number, step: number, total: number): number {
  if (schedule === 'constant') return peak;
  if (schedule === 'cosine') return cosineBetween(peak, 0, step / Math.max(total, 1));
  if (schedule === 'poly') return peak * Math.max(0, 1 - step / Math.max(total, 1)) ** POLY_POWER;
  if (schedule === 'steps') return stepsRate(peak, step, total);
  const start = peak / ONE_CYCLE.startDivisor;
  const warmupSteps = ONE_CYCLE.warmup * total - 1;
  if (step <= warmupSteps) return cosineBetween(start, peak, step / warmupSteps);
  return cosineBetween(peak, start / ONE_CYCLE.finalDivisor, (step - warmupSteps) / (total - 1 - warmupSteps));
}

/** The steps schedule: warm-up as torchvision's warmup_lr_scheduler (linear in the factor), then the milestones. */
function stepsRate(peak: number, step: number, total: number): number {
  const decays = STEPS.milestones.filter((epoch) => step >= Math.floor((total * epoch) / STEPS.epochs)).length;
  const warmup = Math.min(STEPS.maxWarmup, Math.floor(total / STEPS.epochs));
  const alpha = warmup > 0 ? Math.min(step / warmup, 1) : 1;
  return peak * STEPS.factor ** decays * (STEPS.warmupFactor * (1 - alpha) + alpha);
}

/** Moves from `from` to `to` along half a cosine as `fraction` goes from 0 to 1. */
function cosineBetween(from: number, to: number, fraction: number): number {
  const clamped = Math.min(Math.max(fraction, 0), 1);
  return to + ((from - to) * (1 + Math.cos(Math.PI * clamped))) / 2;
}
