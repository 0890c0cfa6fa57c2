// Loading onnxruntime-node, an optional peer dependency, in Node: one import, and one reading of why it failed.
import type * as Ort from 'onnxruntime-node';
import { OnnxRuntimeMissingError } from './types.js';

/** How onnxruntime-node, an optional peer dependency, fares when imported here. */
export type OnnxRuntimeStatus =
  | { readonly loads: true; readonly module: typeof Ort }
  /** `broken`: installed but not loadable (its native library missing, or built for another platform), in one line. */
  | { readonly loads: false; readonly broken?: string };

/** Imports onnxruntime-node, telling "not installed" apart from "installed but does not load". */
export async function onnxRuntimeStatus(): Promise<OnnxRuntimeStatus> {
  try {
    return { loads: true, module: await import('onnxruntime-node') };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const absent = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /'onnxruntime-node'/.test(message);
    return absent ? { loads: false } : { loads: false, broken: String(message).split('\n')[0] };
  }
}

/**
 * onnxruntime-node, loaded on first use, or one line saying how to get it. Its CPU library is inside the npm
 * package, and ONNXRUNTIME_NODE_INSTALL=skip keeps its installer from downloading more.
 */
export async function onnxRuntime(): Promise<typeof Ort> {
  const status = await onnxRuntimeStatus();
  if (status.loads) return status.module;
  const install = '`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`';
  throw new OnnxRuntimeMissingError(
    status.broken === undefined
      ? `onnxruntime-node is not installed; install it in your project with ${install} to run ONNX models`
      : `onnxruntime-node is installed but does not load (${status.broken}); reinstall it with ${install}`,
  );
}
