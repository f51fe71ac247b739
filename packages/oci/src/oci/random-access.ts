/**
 * The one random-access contract every archive goes through (as yauzl does):
 * `{ size, read(offset, length) }` with short reads treated as errors, plus a
 * streaming view of a byte range for member bodies.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { corrupt } from '../errors.js';

/** A byte source that can be read at any offset. */
export interface RandomAccess {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; a short read is an error. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Streams `length` bytes from `offset` with back-pressure. */
  stream(offset: number, length: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** A local file as a {@link RandomAccess}. */
export class FileRandomAccess implements RandomAccess {
  private constructor(private readonly fh: FileHandle, readonly size: number, private readonly path: string) {}

  static async open(path: string): Promise<FileRandomAccess> {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    return new FileRandomAccess(fh, st.size, path);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.size) throw corrupt(`read of ${length} bytes at ${offset} runs past the end (${this.size})`, this.path);
    const b = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(b, got, length - got, offset + got);
      if (bytesRead === 0) throw corrupt(`short read at ${offset + got}`, this.path);
      got += bytesRead;
    }
    return b;
  }

  async *stream(offset: number, length: number): AsyncIterable<Uint8Array> {
    if (offset + length > this.size) throw corrupt(`member at ${offset} (+${length}) runs past the end (${this.size})`, this.path);
    if (length === 0) return;
    // A separate descriptor per stream: several members may be read in turn
    // while the archive stays open, and closing one never closes the other.
    let got = 0;
    for await (const c of createReadStream(this.path, { start: offset, end: offset + length - 1, highWaterMark: 256 << 10 })) {
      got += (c as Buffer).length;
      yield c as Buffer;
    }
    if (got !== length) throw corrupt(`short read of member at ${offset}`, this.path);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
