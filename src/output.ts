import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from './diagnostics.js';
import { displayPath } from './display-path.js';
import { outputProblem, OutputError, type OutputKind } from './output-guard.js';

/** Where specs are found and modules written unless told otherwise. */
export const DEFAULT_SPEC_ROOT = 'specs';
export const DEFAULT_OUT_DIR = 'generated';

/** Every `.json` file under a folder, sorted so that batches and their outputs are in a stable order. */
export function findSpecs(root: string): string[] {
  return findFiles(root, '.json');
}

/**
 * Every file under a folder whose name ends in `suffix`, sorted. Symbolic links to folders are followed once each:
 * a folder already visited (a link back up the tree, or two links to one place) is not walked again. A link to
 * nothing is listed, so that reading it reports the broken link.
 */
export function findFiles(root: string, suffix: string): string[] {
  const found: string[] = [];
  const visited = new Set<string>();
  const walk = (folder: string) => {
    const real = realpathSync(folder);
    if (visited.has(real)) return;
    visited.add(real);
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && isFolderLink(path));
      if (isFolder) walk(path);
      else if (entry.name.endsWith(suffix)) found.push(path);
    }
  };
  walk(root);
  return found.sort();
}

function isFolderLink(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The output file for a spec: its path under `specRoot` mirrored under `outDir` with `.ts` for `.json`
 * (`specs/imagenet/resnet34.json` → `generated/imagenet/resnet34.ts`); a spec outside the root keeps its base name.
 */
export function outputPathFor(specPath: string, specRoot: string, outDir: string): string {
  const mirrored = isInsideFolder(specPath, specRoot) ? relative(resolve(specRoot), resolve(specPath)) : basename(specPath);
  const target = resolve(outDir, mirrored.replace(/\.json$/i, '') + '.ts');
  if (!isInside(relative(resolve(outDir), target))) throw new Error(`output ${target} would fall outside ${outDir}`);
  return target;
}

/** Whether `path` lies inside `folder`, which mirrors it under the output folder. */
export function isInsideFolder(path: string, folder: string): boolean {
  return isInside(relative(resolve(folder), resolve(path)));
}

/** Whether a relative path names something inside its folder: `..hidden/x` does; `..`, `../x` and other drives do not. */
function isInside(path: string): boolean {
  return path !== '' && path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path);
}

/** Two outputs with one path, or paths that differ only in letter case, would overwrite each other (the latter on macOS and Windows). */
export function findCaseCollisions(outputs: readonly { spec: string; target: string }[]): Diagnostic[] {
  const seen = new Map<string, { spec: string; target: string }>();
  const diagnostics: Diagnostic[] = [];
  for (const { spec, target } of outputs) {
    const key = target.toLowerCase();
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, { spec, target });
    else {
      const why = earlier.target === target ? '' : ' (paths that differ only in letter case are one file on some systems)';
      diagnostics.push({
        file: spec,
        line: 1,
        column: 1,
        severity: 'error',
        code: 'NS401',
        message: `this spec and ${earlier.spec} would both write ${displayPath(target)}${why}; rename one`,
      });
    }
  }
  return diagnostics;
}

/**
 * Writes through a temporary file in the same folder and a rename, so a killed process never leaves half a file.
 * Refuses (OutputError) to replace anything netspec did not write as this kind of file.
 */
export function writeAtomically(path: string, text: string | Uint8Array, kind: Exclude<OutputKind, 'weights-folder'>): void {
  const problem = outputProblem(path, kind);
  if (problem !== undefined) throw new OutputError(problem);
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    // A failed write of an open file (ENOSPC) carries no path; the user needs the one they asked for.
    (error as NodeJS.ErrnoException).path ??= path;
    throw error;
  }
}

/** Whether a file already holds exactly this text. */
export function isCurrent(path: string, text: string): boolean {
  try {
    return readFileSync(path, 'utf8') === text;
  } catch {
    return false;
  }
}

