/**
 * Node adapters of @erofs/reader: a block source over a file (path or file
 * descriptor) and a node:stream Readable over an image file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { fstatSync, read as fsRead } from 'node:fs';
import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import { ErofsError } from '@erofs/format';
import { nodeCodecs } from '@erofs/codecs/node';
import type { BlockSource, FileRef, Image, ReadStreamOptions } from '../index.js';

/**
 * A block source reading a file with positional reads. Give a path (opened
 * read-only, closed by `close()`) or an open file descriptor (left open).
 */
export async function fileSource(file: string | number): Promise<BlockSource> {
  let fh: FileHandle | undefined;
  let size: number;
  let fd: number;
  if (typeof file === 'number') {
    fd = file;
    size = fstatSync(fd).size;
  } else {
    try {
      fh = await open(file, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code === 'ENOENT' ? 'ENOENT' : err.code === 'EISDIR' ? 'EISDIR' : err.code === 'EACCES' ? 'EACCES' : 'EIO';
      throw new ErofsError(code, `cannot open image: ${err.message}`, file, { cause: e });
    }
    fd = fh.fd;
    size = (await fh.stat()).size;
  }
  /** Positional reads into buf[at, at + length) until all bytes are there. */
  const readAt = (offset: number, length: number, buf: Uint8Array, at: number): Promise<void> =>
    new Promise((resolve, reject) => {
      let done = 0;
      const step = (): void => {
        fsRead(fd, buf, at + done, length - done, offset + done, (err, n) => {
          if (err) return reject(new ErofsError('EIO', `read failed: ${err.message}`, undefined, { cause: err }));
          if (n === 0) return reject(new ErofsError('EIO', `short read: ${done} of ${length} bytes at ${offset}`));
          done += n;
          if (done < length) step();
          else resolve();
        });
      };
      if (length === 0) resolve();
      else step();
    });
  const src: BlockSource = {
    size,
    read(offset: number, length: number): Promise<Uint8Array> {
      // Not zero-filled: every byte is read over (or the read fails). A plain
      // Uint8Array view, not the Buffer itself, whose slice() would not copy.
      const mem = Buffer.allocUnsafeSlow(length);
      const buf = new Uint8Array(mem.buffer, mem.byteOffset, length);
      return readAt(offset, length, buf, 0).then(() => buf);
    },
    readInto(offset: number, length: number, dst: Uint8Array, dstOff: number): Promise<void> {
      return readAt(offset, length, dst, dstOff);
    },
  };
  if (fh) {
    const h = fh;
    src.close = () => h.close();
  }
  return src;
}

/** A node:stream Readable of a file in an image (wraps Image.createReadStream). */
export function createNodeReadStream(image: Image, file: FileRef, opts?: ReadStreamOptions): Readable {
  return Readable.fromWeb(image.createReadStream(file, opts) as import('node:stream/web').ReadableStream<Uint8Array>);
}

/** Opens an image file (path or fd) with the library. */
export async function openImageFile(file: string | number, opts?: import('../index.js').OpenOptions): Promise<Image> {
  const { openImage } = await import('../index.js');
  const src = await fileSource(file);
  try {
    return await openImage(src, { decoders: nodeCodecs, ...opts });
  } catch (e) {
    await src.close?.();
    throw e;
  }
}
