import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
