// What netspec's browser modules read of the page, declared here so that Node builds need no DOM library, and the
// one question both of them ask before trying WebGPU.

/** The page's globals that backend choice reads; each may be missing (a worker, an old browser, Node). */
export const page = globalThis as {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number; gpu?: { requestAdapter(): Promise<unknown> } };
  OffscreenCanvas?: new (width: number, height: number) => { getContext(kind: 'webgl2' | 'webgl'): WebGlContext | null };
};

/** The little of a WebGL context read here: the renderer's name, where the browser discloses it. */
interface WebGlContext {
  getExtension(name: 'WEBGL_debug_renderer_info'): { UNMASKED_RENDERER_WEBGL: number } | null;
  getParameter(name: number): unknown;
}

/** Software rasterisers that browsers fall back to without a GPU: WebGL there is far slower than wasm. */
const SOFTWARE_RENDERERS = /SwiftShader|llvmpipe|softpipe|Software Rasterizer|Microsoft Basic Render/i;

/**
 * Why WebGL should not be chosen by default here, or undefined: it is rendered in software (headless Chromium and
 * machines without a GPU use SwiftShader), where ResNets run tens of times slower than on wasm.
 */
export function softwareWebgl(): string | undefined {
  if (page.OffscreenCanvas === undefined) return undefined;
  const context = new page.OffscreenCanvas(1, 1).getContext('webgl2') ?? new page.OffscreenCanvas(1, 1).getContext('webgl');
  const info = context?.getExtension('WEBGL_debug_renderer_info');
  const renderer = info && context ? String(context.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
  const software = SOFTWARE_RENDERERS.exec(renderer)?.[0];
  return software === undefined
    ? undefined
    : `WebGL is rendered in software here (${software}), far slower than wasm; ask for backend 'webgl' to use it anyway`;
}

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
