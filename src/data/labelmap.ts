/**
 * The classes of a VOC-layout dataset: Pascal VOC's own 20 after background, or those a `labelmap.txt` names in
 * the format of Datumaro and CVAT's VOC exports (`name:r,g,b:parts:actions` a line, `#` comments), where a class's
 * line number from 0 is its value in the masks. The colours are not read: masks are read by palette index.
 */
import { join } from 'node:path';
import { IGNORE_INDEX } from './dataset.js';
import { quoted } from '../files/display-path.js';
import { dataFault, readDataFile, statIfAny } from './dataset-files.js';

/** Pascal VOC's classes in VOC's order, background at 0: the values of its SegmentationClass masks. */
export const VOC_CLASSES = [
  'background',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
] as const;

export const LABELMAP_FILE = 'labelmap.txt';
const LABELMAP_LIMIT = 2 ** 20;

/** The class names by mask value: DIR/labelmap.txt's when there is one, else VOC's 21. */
export function vocClassNames(dir: string): readonly string[] {
  const path = join(dir, LABELMAP_FILE);
  return statIfAny(path) === undefined ? VOC_CLASSES : readLabelmap(path);
}

/** A labelmap's names in order; a name empty or twice, or more than 255 classes, is refused naming the line. */
export function readLabelmap(path: string): readonly string[] {
  const text = new TextDecoder().decode(readDataFile(path, LABELMAP_LIMIT, 'label maps'));
  const names: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const name = line.split(':')[0]!.trim();
    if (name === '') throw dataFault(path, `line ${i + 1} names no class before its first colon`);
    if (names.includes(name)) throw dataFault(path, `line ${i + 1} names the class ${quoted(name)} a second time`);
    names.push(name);
  });
  if (names.length === 0) throw dataFault(path, 'names no class');
  if (names.length > IGNORE_INDEX)
    throw dataFault(path, `names ${names.length} classes; masks of bytes hold at most ${IGNORE_INDEX}, as ${IGNORE_INDEX} means ignore`);
  return names;
}
