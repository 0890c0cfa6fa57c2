/**
 * Which output of a detection head stands for which of a dataset's categories. Saved with the weights, it lets
 * results come back in the dataset's own category ids whatever numbers the dataset uses (COCO's run 1 to 90 with
 * gaps; a user's may start anywhere).
 */
import type { Category } from './dataset.js';
import { DataFileError } from './data-file-error.js';

/** torchvision's COCO detectors output 91 classes, one per COCO category id 0 to 90 (0 and the gaps unused). */
const TORCHVISION_COCO_CLASSES = 91;

/** The mapping as saved beside the weights: JSON, one entry per category. */
export interface SavedCategoryMapping {
  readonly kind: 'identity' | 'contiguous';
  readonly categories: readonly { readonly id: number; readonly name: string; readonly output: number }[];
}

/**
 * `identity`: output k is category id k, as torchvision's COCO heads number them. `contiguous`: the categories in
 * order of id take outputs 0, 1, 2, … — what a head trained on the dataset by netspec uses.
 */
export interface CategoryMapping {
  readonly kind: 'identity' | 'contiguous';
  /** The categories, sorted by id. */
  readonly categories: readonly Category[];
  /** The head output standing for category `id`, or undefined when the dataset has no such category. */
  outputOf(id: number): number | undefined;
  /** The category that head output `output` stands for, or undefined for outputs no category uses. */
  categoryOf(output: number): Category | undefined;
  toJSON(): SavedCategoryMapping;
}

/**
 * The mapping from a dataset's categories to a head of `headClasses` outputs: identity for a head of torchvision's
 * 91 COCO classes when every id is within 1–90, else contiguous. A head too small for the categories is refused,
 * naming `source` and both counts.
 */
export function categoryMapping(categories: readonly Category[], headClasses: number, source: string): CategoryMapping {
  const sorted = [...categories].sort((a, b) => a.id - b.id);
  const fitsCoco = sorted.every((c) => Number.isInteger(c.id) && c.id >= 1 && c.id < TORCHVISION_COCO_CLASSES);
  if (headClasses === TORCHVISION_COCO_CLASSES && fitsCoco)
    return mappingOf(
      'identity',
      sorted.map((c) => ({ ...c, output: c.id })),
    );
  if (sorted.length > headClasses) {
    throw new DataFileError(
      source,
      `has ${sorted.length} categories but the head outputs ${headClasses} classes; it needs at least ${sorted.length} (or ${TORCHVISION_COCO_CLASSES} for COCO's ids 1 to 90 by identity)`,
    );
  }
  return mappingOf(
    'contiguous',
    sorted.map((c, output) => ({ ...c, output })),
  );
}

/** A saved mapping read back, every field checked; a fault is one DataFileError naming `file` and the entry. */
export function restoreCategoryMapping(saved: unknown, file: string): CategoryMapping {
  const fail = (problem: string): never => {
    throw new DataFileError(file, `the category mapping ${problem}`);
  };
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return fail('is not an object');
  const { kind, categories } = saved as Partial<SavedCategoryMapping>;
  if (kind !== 'identity' && kind !== 'contiguous') return fail(`has kind ${JSON.stringify(kind)}; it is "identity" or "contiguous"`);
  if (!Array.isArray(categories)) return fail('has no list of categories');
  const entries = categories.map((entry: unknown, i) => {
    const { id, name, output } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(id) || typeof name !== 'string' || !Number.isSafeInteger(output) || (output as number) < 0) {
      return fail(`entry ${i} is not {"id": integer, "name": string, "output": integer ≥ 0}`);
    }
    return { id: id as number, name, output: output as number };
  });
  const mapping = mappingOf(
    kind,
    [...entries].sort((a, b) => a.id - b.id),
  );
  const expected = kind === 'identity' ? (id: number) => id : (id: number) => mapping.categories.findIndex((c) => c.id === id);
  const wrong = entries.find((e, i) => entries.findIndex((o) => o.id === e.id || o.output === e.output) !== i || e.output !== expected(e.id));
  if (wrong) fail(`gives category id ${wrong.id} the output ${wrong.output}, which a ${kind} mapping of these ids does not`);
  return mapping;
}

function mappingOf(kind: CategoryMapping['kind'], entries: readonly (Category & { readonly output: number })[]): CategoryMapping {
  const outputs = new Map(entries.map((e) => [e.id, e.output]));
  const byOutput = new Map(entries.map((e) => [e.output, { id: e.id, name: e.name }]));
  const categories = entries.map(({ id, name }) => ({ id, name }));
  return {
    kind,
    categories,
    outputOf: (id) => outputs.get(id),
    categoryOf: (output) => byOutput.get(output),
    toJSON: () => ({ kind, categories: entries.map(({ id, name, output }) => ({ id, name, output })) }),
  };
}
