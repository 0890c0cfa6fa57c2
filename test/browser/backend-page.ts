// The page script of browser-backend.test.ts: the backend choice a page gets by default, with tfjs' WebGPU backend
// imported (registered) as a page that wants it would, and what initBackend said about each backend it tried.
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs';
import * as runtime from 'netspec/runtime';

export interface BackendPageResult {
  readonly backend: string;
  readonly log: readonly string[];
  readonly hasWebGpu: boolean;
}

async function run(): Promise<BackendPageResult> {
  const log: string[] = [];
  await runtime.initBackend({ wasmPaths: './', log: (line) => log.push(line) });
  return { backend: tf.getBackend(), log, hasWebGpu: 'gpu' in (globalThis as { navigator?: object }).navigator! };
}

(globalThis as { __result?: Promise<BackendPageResult> }).__result = run();
