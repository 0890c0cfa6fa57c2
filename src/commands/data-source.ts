// The --data argument of train and eval: a built-in dataset, a CIFAR binary folder, or an image folder.
import { annotatedSourceName, parseAnnotatedSource, type AnnotatedSource } from '../data/annotated-source.js';
import { loadCifar, type CifarVariant } from '../data/cifar.js';
import { DataFileError } from '../data/data-file-error.js';
import type { ImageSet } from '../data/image-set.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { loadImageFolder, type ImageFolderOptions } from '../train/image-folder-data.js';
import { UsageError } from './command-line.js';

export type DataSource =
  | { readonly kind: 'fashion-mnist' }
  | { readonly kind: 'cifar'; readonly variant: CifarVariant; readonly dir: string }
  | { readonly kind: 'folder'; readonly dir: string }
  | { readonly kind: 'annotated'; readonly source: AnnotatedSource };

/** The --data placeholder in usage lines, short; DATA_SOURCES spells out what it may be. */
export const DATA_SOURCE_ARG = 'SOURCE';
export const DATA_SOURCES =
  'fashion-mnist, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR, an image folder DIR, coco:ANNOTATIONS.json[:IMAGES_DIR], voc:DIR or masks:DIR';
/** What `train` reads today: labelled images for a classifier. */
export const TRAINING_SOURCES = 'fashion-mnist, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR or an image folder DIR';
const CIFAR_VARIANTS: readonly CifarVariant[] = ['cifar10', 'cifar100', 'cifar100-coarse'];

/** The source a --data value names; an empty value or a CIFAR prefix without a folder is a usage error. */
export function parseDataSource(text: string | undefined, command: string): DataSource {
  if (text === undefined || text === '') throw new UsageError(`${command} needs --data SOURCE: ${command === 'train' ? TRAINING_SOURCES : DATA_SOURCES}`);
  if (text === 'fashion-mnist') return { kind: 'fashion-mnist' };
  const annotated = parseAnnotatedSource(text);
  if (annotated !== undefined) {
    if ('problem' in annotated) throw new UsageError(`--data ${annotated.problem}`);
    return { kind: 'annotated', source: annotated };
  }
  const prefix = /^([a-z0-9-]+):(.*)$/.exec(text);
  const variant = CIFAR_VARIANTS.find((v) => v === prefix?.[1]);
  if (prefix && variant) {
    if (prefix[2] === '') throw new UsageError(`--data ${variant}: needs the folder of the CIFAR binary files after the colon`);
    return { kind: 'cifar', variant, dir: prefix[2]! };
  }
  return { kind: 'folder', dir: text };
}

export interface LoadedData {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly classNames: readonly string[];
}

/** The source's images for a model's input, or a one-line DataFileError; image folders are resized to the input. */
export async function loadDataSource(source: DataSource, graph: AnalyzedGraph, options: Omit<ImageFolderOptions, 'input'> = {}): Promise<LoadedData> {
  if (source.kind === 'fashion-mnist') return loadFashionMnist();
  if (source.kind === 'cifar') return loadCifar(source.variant, source.dir);
  if (source.kind === 'annotated')
    throw new DataFileError(annotatedSourceName(source.source), 'holds boxes or masks for detection or segmentation, not labelled images for a classifier');
  const output = graph.outputShapes.length === 1 && graph.outputShapes[0]!.length === 1 ? graph.outputShapes[0]![0]! : undefined;
  const model = output === undefined ? undefined : { name: graph.name, classes: output };
  return loadImageFolder(source.dir, { ...options, model, input: graph.inputShape as [number, number, number] });
}

/** Why the data does not fit the graph (input size, channels, class count, naming both), or undefined when it does. */
export function dataMismatch(name: string, data: LoadedData, graph: AnalyzedGraph): string | undefined {
  const [height, width, channels] = graph.inputShape;
  const output = graph.outputShapes.length === 1 && graph.outputShapes[0]!.length === 1 ? graph.outputShapes[0]![0] : undefined;
  const set = data.train;
  if (output === undefined) return `${graph.name} is not a classifier (it outputs ${graph.outputShapes.map((s) => `[${s.join(', ')}]`).join(', ')})`;
  if (height !== set.height || width !== set.width || channels !== set.channels)
    return `${name} has ${set.height}×${set.width}×${set.channels} images; ${graph.name} takes ${graph.inputShape.join('×')}`;
  if (output !== set.classes)
    return `${name} has ${set.classes} classes but ${graph.name} outputs ${output}; its head should be a classifier of ${set.classes} classes`;
  return undefined;
}

export function dataSourceName(source: DataSource): string {
  if (source.kind === 'annotated') return annotatedSourceName(source.source);
  return source.kind === 'fashion-mnist' ? 'fashion-mnist' : source.kind === 'cifar' ? `${source.variant}:${source.dir}` : source.dir;
}
