/**
 * Compressed files (datalayouts COMPRESSED_FULL and COMPRESSED_COMPACT):
 * `openZInode` parses the map header, `ZReader.map` gives the extent of any
 * offset, `ZReader.read` returns file bytes, decoding each pcluster once and
 * keeping the last few decoded ones for the reads that follow.
 */
import { ErofsError, Z_EROFS_PCLUSTER_MAX_DSIZE } from '@erofs/format';
import { decodeExtent, decodeExtentAt } from './decompress.js';
import { FRAGMENT, INLINE, MAPPED, Z_EROFS_COMPRESSION_INTERLACED, ZMapper, type ZExtent } from './map.js';
import type { ZImage, ZInode } from './types.js';

export {
  ENCODED, FRAGMENT, FULL_MAPPED, INLINE, MAPPED, PARTIAL_REF,
  Z_EROFS_COMPRESSION_INTERLACED, Z_EROFS_COMPRESSION_NONE, Z_EROFS_COMPRESSION_SHIFTED,
  type ZExtent,
} from './map.js';
export type { ZCodec, ZCodecRequest, ZCodecs, ZImage, ZInode } from './types.js';

/** Reads one compressed file. */
export interface ZReader {
  /** The extent holding byte `la` (complete: FULL_MAPPED); past EOF an unmapped extent starting at i_size. */
  map(la: number): Promise<ZExtent>;
  /** Bytes [pos, pos + len) of the file, cut at i_size. */
  read(pos: number, len: number): Promise<Uint8Array>;
  /** Bytes [pos, pos + len) of the file, cut at i_size, into dst[dstOff...]; resolves with their count. */
  readInto(pos: number, len: number, dst: Uint8Array, dstOff: number): Promise<number>;
}

/** Decoded pclusters kept per reader: enough for sequential reads and a little back-and-forth. */
const CACHE_ENTRIES = 8;
const CACHE_BYTES = 32 * 1024 * 1024;
/** Pcluster bytes read at once for extents a read covers wholly (adjacent pclusters, one read). */
const RUN_BYTES = 4 * 1024 * 1024;

/**
 * Opens a compressed inode: reads and validates its map header and, for
 * ztailpacking or fragment files, locates the tail extent.
 * @throws ErofsError EFSCORRUPTED / EOPNOTSUPP for a bad or unsupported header.
 */
export async function openZInode(img: ZImage, ino: ZInode): Promise<ZReader> {
  return new ZFile(img, ino, await ZMapper.open(img, ino));
}

interface Decoded {
  data: Promise<Uint8Array>;
  bytes: number;
}

class ZFile implements ZReader {
  private last: ZExtent | undefined;
  private readonly cache = new Map<string, Decoded>();
  private cachedBytes = 0;

  constructor(private readonly img: ZImage, private readonly ino: ZInode, private readonly mapper: ZMapper) {}

  async map(la: number): Promise<ZExtent> {
    return { ...(await this.mapper.map(la)) };
  }

  async read(pos: number, len: number): Promise<Uint8Array> {
    const where = this.mapper.nidText;
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0) {
      throw new ErofsError('EINVAL', `bad read range ${pos}+${len}`, where);
    }
    const end = Math.min(this.ino.size, pos + len);
    if (end <= pos) return new Uint8Array(0);
    const out = new Uint8Array(end - pos);
    await this.fill(pos, end, out, -pos, false);
    return out;
  }

  async readInto(pos: number, len: number, dst: Uint8Array, dstOff: number): Promise<number> {
    const where = this.mapper.nidText;
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0) {
      throw new ErofsError('EINVAL', `bad read range ${pos}+${len}`, where);
    }
    const end = Math.min(this.ino.size, pos + len);
    if (end <= pos) return 0;
    if (!Number.isSafeInteger(dstOff) || dstOff < 0 || dstOff + (end - pos) > dst.length) {
      throw new ErofsError('EINVAL', `${end - pos} bytes at ${dstOff} do not fit a buffer of ${dst.length}`, where);
    }
    await this.fill(pos, end, dst, dstOff - pos, true);
    return end - pos;
  }

  /** File bytes [pos, end) to out[x + at] for each x; holes zeroed only with `zero` (else `out` is fresh). */
  private async fill(pos: number, end: number, out: Uint8Array, at: number, zero: boolean): Promise<void> {
    let cur = pos;
    while (cur < end) {
      let e = this.last;
      if (e === undefined || cur < e.la || cur >= e.la + e.llen) {
        e = this.mapper.mapSync(cur) ?? await this.mapper.map(cur);
        this.last = e;
      }
      const segEnd = Math.min(end, e.la + e.llen);
      if (!(e.flags & MAPPED)) {
        // Holes read as zeros.
        if (zero) out.fill(0, cur + at, segEnd + at);
      } else if (e.flags & FRAGMENT) {
        await this.readFragment(e, cur, segEnd, out, cur + at);
      } else if (!(e.flags & INLINE) && e.la === cur && segEnd === e.la + e.llen) {
        cur = await this.readRun(e, end, out, at);
        continue;
      } else {
        const data = await this.decoded(e, segEnd - e.la);
        out.set(data.subarray(cur - e.la, segEnd - e.la), cur + at);
      }
      cur = segEnd;
    }
  }

  /**
   * Extents wholly inside [pos, end) whose pclusters follow each other on
   * the device, starting with `e` (at `cur`): one read of all their
   * pclusters, each decoded straight into `out` (bypassing the cache, which
   * only helps extents that a read covers partly). Returns where it stopped.
   */
  private async readRun(e: ZExtent, end: number, out: Uint8Array, at: number): Promise<number> {
    const run = [e];
    let rawEnd = e.pa + e.plen;
    let next = e.la + e.llen;
    while (next < end && rawEnd - e.pa < RUN_BYTES) {
      const f = this.mapper.mapSync(next) ?? await this.mapper.map(next);
      this.last = f;
      if ((f.flags & (MAPPED | INLINE | FRAGMENT)) !== MAPPED || f.la !== next || f.pa !== rawEnd
        || f.la + f.llen > end || rawEnd + f.plen - e.pa > RUN_BYTES) break;
      run.push(f);
      rawEnd += f.plen;
      next = f.la + f.llen;
    }
    let f = e;
    // One closure for the run (not one per pcluster): only an error message calls it.
    const where = (): string => this.pclusterText(f);
    // The pclusters are read in pieces when the image hands out what its
    // readahead holds (no copy to join them); a piece always holds the next
    // pcluster whole.
    for (let i = 0; i < run.length;) {
      const start = run[i]!.pa;
      const want = rawEnd - start;
      const need = run[i]!.plen;
      const raw = this.img.readDataSome ? await this.img.readDataSome(start, want, need) : await this.img.readData(start, want);
      if (raw.length < need || raw.length > want || (raw.length < want && !this.img.readDataSome)) {
        throw new ErofsError('EFSCORRUPTED', `short pcluster read: ${raw.length} of ${want} bytes`, this.pclusterText(run[i]!));
      }
      for (; i < run.length && run[i]!.pa + run[i]!.plen - start <= raw.length; i++) {
        f = run[i]!;
        if (f.llen > Z_EROFS_PCLUSTER_MAX_DSIZE) throw new ErofsError('EOPNOTSUPP', `extent decodes to ${f.llen} bytes`, where());
        const off = f.pa - start;
        const pending = decodeExtentAt(this.img, f, raw, off, off + f.plen, out, f.la + at, f.la + at + f.llen, where);
        if (pending) await pending;
      }
    }
    return next;
  }

  /** "pcluster at PA of nid N", for error messages. */
  private pclusterText(e: ZExtent): string {
    return `pcluster at ${e.pa} of ${this.mapper.nidText}`;
  }

  private async readFragment(e: ZExtent, from: number, to: number, out: Uint8Array, at: number): Promise<void> {
    if (this.img.packedNid !== undefined && this.img.packedNid === this.ino.nid) {
      throw new ErofsError('EFSCORRUPTED', 'the packed inode refers to a fragment of itself', this.mapper.nidText);
    }
    const b = await this.img.readPacked(e.pa + (from - e.la), to - from);
    if (b.length !== to - from) {
      throw new ErofsError('EFSCORRUPTED', `short fragment read: ${b.length} of ${to - from} bytes`, this.mapper.nidText);
    }
    out.set(b, at);
  }

  /** The first `need` (or more) decoded bytes of extent `e`, decoding its pcluster at most once while cached. */
  private decoded(e: ZExtent, need: number): Promise<Uint8Array> {
    const blkoff = e.algorithm === Z_EROFS_COMPRESSION_INTERLACED ? e.la % 2 ** this.img.blkszbits : 0;
    const key = `${e.flags & INLINE ? 'i' : 'd'}${e.pa}:${e.plen}:${e.algorithm}:${blkoff}`;
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.bytes >= need) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.data;
    }
    // Decode the whole extent even for a short read: the next read wants the rest.
    const want = Math.max(need, e.llen);
    const entry: Decoded = { data: this.decode(e, want), bytes: want };
    if (hit !== undefined) this.drop(key);
    this.cache.set(key, entry);
    this.cachedBytes += want;
    entry.data.catch(() => {
      if (this.cache.get(key) === entry) this.drop(key);
    });
    while (this.cache.size > CACHE_ENTRIES || (this.cachedBytes > CACHE_BYTES && this.cache.size > 1)) {
      this.drop(this.cache.keys().next().value!);
    }
    return entry.data;
  }

  private drop(key: string): void {
    const d = this.cache.get(key);
    if (d === undefined) return;
    this.cache.delete(key);
    this.cachedBytes -= d.bytes;
  }

  private async decode(e: ZExtent, n: number): Promise<Uint8Array> {
    const where = `pcluster at ${e.pa} of ${this.mapper.nidText}`;
    if (n > Z_EROFS_PCLUSTER_MAX_DSIZE) throw new ErofsError('EOPNOTSUPP', `extent decodes to ${n} bytes`, where);
    const raw = e.flags & INLINE ? await this.ino.readMeta(e.pa, e.plen) : await this.img.readData(e.pa, e.plen);
    if (raw.length !== e.plen) throw new ErofsError('EFSCORRUPTED', `short pcluster read: ${raw.length} of ${e.plen} bytes`, where);
    const dst = new Uint8Array(n);
    await decodeExtent(this.img, e, raw, dst, where);
    return dst;
  }
}
