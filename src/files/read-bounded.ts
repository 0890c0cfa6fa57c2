// Reading a file the user names, with its size bounded before the bytes are: devices, pipes and sockets are refused
// without blocking on them, and nothing past the limit is read, whatever the file claims or turns out to hold.
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { describeFsError } from './fs-errors.js';

/** Why a file could not be read: `tooLarge` carries the size in words ("2048 bytes", "more than 1024 bytes"). */
export type ReadRefusal = { readonly kind: 'unreadable'; readonly reason: string } | { readonly kind: 'tooLarge'; readonly size: string };

/** The file's bytes, or why they were not read. */
export function readBounded(path: string, limit: number): Uint8Array | ReadRefusal {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { kind: 'unreadable', reason: stats.isDirectory() ? 'it is a folder' : 'it is not a regular file (a device, pipe or socket)' };
    if (stats.size > limit) return { kind: 'tooLarge', size: `${stats.size} bytes` };
    // Files such as those under /proc report size 0, so the read itself is bounded too: the buffer grows to limit + 1.
    let bytes = new Uint8Array(Math.min(limit, Math.max(stats.size, 64 * 1024)) + 1);
    let length = 0;
    for (;;) {
      if (length === bytes.length) {
        if (bytes.length > limit) return { kind: 'tooLarge', size: `more than ${limit} bytes` };
        const grown = new Uint8Array(Math.min(limit + 1, 2 * bytes.length));
        grown.set(bytes);
        bytes = grown;
      }
      const read = readSync(fd, bytes, length, bytes.length - length, null);
      if (read === 0) return bytes.subarray(0, length);
      length += read;
    }
  } catch (error) {
    // ENOENT on a link is a link to nothing; a loop of links fails with ELOOP instead.
    const brokenLink = (error as NodeJS.ErrnoException).code === 'ENOENT' && isBrokenLink(path);
    return { kind: 'unreadable', reason: brokenLink ? 'it is a symbolic link to nothing' : describeFsError(error) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isBrokenLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && !existsSync(path);
  } catch {
    return false;
  }
}
