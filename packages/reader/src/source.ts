import { ErofsError } from '@erofs/format';

/**
 * The one random-access contract every input goes through (a file, a
 * Uint8Array, HTTP range requests...): a fixed size and positional reads.
 * `read` must resolve with exactly `length` bytes; anything shorter is
 * treated as an I/O error. Returned arrays are read-only views: sources may
 * hand out slices of their own memory, and callers must not modify them.
 */
export interface BlockSource {
  /** Size in bytes. */
  readonly size: number;
  /** Reads `[offset, offset + length)`; resolves with exactly `length` bytes. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads `[offset, offset + length)` straight into
   * `dst[dstOff, dstOff + length)` (no intermediate buffer); resolves when all
   * `length` bytes are there. Sources without it are read with `read` and a copy.
   */
  readInto?(offset: number, length: number, dst: Uint8Array, dstOff: number): Promise<void>;
  /** Releases the underlying resource (file descriptor...), if any. */
  close?(): Promise<void>;
}

/**
 * Reads through a source with the checks the contract promises: the range is
 * inside the source, and the source really returned `length` bytes. Every
 * failure is an EIO ErofsError naming `where`.
 */
export async function readExact(src: BlockSource, offset: number, length: number, where?: string): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ErofsError('EIO', `invalid read of ${length} bytes at ${offset}`, where);
  }
  if (offset + length > src.size) {
    throw new ErofsError('EIO', `read of ${length} bytes at ${offset} beyond the end of the image (${src.size} bytes)`, where);
  }
  if (length === 0) return new Uint8Array(0);
  let b: Uint8Array;
  try {
    b = await src.read(offset, length);
  } catch (e) {
    if (e instanceof ErofsError) throw e;
    throw new ErofsError('EIO', `read of ${length} bytes at ${offset} failed: ${(e as Error)?.message ?? String(e)}`, where, { cause: e });
  }
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new ErofsError('EIO', `short read: ${b?.length ?? 0} of ${length} bytes at ${offset}`, where);
  }
  return b;
}

/**
 * readExact into a caller's buffer: through the source's `readInto` when it
 * has one (no intermediate buffer), else `read` and one copy. Same checks
 * and errors as readExact.
 */
export async function readExactInto(src: BlockSource, offset: number, length: number, dst: Uint8Array, dstOff: number, where?: string): Promise<void> {
  if (src.readInto === undefined) {
    dst.set(await readExact(src, offset, length, where), dstOff);
    return;
  }
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ErofsError('EIO', `invalid read of ${length} bytes at ${offset}`, where);
  }
  if (offset + length > src.size) {
    throw new ErofsError('EIO', `read of ${length} bytes at ${offset} beyond the end of the image (${src.size} bytes)`, where);
  }
  if (!(dstOff >= 0) || dstOff + length > dst.length) {
    throw new ErofsError('EINVAL', `${length} bytes at ${dstOff} do not fit a buffer of ${dst.length}`, where);
  }
  if (length === 0) return;
  try {
    await src.readInto(offset, length, dst, dstOff);
  } catch (e) {
    if (e instanceof ErofsError) throw e;
    throw new ErofsError('EIO', `read of ${length} bytes at ${offset} failed: ${(e as Error)?.message ?? String(e)}`, where, { cause: e });
  }
}

/** A source over bytes already in memory; reads return views (no copies). */
export function bufferSource(bytes: Uint8Array): BlockSource {
  return {
    size: bytes.length,
    read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || offset + length > bytes.length) {
        return Promise.reject(new ErofsError('EIO', `read of ${length} bytes at ${offset} beyond the end of the buffer`));
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

/**
 * A source from any async reader, for instance HTTP range requests:
 *
 * ```ts
 * const head = await fetch(url, { method: 'HEAD' });
 * const src = asyncSource(Number(head.headers.get('content-length')), async (offset, length) => {
 *   const r = await fetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
 *   if (r.status !== 206) throw new Error(`HTTP ${r.status}`);
 *   return new Uint8Array(await r.arrayBuffer());
 * });
 * const img = await openImage(src);
 * ```
 *
 * Short answers become EIO errors; `close` is called by Image.close().
 */
export function asyncSource(
  size: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
  close?: () => Promise<void>,
): BlockSource {
  if (!Number.isSafeInteger(size) || size < 0) throw new ErofsError('EINVAL', `invalid source size ${size}`);
  const src: BlockSource = {
    size,
    async read(offset, length) {
      const b = await read(offset, length);
      if (!(b instanceof Uint8Array) || b.length !== length) {
        throw new ErofsError('EIO', `short read: ${b?.length ?? 0} of ${length} bytes at ${offset}`);
      }
      return b;
    },
  };
  if (close) src.close = close;
  return src;
}

/**
 * A small LRU cache of whole blocks over a read function, for metadata
 * (inodes, directory blocks, xattrs, indexes) that is read again and again.
 * Concurrent reads of one block share a single request. Data of regular files
 * does not go through it.
 */
export class BlockCache {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  constructor(
    private readonly blksz: number,
    /** Size of the space; the last block may be partial. */
    readonly size: number,
    private readonly readBlock: (pos: number, len: number) => Promise<Uint8Array>,
    private readonly capacity = 512,
  ) {}

  private block(n: number): Promise<Uint8Array> {
    const hit = this.blocks.get(n);
    if (hit) {
      this.blocks.delete(n);
      this.blocks.set(n, hit);
      return hit;
    }
    const pos = n * this.blksz;
    const p = this.readBlock(pos, Math.min(this.blksz, this.size - pos));
    this.blocks.set(n, p);
    p.catch(() => this.blocks.delete(n));
    if (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value as number);
    return p;
  }

  /** Reads `[pos, pos + len)`; the caller has checked the range against `size`. */
  async read(pos: number, len: number): Promise<Uint8Array> {
    const first = Math.floor(pos / this.blksz);
    const last = Math.floor((pos + len - 1) / this.blksz);
    if (len === 0) return new Uint8Array(0);
    if (first === last) {
      const b = await this.block(first);
      const o = pos - first * this.blksz;
      return b.subarray(o, o + len);
    }
    const out = new Uint8Array(len);
    let done = 0;
    for (let n = first; n <= last; n++) {
      const b = await this.block(n);
      const o = n === first ? pos - first * this.blksz : 0;
      const k = Math.min(b.length - o, len - done);
      out.set(b.subarray(o, o + k), done);
      done += k;
    }
    return out;
  }

  clear(): void {
    this.blocks.clear();
  }
}
