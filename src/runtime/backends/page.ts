// What netspec's browser modules read of the page, declared here so that Node builds need no DOM library, and the
// one question both of them ask before trying WebGPU.

/** The page's globals that backend choice reads; each may be missing (a worker, an old browser, Node). */
export const page = globalThis as {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number; gpu?: { requestAdapter(): Promise<unknown> } };
};

/** Why WebGPU cannot run here, or undefined when the browser gives an adapter. */
export async function webgpuUnavailable(): Promise<string | undefined> {
  const gpu = page.navigator?.gpu;
  if (gpu === undefined) return 'this browser has no WebGPU';
  try {
    return (await gpu.requestAdapter()) ? undefined : 'the browser has no WebGPU adapter (no GPU, or WebGPU is switched off)';
  } catch (error) {
    return `requesting a WebGPU adapter failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`;
  }
}
