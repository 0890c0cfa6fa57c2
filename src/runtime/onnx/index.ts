import { onnxRuntime } from './load.js';
import { checkedRunner, type OnnxOptions, type OnnxSession } from './types.js';

export { OnnxRuntimeMissingError, type OnnxOptions, type OnnxSession, type OnnxTensor, type TypedOutput } from './types.js';
export { decodeBatch, type DetectionConfig, type Detections } from '../tasks/detection.js';
export { checkOpenSize, type OpenSizes } from '../open-sizes.js';

/**
 * Opens an ONNX model with onnxruntime-node: the CUDA execution provider when the installed package has it,
 * else the CPU one, with one line saying which runs and why. `wasmPaths` is for the browser entry and ignored here.
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
 * every output by name, each expected one checked for its shape.
 */
export const runChecked = checkedRunner(async (data, dims) => new (await onnxRuntime()).Tensor('float32', data, dims));
