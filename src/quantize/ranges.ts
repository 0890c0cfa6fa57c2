// An activation's range from what calibration saw of it: the extremes (minmax), a percentile of its magnitudes,
// or the clipping threshold whose 8-bit histogram loses the least information (entropy, TensorRT's KL method).

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Bins of a magnitude histogram over [0, max |x|], as onnxruntime's histogram calibrators use. */
export const HISTOGRAM_BINS = 2048;
/** The share of magnitudes the percentile method keeps (onnxruntime's default). */
export const PERCENTILE = 99.999;
/** The fewest bins an entropy threshold keeps. */
const FIRST_CANDIDATE = 128;

/** What calibration measured of one value: its extremes, and for the histogram methods its magnitudes' histogram. */
export interface ValueStatistics {
  min: number;
  max: number;
  /** HISTOGRAM_BINS counts of |x| over [0, max(|min|, |max|)], when a method needs them. */
  histogram?: Float64Array;
}

/** A value's range by a method: a threshold on magnitudes clips the extremes, never widens them. */
export function rangeOf(statistics: ValueStatistics, method: CalibrationMethod): Range {
  const { min, max, histogram } = statistics;
  if (method === 'minmax') return { min, max };
  if (!histogram) throw new Error(`the ${method} method needs a histogram`);
  const width = Math.max(Math.abs(min), Math.abs(max)) / HISTOGRAM_BINS;
  const bins = method === 'percentile' ? percentileBins(histogram, PERCENTILE) : entropyBins(histogram, min >= 0 ? 256 : 128);
  const threshold = bins * width;
  return { min: Math.max(min, -threshold), max: Math.min(max, threshold) };
}

/** The fewest leading bins that hold `percentile` % of the counts. */
export function percentileBins(histogram: Float64Array, percentile: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  for (let bin = 0; bin < histogram.length; bin++) {
    cumulative += histogram[bin]!;
    if (cumulative >= (total * percentile) / 100) return bin + 1;
  }
  return histogram.length;
}

/**
 * TensorRT's entropy calibration, as NVIDIA's pytorch-quantization computes it: for each candidate threshold of
 * 128 bins or more, the distribution P of the bins below it (the clipped counts added to its last bin) against Q,
 * the same bins merged into `levels` quantisation levels and spread back evenly over each level's non-empty bins;
 * the threshold with the smallest KL(P ‖ Q) wins. The first bin takes its neighbour's count: it holds every exact
 * zero a ReLU wrote, a spike that would otherwise make any merging of it cost more than clipping half the range.
 * `levels` is 256 for a value that is never negative (the whole 8-bit range spans [0, t]) and 128 for one that is.
 */
export function entropyBins(histogram: Float64Array, levels: number): number {
  const counts = Float64Array.from(histogram);
  if (counts.length > 1) counts[0] = counts[1]!;
  let best = counts.length;
  let bestDivergence = Infinity;
  for (let bins = Math.min(FIRST_CANDIDATE, counts.length); bins <= counts.length; bins++) {
    const divergence = klDivergence(clippedDistribution(counts, bins), quantizedDistribution(counts, bins, Math.min(levels, bins)));
    if (divergence < bestDivergence) [best, bestDivergence] = [bins, divergence];
  }
  return best;
}

function clippedDistribution(histogram: Float64Array, bins: number): Float64Array {
  const p = histogram.slice(0, bins);
  for (let i = bins; i < histogram.length; i++) p[bins - 1] = p[bins - 1]! + histogram[i]!;
  return p;
}

/** The first `bins` bins merged into `levels` groups (the last takes the remainder), each group's count spread over its non-empty bins. */
function quantizedDistribution(histogram: Float64Array, bins: number, levels: number): Float64Array {
  const q = new Float64Array(bins);
  const merged = Math.floor(bins / levels);
  for (let level = 0; level < levels; level++) {
    const start = level * merged;
    const stop = level === levels - 1 ? bins : start + merged;
    let sum = 0;
    let nonEmpty = 0;
    for (let i = start; i < stop; i++) {
      sum += histogram[i]!;
      if (histogram[i]! > 0) nonEmpty++;
    }
    for (let i = start; i < stop; i++) if (histogram[i]! > 0) q[i] = sum / nonEmpty;
  }
  return q;
}

/**
 * KL(P ‖ Q) of two count vectors, each normalised. Q is zero only where P's last bin gained clipped counts that
 * its own bin did not have; such bins get a small share (onnxruntime's smoothing) rather than an infinite cost.
 */
export function klDivergence(p: Float64Array, q: Float64Array): number {
  const [pTotal, qTotal] = [p.reduce((a, b) => a + b, 0), q.reduce((a, b) => a + b, 0)];
  if (pTotal === 0 || qTotal === 0) return Infinity;
  const EPSILON = 1e-4;
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    const pi = p[i]! / pTotal;
    const qi = q[i]! === 0 ? EPSILON : q[i]! / qTotal;
    divergence += pi * Math.log(pi / qi);
  }
  return divergence;
}
