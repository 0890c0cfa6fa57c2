// What netspec/onnx's two entries share: the types the generated `.onnx.ts` wrappers name, and runChecked's input
// check and output mapping. index.ts runs on onnxruntime-node, browser.ts on onnxruntime-web; each supplies only
// the runtime's Tensor constructor, so a wrapper behaves the same on either. No Node builtin and no runtime here.

export interface OnnxOptions {
  /**
   * Threads for one inference. Node: onnxruntime's intra-op threads (default: onnxruntime's choice, every core).
   * Browser: wasm threads, honoured only on a cross-origin-isolated page (default: half of
   * navigator.hardwareConcurrency, at most 4, as onnxruntime-web itself picks).
   */
  readonly threads?: number;
  /** Where the one line naming the execution provider goes; defaults to standard error in Node, console.info in a page. */
  readonly log?: (line: string) => void;
  /**
   * Browser only (Node ignores it): where onnxruntime-web's ort-wasm-simd-threaded.jsep.wasm and
   * ort-wasm-simd-threaded.jsep.mjs are served (bundlers do not copy them), as a URL prefix ending in `/` (`'./'`:
   * beside the page) or one URL per file. Without it the .wasm is fetched beside the bundled script and the loader
   * bundled there is used, which on a cross-origin-isolated page starts each wasm thread's worker from the bundled
   * script itself, so that a page script runs again in every worker: set it.
   */
  readonly wasmPaths?: string | { readonly wasm?: string; readonly mjs?: string };
}

/** The optional onnxruntime package is not installed where netspec runs: the user's to fix, and one line says how. */
export class OnnxRuntimeMissingError extends Error {
  override readonly name = 'OnnxRuntimeMissingError';
}

/** A float32 tensor as onnxruntime returns it, with its dimensions typed by the generated module. */
export interface TypedOutput<Dims extends readonly number[]> {
  readonly data: Float32Array;
  readonly dims: Dims;
}

/** A tensor as onnxruntime takes and returns it. */
export interface OnnxTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/**
 * The part of onnxruntime's InferenceSession that netspec uses, declared here so that projects without the optional
 * onnxruntime-node or onnxruntime-web still type-check the generated `.onnx.ts` wrappers.
 */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OnnxTensor>): Promise<Record<string, OnnxTensor>>;
  release(): Promise<void>;
}

/** Every output of a run, by name, as Float32Array data and dimensions. */
export type CheckedOutputs = Record<string, { data: Float32Array; dims: readonly number[] }>;

/** One image's shape of each output a caller expects, by name (the generated wrapper's `outputShape(s)`). */
export type ExpectedOutputs = Readonly<Record<string, readonly number[]>>;

export type RunChecked = (
  session: OnnxSession,
  images: Float32Array,
  batch: number,
  imageShape: readonly number[],
  expected?: ExpectedOutputs,
) => Promise<CheckedOutputs>;

/**
 * A runtime's runChecked, given its float32 Tensor constructor (which may first have to load the runtime): checks
 * that `images` holds `batch` images of `imageShape` before a tensor is made, runs the session on the `input` feed,
 * and returns every output by name — each of `expected` checked to be there with `batch` of its shape, so that a
 * model file of another spec is refused rather than read as this one.
 */
export function checkedRunner(tensor: (data: Float32Array, dims: readonly number[]) => OnnxTensor | Promise<OnnxTensor>): RunChecked {
  return async (session, images, batch, imageShape, expected = {}) => {
    const perImage = imageShape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batch) || batch < 1 || images.length !== batch * perImage) {
      throw new Error(`expected ${batch} image(s) of [${imageShape.join(', ')}] = ${batch * perImage} values, got ${images.length}`);
    }
    const results = await session.run({ input: await tensor(images, [batch, ...imageShape]) });
    const outputs: CheckedOutputs = Object.fromEntries(
      Object.entries(results).map(([name, output]) => [name, { data: output.data as Float32Array, dims: output.dims }]),
    );
    for (const [name, shape] of Object.entries(expected)) {
      const want = [batch, ...shape];
      const got = Object.hasOwn(outputs, name) ? outputs[name]!.dims : undefined;
      if (got === undefined)
        throw new Error(`the ONNX model has no output "${name}" (it has ${Object.keys(outputs).join(', ')}): is it the export of another spec?`);
      if (got.length !== want.length || got.some((d, i) => d !== want[i]))
        throw new Error(`the ONNX model's output "${name}" is [${got.join(', ')}] where [${want.join(', ')}] is expected: is it the export of another spec?`);
    }
    return outputs;
  };
}
