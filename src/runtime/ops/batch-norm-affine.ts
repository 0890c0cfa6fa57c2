/** BatchNorm at inference as a per-channel affine map: scale γ/√(σ²+ε) and shift β − μ·scale, in double precision. */
export function batchNormAffine(
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  epsilon: number,
): { scale: Float64Array; shift: Float64Array } {
  const scale = Float64Array.from({ length: gamma.length }, (_, c) => gamma[c]! / Math.sqrt(variance[c]! + epsilon));
  const shift = Float64Array.from({ length: gamma.length }, (_, c) => beta[c]! - mean[c]! * scale[c]!);
  return { scale, shift };
}
