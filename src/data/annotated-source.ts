/**
 * The `--data` values of annotated datasets: `coco:ANNOTATIONS.json` (images found beside it) or
 * `coco:ANNOTATIONS.json:IMAGES_DIR`, `voc:DIR` and `masks:DIR`, and the dataset each opens for a task. COCO data is
 * read for detection, mask folders for segmentation, VOC folders for either.
 */
import { displayPath } from '../files/display-path.js';
import { openCocoDetection } from './coco.js';
import type { DetectionDataset, SegmentationDataset } from './dataset.js';
import { DataFileError } from './data-file-error.js';
import { openMaskFolder } from './mask-folder.js';
import { openVocDetection, openVocSegmentation } from './voc.js';

export type AnnotatedSource =
  | { readonly kind: 'coco'; readonly annotations: string; readonly imagesDir: string | undefined }
  | { readonly kind: 'voc'; readonly dir: string }
  | { readonly kind: 'masks'; readonly dir: string };

/**
 * The annotated source a --data value names; undefined for a value of no such prefix (a folder, CIFAR, …), and a
 * problem in words for a prefix without what must follow it.
 */
export function parseAnnotatedSource(text: string): AnnotatedSource | { readonly problem: string } | undefined {
  const prefix = /^(coco|voc|masks):(.*)$/s.exec(text);
  if (prefix === null) return undefined;
  const [, kind, rest] = prefix as unknown as [string, 'coco' | 'voc' | 'masks', string];
  if (kind !== 'coco') return rest === '' ? { problem: `${kind}: needs the dataset's folder after the colon` } : { kind, dir: rest };
  // The annotations file ends at ".json"; what follows a colon after it is the images folder (which may hold colons).
  const split = /^(.+?\.json)(?::(.*))?$/is.exec(rest);
  if (split === null)
    return { problem: `coco: needs the annotations file, ending in .json, after the colon (coco:ANNOTATIONS.json or coco:ANNOTATIONS.json:IMAGES_DIR)` };
  if (split[2] === '') return { problem: `coco:${split[1]}: needs the images folder after the second colon, or no second colon to find it beside the file` };
  return { kind: 'coco', annotations: split[1]!, imagesDir: split[2] };
}

/** The source as messages name it. */
export function annotatedSourceName(source: AnnotatedSource): string {
  if (source.kind !== 'coco') return `${source.kind}:${displayPath(source.dir)}`;
  return `coco:${displayPath(source.annotations)}${source.imagesDir === undefined ? '' : `:${displayPath(source.imagesDir)}`}`;
}

export interface OpenOptions {
  /** A split of the layout (VOC's ImageSets lists, a mask folder's split folders). */
  readonly split?: string;
  /** Check that every image file exists (default true); scoring a results file needs no images. */
  readonly requireImages?: boolean;
  /** Images of more pixels are refused when loaded. */
  readonly maxPixels?: number;
}

/** The source's detection dataset; a mask folder, or a split for COCO, is a DataFileError. */
export function openDetectionSource(source: AnnotatedSource, options: OpenOptions = {}): DetectionDataset {
  if (source.kind === 'masks')
    throw new DataFileError(annotatedSourceName(source), 'holds masks for segmentation, not boxes; detection data is coco:ANNOTATIONS.json or voc:DIR');
  if (source.kind === 'voc') return openVocDetection(source.dir, options);
  if (options.split !== undefined)
    throw new DataFileError(
      annotatedSourceName(source),
      "is one split already (COCO has one annotations file a split); name that split's file instead of choosing a split",
    );
  return openCocoDetection(source.annotations, { imagesDir: source.imagesDir, requireImages: options.requireImages, maxPixels: options.maxPixels });
}

/** The source's segmentation dataset; COCO data is a DataFileError (its polygons are not read as masks). */
export function openSegmentationSource(source: AnnotatedSource, options: OpenOptions = {}): SegmentationDataset {
  if (source.kind === 'coco') throw new DataFileError(annotatedSourceName(source), 'is read for detection (boxes); segmentation data is voc:DIR or masks:DIR');
  if (source.kind === 'voc') return openVocSegmentation(source.dir, options);
  return openMaskFolder(source.dir, { split: options.split, maxPixels: options.maxPixels });
}
