// Which compiled models the app runs: ?model=<name> picks one, the first is the default. Any module that
// `netspec compile` wrote for a classifier or an open-size segmenter will do: add it here, and import its weights
// into public/weights/<its name>/ (or point ?weights= or VITE_NETSPEC_WEIGHTS at them). Each module is imported
// when it is chosen, so a page downloads only its own.
import type * as tf from '@tensorflow/tfjs';
import type { ClassMask, CreateModelOptions, ImageBatch, ImageTransform, Pixels, Placement } from 'netspec/runtime';
import imagenetClasses from '../../data/imagenet-classes.json';
import vocClasses from '../../data/voc-classes.json';

/** What the page uses of any generated module: its name, its summary and how its images are prepared. */
export interface CompiledModule {
  readonly name: string;
  readonly params: { readonly trainable: number; readonly total: number };
  /** Output shapes and MACs are figures for a fixed size, formulas of H and W for an open one. */
  readonly layers: readonly {
    readonly name: string;
    readonly op: string;
    readonly outputShape: readonly number[] | string;
    readonly params: number;
    readonly macs: number | string;
  }[];
  readonly imageTransform: ImageTransform;
  createModel(options: CreateModelOptions): Promise<tf.LayersModel>;
}

export interface ClassifierModule extends CompiledModule {
  readonly inputShape: readonly [height: number, width: number, channels: number];
  readonly outputShape: readonly [classes: number];
  readonly macs: number;
  predict(model: tf.LayersModel, x: tf.Tensor4D): tf.Tensor2D;
  preprocess(model: tf.LayersModel, images: readonly Pixels[]): ImageBatch;
}

/** A segmenter whose spec leaves the input size open: it takes each batch at its images' natural size. */
export interface OpenSegmenterModule extends CompiledModule {
  readonly sizes: { readonly minimum: number; readonly maximum: number; readonly multiple: number };
  outputShapes(height: number, width: number): { readonly out: readonly [height: number, width: number, classes: number] };
  macs(height: number, width: number): number;
  segment(model: tf.LayersModel, x: tf.Tensor4D, placements?: readonly Placement[]): ClassMask[];
}

export type ModelChoice =
  | { readonly task: 'classification'; load(): Promise<ClassifierModule> }
  | { readonly task: 'segmentation'; load(): Promise<OpenSegmenterModule> };

export const MODELS: Readonly<Record<string, ModelChoice>> = {
  resnet18: { task: 'classification', load: () => import('../../generated/imagenet/resnet18.ts') },
  fcn_resnet50_any: { task: 'segmentation', load: () => import('../../generated/segmentation/fcn_resnet50_any.ts') },
};

/**
 * The class names for `count` classes: those a weights folder saved (netspec train writes them), else ImageNet's
 * for a 1000-class classifier or PASCAL VOC's for a 21-class segmenter (as netspec predict names them), else
 * "class N".
 */
export function classNames(task: ModelChoice['task'], count: number, saved?: readonly string[]): readonly string[] {
  if (saved) return saved;
  if (task === 'classification' && count === imagenetClasses.length) return imagenetClasses;
  if (task === 'segmentation' && count === vocClasses.length) return vocClasses;
  return Array.from({ length: count }, (_, i) => `class ${i}`);
}
