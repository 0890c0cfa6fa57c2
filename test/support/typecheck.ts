import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Type-checks files under `tsc --strict` in one run; returns tsc's report, empty when they pass. */
export function typeCheck(files: readonly string[]): string {
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  const flags = [
    '--noEmit',
    '--strict',
    '--target',
    'es2022',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--skipLibCheck',
    '--allowImportingTsExtensions',
  ];
  try {
    execFileSync(process.execPath, [tsc, ...flags, ...files], { encoding: 'utf8' });
    return '';
  } catch (error) {
    return (error as { stdout: string }).stdout || String(error);
  }
}
