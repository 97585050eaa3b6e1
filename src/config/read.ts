/**
 * Bounded reads of operator-supplied files (the config file, the console token file): only a
 * regular file, at most `maxBytes`, valid UTF-8 text without NUL bytes. A device (`/dev/zero`), a
 * FIFO (which would block the read forever), a directory, a huge or binary file is refused with a
 * one-line reason that never quotes the file's content. The file is opened non-blocking and checked
 * with fstat on the open descriptor, so it cannot be swapped for a FIFO between the check and the read.
 *
 * Failure: throws FileReadError (message: the reason, without the path; callers add the path).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** The largest config file sightline reads (a real one is a few KiB). */
export const CONFIG_MAX_BYTES = 1024 * 1024;

export class FileReadError extends Error {
  constructor(
    message: string,
    /** errno code when the file system refused (ENOENT, EACCES...). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Human size: 1048576 → "1 MiB", 16384 → "16 KiB". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Reads `path` as UTF-8 text within the limits above. */
export function readBoundedTextFile(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new FileReadError(`cannot open it (${code})`, code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(`is ${kindOf(st)}, expected a regular file`);
    if (st.size > maxBytes)
      throw new FileReadError(`is ${st.size} bytes, larger than the ${formatBytes(maxBytes)} limit`);
    // Read at most maxBytes + 1: a file that grows after fstat is still caught.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len === buf.length) break;
    }
    if (len > maxBytes) throw new FileReadError(`is larger than the ${formatBytes(maxBytes)} limit`);
    const bytes = buf.subarray(0, len);
    const nul = bytes.indexOf(0);
    if (nul !== -1) throw new FileReadError(`is not a text file (a NUL byte at offset ${nul})`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new FileReadError('is not UTF-8 text');
    }
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new FileReadError(`cannot read it (${code})`, code);
  } finally {
    closeSync(fd);
  }
}
