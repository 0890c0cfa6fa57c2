// Filesystem faults are the user's to fix: each reaches them as one line naming the path and what failed. The words for
// each fault live with the bounded reader in the runtime, whose Node entry reports them too.
import { describeFsError, FS_FAULT_REASONS as reasons } from '../runtime/files/fs-reasons.js';

export { describeFsError };

const actions: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the folder',
  rename: 'move into place',
  scandir: 'list the folder',
  stat: 'look at',
  lstat: 'look at',
  unlink: 'remove',
  rmdir: 'remove',
  copyfile: 'copy',
  realpath: 'resolve',
  access: 'access',
};

/** Whether the error is a failed system call (a missing file, a full disk, a folder without permission): the user's, not a bug. */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/** One line for a filesystem fault (`cannot create the folder out/x: a part of the path is a file, not a folder`), else undefined. */
export function fsFaultLine(error: unknown, show: (path: string) => string): string | undefined {
  const { code, syscall, path, dest } = error as NodeJS.ErrnoException & { dest?: string };
  if (code === undefined || !Object.hasOwn(reasons, code) || typeof path !== 'string') return undefined;
  const action = (syscall !== undefined && Object.hasOwn(actions, syscall) ? actions[syscall] : undefined) ?? 'use';
  const target = syscall === 'rename' && dest ? show(dest) : show(path);
  return `cannot ${action} ${target}: ${reasons[code]}`;
}
