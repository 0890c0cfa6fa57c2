// An activation's range from what calibration saw of it: the extremes (minmax) or a percentile of its magnitudes.

export type CalibrationMethod = 'minmax' | 'percentile';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile'];

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Bins of a magnitude histogram over [0, max |x|], as onnxruntime's histogram calibrators use. */
export const HISTOGRAM_BINS = 2048;
/** The share of magnitudes the percentile method keeps (onnxruntime's default). */
export const PERCENTILE = 99.999;

/** What calibration measured of one value: its extremes, and for the percentile method its magnitudes' histogram. */
export interface ValueStatistics {
  min: number;
  max: number;
  /** HISTOGRAM_BINS counts of |x| over [0, max(|min|, |max|)], when a method needs them. */
  histogram?: Float64Array;
}

/** A value's range by a method: a percentile of magnitudes clips the extremes, never widens them. */
export function rangeOf(statistics: ValueStatistics, method: CalibrationMethod): Range {
  const { min, max, histogram } = statistics;
  if (method === 'minmax') return { min, max };
  if (!histogram) throw new Error(`the ${method} method needs a histogram`);
  const width = Math.max(Math.abs(min), Math.abs(max)) / HISTOGRAM_BINS;
  const threshold = percentileBins(histogram, PERCENTILE) * width;
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
