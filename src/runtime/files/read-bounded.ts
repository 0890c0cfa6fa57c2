// Reading a file the user names, with its size bounded before the bytes are (the one reader for every file netspec
// opens, here in the runtime so that its Node entry reads weights folders with it too): devices, pipes and sockets are refused
// without blocking on them, and nothing past the limit is read, whatever the file claims or turns out to hold.
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { describeFsError } from './fs-reasons.js';

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

/**
 * The file's bytes given to `consume` in order, in chunks of at most `chunkBytes`, with readBounded's checks: for
 * files too large to hold whole, read by a streaming parser. Returns why the file was not read, or undefined once
 * all of it was; what `consume` throws passes through, and the file is closed either way.
 */
export function readBoundedChunks(path: string, limit: number, chunkBytes: number, consume: (chunk: Uint8Array) => void): ReadRefusal | undefined {
  let fd: number | undefined;
  let stats: Stats;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    stats = fstatSync(fd);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    return unreadableFile(path, error);
  }
  const refusal: ReadRefusal | undefined = !stats.isFile()
    ? { kind: 'unreadable', reason: stats.isDirectory() ? 'it is a folder' : 'it is not a regular file (a device, pipe or socket)' }
    : stats.size > limit
      ? { kind: 'tooLarge', size: `${stats.size} bytes` }
      : undefined;
  if (refusal) {
    closeSync(fd);
    return refusal;
  }
  const buffer = new Uint8Array(Math.max(1, Math.min(chunkBytes, limit + 1)));
  try {
    // The size may change after fstat or be reported as 0 (/proc), so the bytes read are counted against the limit.
    for (let total = 0; ; ) {
      let read: number;
      try {
        read = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        return unreadableFile(path, error);
      }
      if (read === 0) return undefined;
      total += read;
      if (total > limit) return { kind: 'tooLarge', size: `more than ${limit} bytes` };
      consume(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}

function unreadableFile(path: string, error: unknown): ReadRefusal {
  const brokenLink = (error as NodeJS.ErrnoException).code === 'ENOENT' && isBrokenLink(path);
  return { kind: 'unreadable', reason: brokenLink ? 'it is a symbolic link to nothing' : describeFsError(error) };
}
