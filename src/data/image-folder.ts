/**
 * Image folders in the layout of torchvision's ImageFolder and Keras' image_dataset_from_directory: one subfolder
 * per class holding JPEG or PNG files (at any depth), class labels in sorted order of the folder names.
 * `DIR/train` with `DIR/val` (or `DIR/test`) are used as the splits when present; otherwise a seeded, per-class
 * split of DIR holds back a fraction for validation.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { displayPath, quoted } from '../files/display-path.js';
import { describeFsError } from '../files/fs-errors.js';
import { mulberry32 } from '../random/mulberry32.js';
import { DataFileError } from './data-file-error.js';

export interface ImageFile {
  readonly path: string;
  readonly label: number;
}

export interface ImageFolderListing {
  readonly classNames: readonly string[];
  readonly train: readonly ImageFile[];
  readonly val: readonly ImageFile[];
  /** How the validation images were chosen: a folder of their own (its path), or a seeded split. */
  readonly valSource: string;
  /** Files that are not .jpg, .jpeg or .png, ignored (as torchvision ignores them). */
  readonly ignored: readonly string[];
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'] as const;
const isImageName = (name: string) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

/** Lists an image folder's splits and classes; throws DataFileError for a layout that cannot be trained on. */
export function listImageFolder(dir: string, options: { valSplit: number; seed: number }): ImageFolderListing {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataFileError(dir, 'not a folder of class folders (or of train/ and val/ folders)');
  const trainDir = join(dir, 'train');
  const valDir = ['val', 'test'].map((name) => join(dir, name)).find((path) => existsSync(path) && statSync(path).isDirectory());
  const ignored: string[] = [];
  if (existsSync(trainDir) && statSync(trainDir).isDirectory()) {
    const train = listClasses(trainDir, ignored);
    if (valDir === undefined) return { ...seededSplit(train, options), valSource: `a seeded split of ${trainDir}`, ignored };
    const val = listClasses(valDir, ignored, { allowEmpty: true });
    const unknown = val.names.filter((name) => !train.names.includes(name));
    if (unknown.length > 0) throw new DataFileError(displayPath(valDir), `has classes that ${displayPath(trainDir)} lacks: ${unknown.map(quoted).join(', ')}`);
    const relabelled = val.files.map((file) => ({ path: file.path, label: train.names.indexOf(val.names[file.label]!) }));
    return { classNames: train.names, train: train.files, val: relabelled, valSource: valDir, ignored };
  }
  const all = listClasses(dir, ignored);
  return { ...seededSplit(all, options), valSource: `a seeded split (${options.valSplit} of each class)`, ignored };
}

/**
 * The images to evaluate in an image folder: its val/ (or test/) folder when it has one, else the folder itself, one
 * subfolder per class; a class without images is allowed (it has no accuracy of its own).
 */
export function listEvalFolder(dir: string): { classNames: readonly string[]; files: readonly ImageFile[]; source: string; ignored: readonly string[] } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataFileError(dir, 'not a folder of class folders (or with a val/ or test/ folder of them)');
  const source = ['val', 'test'].map((name) => join(dir, name)).find((path) => existsSync(path) && statSync(path).isDirectory()) ?? dir;
  const ignored: string[] = [];
  const { names, files } = listClasses(source, ignored, { allowEmpty: true });
  return { classNames: names, files, source, ignored };
}

/**
 * The class folders of `dir` (sorted by name, hidden ones skipped; links to folders followed, as torchvision's
 * ImageFolder follows them) and their images. Empty classes and a single class are refused: torchvision refuses the
 * first, and a classifier needs two.
 */
function listClasses(dir: string, ignored: string[], { allowEmpty = false } = {}): { names: string[]; files: ImageFile[] } {
  const names = entriesOf(dir)
    .filter((entry) => entry.folder)
    .map((entry) => entry.name);
  const shown = (list: readonly string[]) => list.map(quoted).join(', ');
  if (names.length === 0) throw new DataFileError(displayPath(dir), "holds no class folders; put each class's images in a folder named after the class");
  if (names.length === 1 && !allowEmpty)
    throw new DataFileError(displayPath(dir), `holds one class folder (${shown(names)}); a classifier needs at least two classes`);
  const files: ImageFile[] = [];
  const empty: string[] = [];
  // Folders walked, by real path: each is walked once, however many links lead to it. A link inside a class to
  // another class's folder is not walked there (those images are that class's), and one up to the dataset is a loop.
  const root = realPath(dir);
  const classFolders = new Set(names.map((name) => realPath(join(dir, name))));
  const walked = new Set<string>();
  names.forEach((name, label) => {
    const start = realPath(join(dir, name));
    walked.add(start);
    const images = walk(join(dir, name), ignored, { walked, classFolders }, [root, start]);
    if (images.length === 0) empty.push(name);
    for (const path of images) files.push({ path, label });
  });
  if (empty.length > 0 && !allowEmpty)
    throw new DataFileError(displayPath(dir), `class folders without any ${IMAGE_EXTENSIONS.join(', ')} file: ${shown(empty)}`);
  return { names, files };
}

interface Entry {
  readonly name: string;
  readonly path: string;
  /** A folder, or a link to one. */
  readonly folder: boolean;
}

/** A folder's entries sorted by name, hidden ones left out, links resolved; a link to nothing or a loop of links is refused naming it. */
function entriesOf(dir: string): Entry[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new DataFileError(displayPath(dir), `cannot be listed: ${describeFsError(error)}`);
  }
  return entries
    .filter((entry) => !entry.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((entry) => {
      const path = join(dir, entry.name);
      if (!entry.isSymbolicLink()) return { name: entry.name, path, folder: entry.isDirectory() };
      try {
        return { name: entry.name, path, folder: statSync(path).isDirectory() };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new DataFileError(displayPath(path), code === 'ENOENT' ? 'is a symbolic link to nothing' : `cannot be followed: ${describeFsError(error)}`);
      }
    });
}

/**
 * Image files under `dir` (already counted in `inside`, the real paths the walk is in) in sorted order, depth first,
 * following links to folders; other files are added to `ignored`. A folder already walked (two links to one place)
 * or another class's folder is not walked again; a link back to a folder the walk is inside would never end, and
 * is refused naming it.
 */
function walk(dir: string, ignored: string[], seen: { walked: Set<string>; classFolders: ReadonlySet<string> }, inside: readonly string[]): string[] {
  const found: string[] = [];
  for (const entry of entriesOf(dir)) {
    if (!entry.folder) {
      if (isImageName(entry.name)) found.push(entry.path);
      else ignored.push(entry.path);
      continue;
    }
    const real = realPath(entry.path);
    if (inside.includes(real))
      throw new DataFileError(displayPath(entry.path), `is a symbolic link back to ${displayPath(real)}, a folder it is inside: a loop`);
    if (seen.walked.has(real) || seen.classFolders.has(real)) continue;
    seen.walked.add(real);
    found.push(...walk(entry.path, ignored, seen, [...inside, real]));
  }
  return found;
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    throw new DataFileError(displayPath(path), `cannot be followed: ${describeFsError(error)}`);
  }
}

/**
 * Each class's images shuffled by the seed, round(count × valSplit) of them held back for validation: at least one
 * of a class of two or more, and never a class's last training image.
 */
function seededSplit(
  all: { names: string[]; files: ImageFile[] },
  { valSplit, seed }: { valSplit: number; seed: number },
): Omit<ImageFolderListing, 'valSource' | 'ignored'> {
  const train: ImageFile[] = [];
  const val: ImageFile[] = [];
  const random = splitRandom(seed);
  all.names.forEach((_, label) => {
    const files = all.files.filter((file) => file.label === label);
    for (let i = files.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [files[i], files[j]] = [files[j]!, files[i]!];
    }
    const held = files.length < 2 ? 0 : Math.min(files.length - 1, Math.max(1, Math.round(files.length * valSplit)));
    val.push(...files.slice(0, held));
    train.push(...files.slice(held));
  });
  const byPath = (a: ImageFile, b: ImageFile) => (a.path < b.path ? -1 : 1);
  return { classNames: all.names, train: train.sort(byPath), val: val.sort(byPath) };
}

/** mulberry32, seeded apart from the training order's generator. */
function splitRandom(seed: number): () => number {
  return mulberry32(seed ^ 0x5eed5eed);
}

/** A path as messages show it: relative to the dataset folder. */
export function shortName(dir: string, path: string): string {
  return relative(dir, path);
}
