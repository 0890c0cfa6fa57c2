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
  /** What a model's outputs mean beyond their values: present for segmentation and detection models. */
  readonly task?: Task;
  /** How images are prepared for the model, where its spec declares it (a pretrained configuration's). */
  readonly preprocess?: Preprocessing;
  /** Present when the spec leaves the input's height and width open: the bounds it declares. */
  readonly openSize?: OpenSizeBounds;
}

/**
 * What an open-size spec declares of the sides its model takes: the largest (where the input op's shape is set, so
 * that the size limits are checked there) and, when given, the smallest and the multiple. The rest is found from
 * the ops' side formulas (see sizes.ts).
 */
export interface OpenSizeBounds {
  readonly maximum: number;
  readonly minimum?: number;
  readonly multiple?: number;
}

/**
 * A pretrained configuration's image preparation: resize so that the centre crop of `cropFraction` of the shorter
 * side fills the input, with `interpolation`; scale to [0, 1]; subtract `mean` and divide by `std` per channel.
 */
export interface Preprocessing {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly cropFraction: number;
  readonly interpolation: 'bilinear' | 'bicubic';
}

/**
 * A segmentation model's `out` (and `aux`) are per-pixel class logits at input resolution; a detection model's
 * `cls_logits` and `bbox_regression` are RetinaNet's raw outputs over the anchors of its pyramid levels (the ops
 * named in `levels`, lowest first), decoded as torchvision's RetinaNet decodes them.
 */
export type Task =
  | { readonly kind: 'segmentation'; readonly classes: number }
  | {
      readonly kind: 'detection';
      readonly classes: number;
      readonly levels: readonly string[];
      readonly anchors: AnchorSettings;
      readonly decoding: DetectionSettings;
    };

/** torchvision's AnchorGenerator arguments: per pyramid level, the anchor sizes and the aspect ratios. */
export interface AnchorSettings {
  readonly sizes: readonly (readonly number[])[];
  readonly ratios: readonly (readonly number[])[];
}

/** How RetinaNet's raw outputs become detections, in torchvision's terms. */
export interface DetectionSettings {
  readonly scoreThreshold: number;
  readonly nmsThreshold: number;
  readonly detectionsPerImage: number;
  readonly topkCandidates: number;
}
