import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { outputProblem, OutputError, type OutputKind } from './output-guard.js';

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
