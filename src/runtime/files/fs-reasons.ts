// The words for faults of the user's files and folders, shared by the bounded reader and every message about a file.

/** Node's error codes for faults of the user's files and folders, each with what it means in words. */
export const FS_FAULT_REASONS: Readonly<Record<string, string>> = {
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

/** The reason in words for a filesystem fault, or the error's own message for anything else. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && Object.hasOwn(FS_FAULT_REASONS, code) ? FS_FAULT_REASONS[code] : undefined) ?? (error as Error).message;
}
