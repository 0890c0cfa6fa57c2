// What every model's page shares: its elements, its state (data-state on the body: ready, busy, done, error), its
// errors, opened images and the compiled summary.
import { pageImagePixels, type Pixels } from 'netspec/runtime';
import type { CompiledModule } from './model.ts';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
}

export const ui = {
  title: element<HTMLElement>('title'),
  modelSelect: element<HTMLSelectElement>('model'),
  fileInput: element<HTMLInputElement>('file'),
  openWhat: element<HTMLElement>('open-what'),
  dropWhat: element<HTMLElement>('drop-what'),
  drop: element<HTMLElement>('drop'),
  preview: element<HTMLCanvasElement>('preview'),
  classification: element<HTMLElement>('classification'),
  top5: element<HTMLOListElement>('top5'),
  segmentation: element<HTMLElement>('segmentation'),
  sizePolicy: element<HTMLElement>('size-policy'),
  masks: element<HTMLElement>('masks'),
  backendLine: element<HTMLElement>('backend'),
  timeLine: element<HTMLElement>('time'),
  summary: element<HTMLTableElement>('summary'),
  errorBox: element<HTMLElement>('error'),
  status: element<HTMLElement>('status'),
};

export type PageState = 'ready' | 'busy' | 'done' | 'error';

export function setState(state: PageState): void {
  document.body.dataset.state = state;
}

export function showError(error: unknown): void {
  ui.errorBox.textContent = error instanceof Error ? error.message : String(error);
  ui.errorBox.hidden = false;
  setState('error');
}

export function clearError(): void {
  ui.errorBox.textContent = '';
  ui.errorBox.hidden = true;
}

export const count = (n: number) => n.toLocaleString('en');

/** A file as the browser shows it; a file that is no image is an error naming it. */
export function openImage(file: Blob): Promise<ImageBitmap> {
  // colorSpaceConversion 'none': the file's own pixel values, as Node's decoders and PIL read them.
  return createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' }).catch((error: unknown) => {
    throw new Error(`cannot read ${file instanceof File ? file.name : 'the image'}: ${error instanceof Error ? error.message : String(error)}`);
  });
}

/** A file's pixels at its natural size. */
export async function readPixels(file: Blob): Promise<Pixels> {
  const bitmap = await openImage(file);
  try {
    return pageImagePixels(bitmap);
  } finally {
    bitmap.close();
  }
}

/**
 * The compiled summary: every layer with its output shape, parameters and multiply-accumulates, and the totals:
 * `input` describes the input, `macs` the total. Returns the cell of the total, which an open size fills per run.
 */
export function renderSummary(compiled: CompiledModule, input: string, macs: string): HTMLTableCellElement {
  const { summary } = ui;
  const head = summary.createTHead().insertRow();
  for (const title of ['layer', 'op', 'output shape', 'parameters', 'MACs']) head.appendChild(document.createElement('th')).textContent = title;
  const body = summary.createTBody();
  for (const layer of compiled.layers) {
    const row = body.insertRow();
    const shape = typeof layer.outputShape === 'string' ? layer.outputShape : layer.outputShape.join('×');
    const layerMacs = typeof layer.macs === 'string' ? layer.macs : count(layer.macs);
    for (const cell of [layer.name, layer.op, shape, count(layer.params), layerMacs]) row.insertCell().textContent = cell;
  }
  const total = summary.createTFoot().insertRow();
  const { params } = compiled;
  const label = total.insertCell();
  label.colSpan = 3;
  label.textContent = `${compiled.name}: ${compiled.layers.length} layers, input ${input}`;
  total.insertCell().textContent = `${count(params.total)} (${count(params.trainable)} trainable)`;
  const totalMacs = total.insertCell();
  totalMacs.textContent = macs;
  return totalMacs;
}
