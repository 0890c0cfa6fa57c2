import type * as Ort from 'onnxruntime-node';

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

/** A tensor as onnxruntime takes and returns it. */
export interface OnnxTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/**
 * The part of onnxruntime's InferenceSession that netspec uses, declared here so that projects without the optional
 * onnxruntime-node still type-check the generated `.onnx.ts` wrappers.
 */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OnnxTensor>): Promise<Record<string, OnnxTensor>>;
  release(): Promise<void>;
}

/** onnxruntime-node is an optional peer dependency: loaded on first use, with one line saying how to get it. */
async function onnxRuntime(): Promise<typeof Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('onnxruntime-node is not installed; run `npm install onnxruntime-node` in your project to run ONNX models');
  }
}

/**
 * Opens an ONNX model with onnxruntime-node: the CUDA execution provider when the installed package has it,
 * else the CPU one, with one line saying which runs and why.
 */
export async function createSession(model: string | Uint8Array, options: OnnxOptions = {}): Promise<OnnxSession> {
  const ort = await onnxRuntime();
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
export async function runChecked(session: OnnxSession, images: Float32Array, batch: number, imageShape: readonly number[]): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const perImage = imageShape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(batch) || batch < 1 || images.length !== batch * perImage) {
    throw new Error(`expected ${batch} image(s) of [${imageShape.join(', ')}] = ${batch * perImage} values, got ${images.length}`);
  }
  const ort = await onnxRuntime();
  const results = await session.run({ input: new ort.Tensor('float32', images, [batch, ...imageShape]) });
  return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, { data: tensor.data as Float32Array, dims: tensor.dims }]));
}
