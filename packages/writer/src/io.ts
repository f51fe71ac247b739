/**
 * File I/O the writer repeats in several places: whole positional writes
 * (a short write is retried from where it stopped, none at all is EIO) and
 * scratch files that never outlive the build.
 */
import { randomBytes } from 'node:crypto';
import { openSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErofsError } from '@erofs/format';

/** Writes all of `b` at `pos`. */
export async function writeAll(fh: FileHandle, b: Uint8Array, pos: number, what = 'the image'): Promise<void> {
  let off = 0;
  while (off < b.length) {
    const { bytesWritten } = await fh.write(b, off, b.length - off, pos + off);
    if (bytesWritten <= 0) throw new ErofsError('EIO', `short write to ${what}`);
    off += bytesWritten;
  }
}

/** {@link writeAll}, synchronously, on a file descriptor. */
export function writeAllSync(fd: number, b: Uint8Array, pos: number, what: string): void {
  let off = 0;
  while (off < b.length) {
    const n = writeSync(fd, b, off, b.length - off, pos + off);
    if (n <= 0) throw new ErofsError('EIO', `short write to ${what}`);
    off += n;
  }
}

/**
 * A scratch file next to `nextTo` (`.NAME.TAG-RANDOM`), opened read-write
 * and unlinked at once: nothing is left behind whatever happens; it is gone
 * when the descriptor is closed.
 */
export function openScratch(nextTo: string, tag: string): number {
  const path = join(dirname(nextTo), `.${basename(nextTo)}.${tag}-${randomBytes(4).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (e) {
    throw new ErofsError('EACCES', `cannot create a scratch file: ${(e as Error).message}`, path, { cause: e });
  }
  unlinkSync(path);
  return fd;
}
