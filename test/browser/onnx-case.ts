// What browser-onnx.test.ts and its page share: the deterministic input batch and the shape of the page's answer.

/** `batch` NCHW images of `imageShape`, value i being sin(i)·0.5: the same bytes in Node and in the page. */
export function onnxCaseImages(batch: number, imageShape: readonly number[]): Float32Array {
  const images = new Float32Array(batch * imageShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(i) * 0.5;
  return images;
}

export interface OnnxPageResult {
  /** The lines createSession logged. */
  readonly log: readonly string[];
  readonly crossOriginIsolated: boolean;
  /** The `output` tensor's values and dimensions. */
  readonly values: readonly number[];
  readonly dims: readonly number[];
  /** Mean time of one predict(images, batch) after the first and the warm-up runs. */
  readonly msPerBatch: number;
  /** The onnxruntime-web files (ort-wasm-*) the page fetched. */
  readonly wasmFiles: readonly string[];
}
