/**
 * The sum numpy computes for a contiguous float64 array (`np.sum`, and so `np.mean`): pairwise summation within
 * blocks of its 8,192-element buffer, the blocks added in order. Reference figures are means of up to ~10⁵
 * precision values, where another order of additions changes the last bits.
 */
const BUFFER = 8192;
const PAIRWISE_BLOCK = 128;

export function numpySum(values: ArrayLike<number>): number {
  let total = 0;
  for (let start = 0; start < values.length; start += BUFFER) total += pairwiseSum(values, start, Math.min(BUFFER, values.length - start));
  return total;
}

/** numpy's `pairwise_sum`: eight running sums below 128 elements, halves (cut at a multiple of 8) above. */
function pairwiseSum(values: ArrayLike<number>, start: number, count: number): number {
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += values[start + i]!;
    return sum;
  }
  if (count <= PAIRWISE_BLOCK) {
    const r = Array.from({ length: 8 }, (_, j) => values[start + j]!);
    let i = 8;
    for (; i < count - (count % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += values[start + i + j]!;
    let sum = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < count; i++) sum += values[start + i]!;
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, count - half);
}

/** `np.mean(values)`: the sum above over the count; NaN for an empty array as numpy gives. */
export function numpyMean(values: ArrayLike<number>): number {
  return numpySum(values) / values.length;
}
