// A classifier's outputs read without tfjs: the same arithmetic for tfjs' and onnxruntime's logits, plain
// Float32Array in, so that every engine's figures come out of one function.

/** One class of an image's ranking: its index and its softmax probability. */
export interface RankedClass {
  readonly index: number;
  readonly probability: number;
}

/** The `k` classes of highest probability (softmax of the logits, in float64), highest first, the lower index first on ties. */
export function topClasses(logits: ArrayLike<number>, k: number): RankedClass[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exponentials = Array.from(logits, (logit) => Math.exp(logit - max));
  const sum = exponentials.reduce((a, b) => a + b, 0);
  return exponentials
    .map((value, index) => ({ index, probability: value / sum }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k);
}

/** Each row's class of highest score, the first on ties, as argmax takes it: `scores` is [rows, classes], row-major. */
export function highestClass(scores: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(scores.length / classes);
  for (let row = 0; row < out.length; row++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[row * classes + k]! > scores[row * classes + best]!) best = k;
    out[row] = best;
  }
  return out;
}
