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
 *
 * A miss reads ahead: the missing block and the blocks after it that are not
 * cached yet, up to `clusterBytes` in one request (metadata is mostly read in
 * the order it was written, and one request costs about as much as sixteen).
 * Each block is cached on its own; should the larger read fail, every block
 * of it is read again alone, so a bad neighbour never fails a good block.
 */
export class BlockCache {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  private readonly cluster: number;
  constructor(
    private readonly blksz: number,
    /** Size of the space; the last block may be partial. */
    readonly size: number,
    private readonly readBlock: (pos: number, len: number) => Promise<Uint8Array>,
    private readonly capacity = 512,
    clusterBytes = 16 * 1024,
  ) {
    this.cluster = Math.max(1, Math.min(Math.floor(clusterBytes / blksz), Math.floor(capacity / 4)));
  }

  private block(n: number): Promise<Uint8Array> {
    const hit = this.blocks.get(n);
    if (hit) {
      this.blocks.delete(n);
      this.blocks.set(n, hit);
      return hit;
    }
    const bs = this.blksz;
    const pos = n * bs;
    // Blocks n..m-1: up to `cluster`, stopping at the end of the space or at a block already cached.
    let m = n + 1;
    const lastBlock = Math.ceil(this.size / bs);
    while (m - n < this.cluster && m < lastBlock && !this.blocks.has(m)) m++;
    const alone = (i: number): Promise<Uint8Array> => this.readBlock(i * bs, Math.min(bs, this.size - i * bs));
    if (m === n + 1) return this.add(n, alone(n));
    const all = this.readBlock(pos, Math.min(m * bs, this.size) - pos);
    for (let i = m - 1; i > n; i--) this.add(i, all.then((b) => this.piece(b, n, i), () => alone(i))).catch(() => undefined);
    return this.add(n, all.then((b) => this.piece(b, n, n), () => alone(n)));
  }

  /** Block i out of a read that started at block n. */
  private piece(b: Uint8Array, n: number, i: number): Uint8Array {
    const bs = this.blksz;
    const want = Math.min(bs, this.size - i * bs);
    const o = (i - n) * bs;
    if (o + want > b.length) throw new ErofsError('EIO', `short read of block ${i}`);
    return b.subarray(o, o + want);
  }

  private add(n: number, p: Promise<Uint8Array>): Promise<Uint8Array> {
    this.blocks.set(n, p);
    p.catch(() => {
      if (this.blocks.get(n) === p) this.blocks.delete(n);
    });
    while (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value as number);
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

/**
 * Readahead for file data, as the kernel does it for a file read in order.
 * While reads follow each other (each starting within a chunk of where the
 * last one ended, or inside a chunk already read), the source is read in
 * aligned chunks, `ahead` chunks in front of the reader, and reads are served
 * from them: views while they fall in one chunk, a copy when they straddle
 * two. Other reads, and long reads of chunks not read yet, go straight to
 * the source. This is what turns thousands of small pcluster and metadata
 * reads into a few large ones: each request to a file source is a trip
 * through the libuv thread pool.
 * Served views are read-only (the BlockSource contract). Chunks live in a
 * small LRU owned by one Image: nothing is kept across images.
 *
 * A failed chunk read is dropped, and the read that wanted it is retried
 * alone, so errors (and their messages) are those of a plain read.
 */
export class ReadAhead {
  private readonly chunks = new Map<number, Promise<Uint8Array>>();
  private lastEnd = -1;
  /** Chunk reads under way. */
  private loading = 0;
  constructor(
    private readonly src: BlockSource,
    /** Bytes that may be read ahead: [0, limit). */
    private readonly limit: number,
    private readonly chunkSize = 1024 * 1024,
    private readonly ahead = 4,
    private readonly keep = 32,
  ) {}

  /** `[pos, pos + len)` of the source; the caller has checked the range. */
  read(pos: number, len: number, where?: string): Promise<Uint8Array> {
    const C = this.chunkSize;
    const end = pos + len;
    if (len === 0 || end > this.limit) return readExact(this.src, pos, len, where);
    const first = Math.floor(pos / C);
    const last = Math.floor((end - 1) / C);
    const cached = this.anyCached(first, last);
    const sequential = cached || Math.abs(pos - this.lastEnd) <= C;
    this.lastEnd = end;
    if (!sequential) return readExact(this.src, pos, len, where);
    this.prefetch(last);
    // A long read goes straight to the source: one request, and never more chunks at once than the readahead keeps.
    if (last - first >= 2 && (!cached || last - first > this.ahead)) return readExact(this.src, pos, len, where);
    if (first === last) {
      const o = pos - first * C;
      return this.chunk(first).then((b) => b.subarray(o, o + len), () => readExact(this.src, pos, len, where));
    }
    const parts: Array<Promise<Uint8Array>> = [];
    for (let k = first; k <= last; k++) parts.push(this.chunk(k));
    return Promise.all(parts).then((bs) => {
      const out = new Uint8Array(len);
      for (let i = 0; i < bs.length; i++) {
        const at = (first + i) * C;
        const from = Math.max(pos, at);
        const to = Math.min(end, at + bs[i]!.length);
        out.set(bs[i]!.subarray(from - at, to - at), from - pos);
      }
      return out;
    }, () => readExact(this.src, pos, len, where));
  }

  /**
   * A prefix of `[pos, pos + len)`, at least `need` bytes long: as much as
   * one readahead chunk holds from `pos` (no copy), else exactly what `read`
   * gives. For callers that can work piece by piece (runs of pclusters).
   */
  readSome(pos: number, len: number, need: number, where?: string): Promise<Uint8Array> {
    const C = this.chunkSize;
    const first = Math.floor(pos / C);
    // Only once the chunk is there (or on its way): a long run of chunks not read yet goes straight to the source.
    if (this.chunks.has(first) && pos + len <= this.limit && need > 0 && need < len) {
      const avail = (first + 1) * C - pos;
      // What the chunk holds; or, when the first piece straddles two chunks, only that piece (joined).
      if (avail < len) return this.read(pos, Math.max(avail, need), where);
    }
    return this.read(pos, len, where);
  }

  /**
   * `[pos, pos + len)` from a chunk already read (or being read) when one
   * holds it all, else straight from the source; never starts readahead.
   * For metadata, which the walk reads out of order ahead of the data.
   * With `copy`, bytes from a chunk are copied (a cache keeping them then
   * does not pin the chunk).
   */
  readCached(pos: number, len: number, where?: string, copy = false): Promise<Uint8Array> {
    const C = this.chunkSize;
    const k = Math.floor(pos / C);
    const hit = len > 0 && pos + len <= Math.min((k + 1) * C, this.limit) ? this.chunks.get(k) : undefined;
    if (hit === undefined) return readExact(this.src, pos, len, where);
    const o = pos - k * C;
    return hit.then((b) => copy ? b.slice(o, o + len) : b.subarray(o, o + len), () => readExact(this.src, pos, len, where));
  }

  /**
   * `read` into `dst[dstOff...]`. Bytes a chunk already holds are copied
   * from it; other reads of `direct` bytes or more go straight into `dst`
   * when the source can (one copy instead of two; the source's own caching,
   * such as the kernel's readahead on an image file, keeps them sequential);
   * shorter ones go through the chunks, which saves a request per read.
   */
  async readInto(pos: number, len: number, dst: Uint8Array, dstOff: number, where?: string, direct = 64 * 1024): Promise<void> {
    const C = this.chunkSize;
    const end = pos + len;
    const first = Math.floor(pos / C);
    const last = Math.floor((end - 1) / C);
    if (len >= direct && end <= this.limit && (last - first > this.ahead || !this.anyCached(first, last))) {
      this.lastEnd = end;
      return readExactInto(this.src, pos, len, dst, dstOff, where);
    }
    dst.set(await this.read(pos, len, where), dstOff);
  }

  private anyCached(first: number, last: number): boolean {
    for (let k = first; k <= last; k++) if (this.chunks.has(k)) return true;
    return false;
  }

  /**
   * Starts reading the `ahead` chunks after chunk `last` that are not there
   * yet, at most two at a time: a file source serves requests from a small
   * thread pool (four threads in Node), and the reads the caller waits for
   * (metadata, the chunk it is in) must not queue behind readahead.
   */
  private prefetch(last: number): void {
    const stop = Math.min(last + this.ahead, Math.ceil(this.limit / this.chunkSize) - 1);
    for (let k = last + 1; k <= stop && this.loading < 2; k++) if (!this.chunks.has(k)) this.load(k).catch(() => undefined);
  }

  private chunk(k: number): Promise<Uint8Array> {
    const hit = this.chunks.get(k);
    if (hit) {
      this.chunks.delete(k);
      this.chunks.set(k, hit);
      return hit;
    }
    return this.load(k);
  }

  private load(k: number): Promise<Uint8Array> {
    const pos = k * this.chunkSize;
    this.loading++;
    const p = readExact(this.src, pos, Math.min(this.chunkSize, this.limit - pos));
    const done = (): void => {
      this.loading--;
    };
    p.then(done, done);
    this.chunks.set(k, p);
    p.catch(() => {
      if (this.chunks.get(k) === p) this.chunks.delete(k);
    });
    while (this.chunks.size > this.keep) this.chunks.delete(this.chunks.keys().next().value as number);
    return p;
  }
}
