import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

/** One import of one file: `import`, `import type`, `export … from` and `import()` alike, since each is a dependency. */
export interface Import {
  /** The importing file, relative to the root, with forward slashes. */
  readonly from: string;
  /** As written in the source. */
  readonly specifier: string;
  /** The imported file relative to the root, for a relative specifier; undefined for a package or a Node builtin. */
  readonly to: string | undefined;
}

/** Every .ts file under `root` and its imports, read with the TypeScript scanner so that strings and comments are not imports. */
export function readImports(root: string): { readonly files: readonly string[]; readonly imports: readonly Import[] } {
  const files = (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split('\\').join('/'))
    .sort();
  const imports = files.flatMap((from) =>
    ts.preProcessFile(readFileSync(join(root, from), 'utf8'), true, true).importedFiles.map(({ fileName: specifier }) => ({
      from,
      specifier,
      to: specifier.startsWith('.') ? resolveImport(root, from, specifier) : undefined,
    })),
  );
  return { files, imports };
}

/** The source file a relative specifier names: NodeNext imports say `.js` for the `.ts` file beside them. */
function resolveImport(root: string, from: string, specifier: string): string {
  const target = posix.join(posix.dirname(from), specifier).replace(/\.js$/, '.ts');
  if (!existsSync(join(root, target))) throw new Error(`${from} imports ${specifier}, which is not a file under ${root}`);
  return target;
}

/** Each import cycle among the files, as the path that closes it (a → b → a), found by depth-first search. */
export function findCycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const { from, to } of imports) if (to !== undefined) edges.set(from, [...new Set([...(edges.get(from) ?? []), to])]);
  const done = new Set<string>();
  const path: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string) => {
    if (path.includes(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file]);
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    for (const next of edges.get(file) ?? []) visit(next);
    path.pop();
    done.add(file);
  };
  for (const file of [...edges.keys()].sort()) visit(file);
  return cycles;
}
