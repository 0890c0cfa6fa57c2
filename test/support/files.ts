import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under a folder with its modification time and contents, to prove that nothing changed. */
export function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[]).sort()) {
    const path = join(root, file);
    if (statSync(path).isFile()) files[file] = `${statSync(path).mtimeMs} ${readFileSync(path, 'utf8')}`;
  }
  return files;
}
