/**
 * Folders of images and their class masks: `DIR/images/` and `DIR/masks/` whose files pair by stem (`images/a.jpg`
 * with `masks/a.png`), or one such pair of folders per split (`DIR/train/images/`, `DIR/train/masks/`, …). Masks are
 * palette or 8-bit grey PNGs of class indices, 255 meaning ignore. Class names come from a `labelmap.txt` in DIR as
 * in VOC layouts; without one, the dataset names none. Images are taken in order of stem.
 */
import { join } from 'node:path';
import { displayPath } from '../files/display-path.js';
import type { MaskedImage, SegmentationDataset } from './dataset.js';
import { quoted } from '../files/display-path.js';
import { dataFault, isFolder, listFiles, listFolders, requireFolder, splitExtension, statIfAny, type FolderEntry } from './dataset-files.js';
import { LABELMAP_FILE, readLabelmap } from './labelmap.js';
import { segmentationDataset } from './segmentation-set.js';

export interface MaskFolderOptions {
  /** The split folder to read (`train`, `val`, …); required when DIR has split folders and no images/ of its own. */
  readonly split?: string;
  /** Images of more pixels are refused when loaded (default: the decoder's limit). */
  readonly maxPixels?: number;
}

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];
/** How many unpaired files a message names before counting the rest. */
const NAMED = 3;

/** Opens a folder of images and masks; every fault is one DataFileError naming the folder or file. */
export function openMaskFolder(dir: string, options: MaskFolderOptions = {}): SegmentationDataset {
  const root = splitFolder(dir, options.split);
  const images = byStem(join(root, 'images'));
  const masks = byStem(join(root, 'masks'));
  checkPaired(root, images, masks);
  const labelmap = join(dir, LABELMAP_FILE);
  const classNames = statIfAny(labelmap) === undefined ? undefined : readLabelmap(labelmap);
  const items: MaskedImage[] = [...images.keys()].map((stem, i) => ({
    id: i + 1,
    name: stem,
    path: images.get(stem)!.path,
    maskPath: masks.get(stem)!.path,
    width: undefined,
    height: undefined,
  }));
  return segmentationDataset(`masks:${displayPath(dir)}`, items, classNames, options.maxPixels);
}

/** The split folders of DIR: subfolders holding both images/ and masks/. */
function maskFolderSplits(dir: string): string[] {
  requireFolder(dir, 'images/ and masks/ folders, or split folders holding them');
  return listFolders(dir).filter((name) => isFolder(join(dir, name, 'images')) && isFolder(join(dir, name, 'masks')));
}

function splitFolder(dir: string, split: string | undefined): string {
  const splits = maskFolderSplits(dir);
  if (split !== undefined) {
    if (splits.includes(split)) return join(dir, split);
    const found = splits.length === 0 ? 'it has no split folders (each holding images/ and masks/); leave out --split' : `its splits are ${splits.join(', ')}`;
    throw dataFault(dir, `has no split ${quoted(split)}; ${found}`);
  }
  // Either folder present makes DIR the pair: what is wrong with the other is then said of it by name.
  if (statIfAny(join(dir, 'images')) !== undefined || statIfAny(join(dir, 'masks')) !== undefined) return dir;
  if (splits.length > 0) throw dataFault(dir, `holds the splits ${splits.join(', ')}; choose one with --split`);
  throw dataFault(dir, 'holds no images/ and masks/ folders (nor split folders holding them)');
}

/** The folder's image files by stem; two files of one stem (a.jpg and a.png) are refused, naming both. */
function byStem(folder: string): Map<string, FolderEntry> {
  requireFolder(folder, 'the files that pair images and masks by name');
  const found = new Map<string, FolderEntry>();
  for (const file of listFiles(folder)) {
    const { stem, extension } = splitExtension(file.name);
    if (!IMAGE_EXTENSIONS.includes(extension)) continue;
    const other = found.get(stem);
    if (other !== undefined) throw dataFault(folder, `holds both ${quoted(other.name)} and ${quoted(file.name)}; one file a name, so images and masks pair`);
    found.set(stem, file);
  }
  return found;
}

/** Every image has a mask and every mask an image; the first few strays are named. */
function checkPaired(root: string, images: Map<string, FolderEntry>, masks: Map<string, FolderEntry>): void {
  const unpaired = (from: Map<string, FolderEntry>, to: Map<string, FolderEntry>) =>
    [...from.values()].filter((file) => !to.has(splitExtension(file.name).stem)).map((file) => quoted(file.name));
  const named = (names: string[]) => `${names.slice(0, NAMED).join(', ')}${names.length > NAMED ? `, and ${names.length - NAMED} more` : ''}`;
  const noMask = unpaired(images, masks);
  if (noMask.length > 0) throw dataFault(join(root, 'masks'), `lacks the masks of ${noMask.length} image${noMask.length === 1 ? '' : 's'}: ${named(noMask)}`);
  const noImage = unpaired(masks, images);
  if (noImage.length > 0)
    throw dataFault(join(root, 'images'), `lacks the images of ${noImage.length} mask${noImage.length === 1 ? '' : 's'}: ${named(noImage)}`);
  if (images.size === 0) throw dataFault(join(root, 'images'), `holds no ${IMAGE_EXTENSIONS.join(', ')} file`);
}
