import { relative, resolve, sep } from 'node:path';

/** A path as diagnostics and messages show it: relative to the working directory when inside it, with forward slashes. */
export function displayPath(path: string): string {
  const inside = relative(process.cwd(), resolve(path));
  const shown = inside.startsWith('..') ? resolve(path) : inside;
  return shown.split(sep).join('/');
}
