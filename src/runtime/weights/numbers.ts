// The one check of untrusted numbers for every loader: weights from a folder, a checkpoint or an import, input
// normalisations from a manifest, a checkpoint or a training run. A NaN or an infinity read from a file does not
// fail loudly later; it turns every result it touches into NaN, so it is refused where it is read, by name. So is a
// negative BatchNorm variance: PyTorch and onnxruntime take the root of variance + ε and give NaN, where tfjs' kernel
// gave finite numbers, so the engines would part without a word.

/** Whether the 8 values from `start` are finite: x·0 is 0 for finite x and NaN for NaN and ±Inf, and a sum keeps a NaN. */
const eightFinite = (data: Float32Array, start: number) =>
  data[start]! * 0 +
    data[start + 1]! * 0 +
    data[start + 2]! * 0 +
    data[start + 3]! * 0 +
    data[start + 4]! * 0 +
    data[start + 5]! * 0 +
    data[start + 6]! * 0 +
    data[start + 7]! * 0 ===
  0;

/** A BatchNorm running variance, by its tfjs and its PyTorch name. */
const VARIANCE_NAME = /(\/moving_variance|\.running_var)$/;

/** Why a weight is unusable (NaN or ±Inf anywhere, or a negative BatchNorm variance), or undefined. */
export function weightProblem(name: string, data: Float32Array): string | undefined {
  return nonFiniteProblem(name, data) ?? (VARIANCE_NAME.test(name) ? negativeProblem(name, data) : undefined);
}

function negativeProblem(name: string, data: Float32Array): string | undefined {
  const first = data.findIndex((value) => value < 0);
  if (first < 0) return undefined;
  const count = data.reduce((n, value) => n + Number(value < 0), 0);
  return `${name} holds ${count} negative variance${count === 1 ? '' : 's'} (${count === 1 ? '' : 'first '}${data[first]} at index ${first}); a BatchNorm variance cannot be below 0`;
}

/** Why a tensor is unusable because it holds NaN or ±Inf, or undefined when every value is finite. */
function nonFiniteProblem(name: string, data: Float32Array): string | undefined {
  let nan = 0;
  let positive = 0;
  let negative = 0;
  let first = -1;
  const length = data.length;
  // Testing 8 values at a time halves the time of testing each (resnet50 has 25 million); only a block that
  // is not all finite, or the last few values, is looked at value by value.
  for (let start = 0; start < length; start += 8) {
    if (start + 8 <= length && eightFinite(data, start)) continue;
    for (let i = start; i < Math.min(start + 8, length); i++) {
      const value = data[i]!;
      if (value * 0 === 0) continue;
      if (first < 0) first = i;
      if (value === Infinity) positive++;
      else if (value === -Infinity) negative++;
      else nan++;
    }
  }
  if (first < 0) return undefined;
  const counts = Object.entries({ NaN: nan, '+Inf': positive, '-Inf': negative })
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind}`);
  const total = nan + positive + negative;
  const listed = counts.length > 1 ? `${counts.slice(0, -1).join(', ')} and ${counts.at(-1)}` : counts[0];
  return `${name} holds ${listed} value${total === 1 ? '' : 's'} (${total === 1 ? '' : 'first '}at index ${first})`;
}

/**
 * The smallest standard deviation a normalisation may divide by: float32's smallest normal number, 2^-126. Below it
 * the deviation is denormal (or 0 once stored as float32), and 1 / std, the input scale of a model or of an int8
 * export, overflows float32 to Infinity. Real pixel data never comes near: one pixel of 1/255 among 10^9 still
 * has a deviation of about 10^-7.
 */
export const MIN_DEVIATION = 2 ** -126;

/**
 * Why a per-channel normalisation (pixels scaled to [0, 1], as torchvision's Normalize takes them) is unusable, or
 * undefined: the lists must be of `channels` entries (of equal length when not given), every mean finite, every

 * deviation finite and at least MIN_DEVIATION; a crop fraction, where given, in (0, 1] and a filter bilinear or bicubic. torchvision's Normalize refuses a deviation of 0 for the same reason.
 */
export function normalizationProblem(value: unknown, channels?: number): string | undefined {
  const { mean, std, cropFraction, interpolation } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const isList = (list: unknown): list is unknown[] => Array.isArray(list) && list.length > 0;
  if (!isList(mean) || !isList(std)) return 'it is not { mean, std } with a list of numbers for each';
  if (mean.length !== std.length) return `it has ${mean.length} means but ${std.length} deviations`;
  if (channels !== undefined && mean.length !== channels) return `it normalises ${mean.length} channels where the model takes ${channels}`;
  const badMean = mean.findIndex((m) => typeof m !== 'number' || !Number.isFinite(m));
  if (badMean >= 0) return `the mean of channel ${badMean} is ${shown(mean[badMean])}, not a finite number`;
  const badStd = std.findIndex((s) => typeof s !== 'number' || !Number.isFinite(s) || s < MIN_DEVIATION);
  if (badStd >= 0) {
    const s = std[badStd];
    const why =
      typeof s !== 'number' || !Number.isFinite(s)
        ? 'not a finite number'
        : s <= 0
          ? 'not positive'
          : `below ${MIN_DEVIATION} (2^-126), so 1 / std overflows float32`;
    return `the standard deviation of channel ${badStd} is ${shown(s)}, ${why}`;
  }
  if (cropFraction !== undefined && !(typeof cropFraction === 'number' && cropFraction > 0 && cropFraction <= 1))
    return `the crop fraction is ${shown(cropFraction)}, not a number above 0 and at most 1`;
  if (interpolation !== undefined && interpolation !== 'bilinear' && interpolation !== 'bicubic')
    return `the resize filter is ${shown(interpolation)}, not "bilinear" or "bicubic"`;
  return undefined;
}

/** A value as JSON shows it (a string quoted), or in words where JSON has none (NaN, Infinity). */
const shown = (value: unknown) => (typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)));
