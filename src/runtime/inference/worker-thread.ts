import { Worker } from 'node:worker_threads';

/**
 * A worker thread running `script`: a compiled .js script as it is, or, when the caller runs from source, the .ts
 * script, so that an edit needs no rebuild. Node 20 does not apply the parent's --import (tsx's loader) to a worker,
 * so a .ts script is started by a bootstrap that registers tsx before importing it.
 */
export function startWorker(script: URL, workerData: unknown): Worker {
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(script.href)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** The worker script `name` beside the calling module, in the caller's own form: .ts from source, .js from dist/. */
export function workerScript(name: string, callerUrl: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}
