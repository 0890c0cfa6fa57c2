// A segmentation dataset over a list of image and mask files, as VOC's SegmentationClass and mask folders give
// them: the files' presence is checked when the dataset opens, their contents when an image is loaded.
import { basename } from 'node:path';
import type { MaskedImage, SegmentationDataset } from './dataset.js';
import { quoted } from '../files/display-path.js';
import { dataFault, decodeRgbFile, statIfAny } from './dataset-files.js';
import { decodeMaskFile } from './mask-png.js';

/** How many missing files a message names before counting the rest. */
const NAMED = 3;

export function segmentationDataset(
  source: string,
  items: readonly MaskedImage[],
  classNames: readonly string[] | undefined,
  maxPixels?: number,
): SegmentationDataset {
  const image = (index: number): MaskedImage => {
    const item = items[index];
    if (!Number.isInteger(index) || item === undefined) throw new RangeError(`image index ${index} is outside 0 to ${items.length - 1}`);
    return item;
  };
  return {
    task: 'segmentation',
    source,
    length: items.length,
    classNames,
    warnings: [],
    image,
    load: async (index) => {
      const item = image(index);
      const pixels = await decodeRgbFile(item.path, maxPixels);
      const mask = await decodeMaskFile(item.maskPath, maxPixels);
      if (mask.width !== pixels.width || mask.height !== pixels.height) {
        throw dataFault(
          item.maskPath,
          `is ${mask.width}×${mask.height} but its image ${basename(item.path)} is ${pixels.width}×${pixels.height}; a mask has its image's size`,
        );
      }
      return { image: item, pixels, mask: mask.classes };
    },
  };
}

/**
 * Throws one DataFileError naming `listing` (what lists the files) when any of `paths` is not a file: how many are
 * missing from `folder`, the first few by name.
 */
export function requireFiles(listing: string, folder: string, paths: readonly string[], what: string): void {
  const missing: string[] = [];
  for (const path of paths) {
    const stats = statIfAny(path);
    if (stats === undefined) missing.push(quoted(basename(path)));
    else if (!stats.isFile()) throw dataFault(path, `is ${stats.isDirectory() ? 'a folder' : 'a device, pipe or socket'}, not a file`);
  }
  if (missing.length === 0) return;
  const more = missing.length > NAMED ? `, and ${missing.length - NAMED} more` : '';
  const count = `${missing.length} of its ${paths.length} ${what} ${missing.length === 1 ? 'is' : 'are'}`;
  throw dataFault(listing, `${count} not in ${folder}: ${missing.slice(0, NAMED).join(', ')}${more}`);
}
