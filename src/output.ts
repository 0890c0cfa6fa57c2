import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from './diagnostics.js';

/** Every `.json` file under a folder, sorted so that batches and their outputs are in a stable order. */
export function findSpecs(root: string): string[] {
  return (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => file.endsWith('.json') && statSync(join(root, file)).isFile())
    .map((file) => join(root, file))
    .sort();
}

/**
 * The output file for a spec: its path under `specRoot` mirrored under `outDir` with `.ts` for `.json`
 * (`specs/imagenet/resnet34.json` → `generated/imagenet/resnet34.ts`); a spec outside the root keeps its base name.
 */
export function outputPathFor(specPath: string, specRoot: string, outDir: string): string {
  const inRoot = relative(resolve(specRoot), resolve(specPath));
  const mirrored = isInside(inRoot) ? inRoot : basename(specPath);
  const target = resolve(outDir, mirrored.replace(/\.json$/i, '') + '.ts');
  if (!isInside(relative(resolve(outDir), target))) throw new Error(`output ${target} would fall outside ${outDir}`);
  return target;
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

/** Writes through a temporary file in the same folder and a rename, so a killed process never leaves half a file. */
export function writeAtomically(path: string, text: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
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

/** A path as diagnostics and headers show it: relative to the working directory when inside it, with forward slashes. */
export function displayPath(path: string): string {
  const inside = relative(process.cwd(), resolve(path));
  const shown = inside.startsWith('..') ? resolve(path) : inside;
  return shown.split(sep).join('/');
}
