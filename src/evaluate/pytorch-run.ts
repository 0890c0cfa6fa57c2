// The generated PyTorch module run on netspec's images, for `netspec verify`: the module, its state dict as a .pth
// and the images go to a temporary folder, python/netspec_verify.py runs them, and the outputs and every named
// module's output come back channels last, as the tfjs model gives them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { FloatTensor } from '../weights/safetensors.js';
import { writeTorchFile } from '../weights/torch-save.js';
import { type BatchOutput, toChannelsFirst, toChannelsLast } from './runner.js';

const VERIFY_SCRIPT = fileURLToPath(new URL('../../python/netspec_verify.py', import.meta.url));

/** The Python that runs the PyTorch target: NETSPEC_PYTHON, else python3 on the PATH. */
const pythonCommand = () => process.env.NETSPEC_PYTHON ?? 'python3';

/** Why the PyTorch target cannot run here, or undefined when the Python given imports torch. */
export function pytorchUnavailable(python = pythonCommand()): string | undefined {
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error)
    return `${python} cannot be run (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message}); set NETSPEC_PYTHON to a Python with PyTorch`;
  return probe.status === 0 ? undefined : `${python} cannot import torch; set NETSPEC_PYTHON to a Python with PyTorch`;
}

export interface PytorchRun {
  /** The model's outputs by name, channels last. */
  readonly outputs: ReadonlyMap<string, BatchOutput>;
  /** Each named module's first output, channels last, by its name (the tfjs layer of the same name). */
  readonly layers: ReadonlyMap<string, BatchOutput>;
}

/** Runs `module` (the emitted PyTorch source) with `stateDict` on `count` images given channels last. */
export function runPytorch(graph: AnalyzedGraph, module: string, stateDict: ReadonlyMap<string, FloatTensor>, images: Float32Array, count: number): PytorchRun {
  const [height, width, channels] = graph.inputShape as [number, number, number];
  const folder = mkdtempSync(join(tmpdir(), 'netspec-verify-'));
  try {
    const files = { module: join(folder, 'model.py'), state: join(folder, 'state.pth'), input: join(folder, 'input.bin'), result: join(folder, 'result.bin') };
    writeFileSync(files.module, module);
    writeFileSync(files.state, writeTorchFile('state.pth', stateDict));
    writeFileSync(files.input, toChannelsFirst(images, count, height, width, channels));
    const names = JSON.stringify(graph.outputs.map((output) => output.name));
    const args = [VERIFY_SCRIPT, files.module, files.state, files.input, ...[count, channels, height, width].map(String), names, files.result];
    const run = spawnSync(pythonCommand(), args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (run.status !== 0)
      throw new UserError(`the PyTorch module of ${graph.name} did not run: ${(run.stderr || run.error?.message || '').trim().split('\n').at(-1)}`);
    return readResult(JSON.parse(run.stdout) as ResultEntry[], readFileSync(files.result));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

interface ResultEntry {
  readonly kind: 'output' | 'layer';
  readonly name: string;
  readonly shape: number[];
  readonly offset: number;
}

function readResult(index: readonly ResultEntry[], bytes: Uint8Array): PytorchRun {
  const outputs = new Map<string, BatchOutput>();
  const layers = new Map<string, BatchOutput>();
  for (const entry of index) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    // A copy of the range: a Buffer's slice is a view of a larger pool.
    const data = new Float32Array(Uint8Array.prototype.slice.call(bytes, entry.offset, entry.offset + 4 * count).buffer);
    (entry.kind === 'output' ? outputs : layers).set(entry.name, toChannelsLast({ data, dims: entry.shape }));
  }
  return { outputs, layers };
}
