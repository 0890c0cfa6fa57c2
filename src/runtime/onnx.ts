import * as ort from 'onnxruntime-node';

export interface OnnxOptions {
  /** Threads for one inference (onnxruntime's intra-op threads); default: onnxruntime's choice, every core. */
  readonly threads?: number;
  /** Where the one line naming the execution provider goes; defaults to standard error. */
  readonly log?: (line: string) => void;
}

/** A float32 tensor as onnxruntime returns it, with its dimensions typed by the generated module. */
export interface TypedOutput<Dims extends readonly number[]> {
  readonly data: Float32Array;
  readonly dims: Dims;
}

/**
 * Opens an ONNX model with onnxruntime-node: the CUDA execution provider when the installed package has it,
 * else the CPU one, with one line saying which runs and why.
 */
export async function createSession(model: string | Uint8Array, options: OnnxOptions = {}): Promise<ort.InferenceSession> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cuda = ort.listSupportedBackends().find((backend) => backend.name === 'cuda');
  const threads = options.threads === undefined ? {} : { intraOpNumThreads: options.threads, interOpNumThreads: 1 };
  const open = (executionProviders: string[]) =>
    typeof model === 'string'
      ? ort.InferenceSession.create(model, { executionProviders, graphOptimizationLevel: 'all', ...threads })
      : ort.InferenceSession.create(model, { executionProviders, graphOptimizationLevel: 'all', ...threads });
  let why = 'this onnxruntime-node has no CUDA execution provider';
  if (cuda?.bundled) {
    try {
      const session = await open(['cuda', 'cpu']);
      log('netspec: onnxruntime execution provider cuda');
      return session;
    } catch (error) {
      why = `CUDA failed to start: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  const session = await open(['cpu']);
  log(`netspec: onnxruntime execution provider cpu (${why})`);
  return session;
}

/**
 * Runs a session on a batch of NCHW images after checking their size against one image's shape, and returns
 * every output by name.
 */
export async function runChecked(session: ort.InferenceSession, images: Float32Array, batch: number, imageShape: readonly number[]): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const perImage = imageShape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(batch) || batch < 1 || images.length !== batch * perImage) {
    throw new Error(`expected ${batch} image(s) of [${imageShape.join(', ')}] = ${batch * perImage} values, got ${images.length}`);
  }
  const results = await session.run({ input: new ort.Tensor('float32', images, [batch, ...imageShape]) });
  return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, { data: tensor.data as Float32Array, dims: tensor.dims }]));
}
