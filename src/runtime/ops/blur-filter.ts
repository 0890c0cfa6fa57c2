// timm's BlurPool2d filter, free of TensorFlow.js so that the compiler's ONNX form and the runtime share it.

/** The binomial taps of timm's default 3-tap filter, (½ + ½z)²; the 2-D filter is their outer product. */
export const BLUR_TAPS = [0.25, 0.5, 0.25] as const;

/** The reflect padding on every side that timm's get_padding(3, stride) gives: ⌊(stride − 1 + 2) / 2⌋. */
export const blurPadding = (stride: number): number => (stride - 1 + BLUR_TAPS.length - 1) >> 1;

/** The 3×3 filter's nine values, row by row. */
export const blurFilterValues = (): number[] => BLUR_TAPS.flatMap((a) => BLUR_TAPS.map((b) => a * b));
