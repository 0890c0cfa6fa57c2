// Where a project's specs are and where each one's modules go: the specs folder walked, a spec's path mirrored
// under the output folder, and outputs that would collide.
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from '../errors/diagnostics.js';
import { displayPath } from '../files/display-path.js';
import { findFiles } from '../files/find-files.js';

/** Where specs are found and modules written unless told otherwise. */
export const DEFAULT_SPEC_ROOT = 'specs';
export const DEFAULT_OUT_DIR = 'generated';

/** Every `.json` file under a folder, sorted so that batches and their outputs are in a stable order. */
export function findSpecs(root: string): string[] {
  return findFiles(root, '.json');
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
