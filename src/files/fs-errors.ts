// Filesystem faults are the user's to fix: each reaches them as one line naming the path and what failed.

/** Node's error codes for faults of the user's files and folders, each with what it means in words. */
const reasons: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EEXIST: 'something is already there',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EBUSY: 'the file is busy',
  ENXIO: 'no such device',
  EIO: 'an input/output error',
};

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

/** The reason in words for a filesystem fault, or the error's own message for anything else. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && Object.hasOwn(reasons, code) ? reasons[code] : undefined) ?? (error as Error).message;
}

/** One line for a filesystem fault (`cannot create the folder out/x: a part of the path is a file, not a folder`), else undefined. */
export function fsFaultLine(error: unknown, show: (path: string) => string): string | undefined {
  const { code, syscall, path, dest } = error as NodeJS.ErrnoException & { dest?: string };
  if (code === undefined || !Object.hasOwn(reasons, code) || typeof path !== 'string') return undefined;
  const action = (syscall !== undefined && Object.hasOwn(actions, syscall) ? actions[syscall] : undefined) ?? 'use';
  const target = syscall === 'rename' && dest ? show(dest) : show(path);
  return `cannot ${action} ${target}: ${reasons[code]}`;
}
