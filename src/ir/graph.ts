/**
 * The compiler's intermediate representation: a list of named ops in execution order. Names follow
 * torchvision's module names (`conv1`, `layer2.0.downsample.0`, `fc`), so they double as weight keys.
 * Each op kind's fields live in its module under src/ops/.
 */
import type { Op } from '../ops/index.js';

export type { Op, OpKind } from '../ops/index.js';

export interface Graph {
  readonly name: string;
  readonly description: string;
  readonly source: { readonly path: string; readonly sha256: string };
  readonly ops: readonly Op[];
  /** The model's outputs in order: a name for each (`output` for a single-output model, else `C2`… and `logits`) and its op. */
  readonly outputs: readonly { readonly name: string; readonly op: string }[];
}
