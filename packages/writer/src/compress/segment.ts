/**
 * The compression loop over one segment of a file (a block-aligned run of
 * its bytes, held in memory): cut it into extents, each one physical
 * cluster filled with as much input as fits, the way mkfs.erofs does:
 *
 *  - an extent whose compressed size, rounded up to blocks, does not beat
 *    its input length is stored raw, one block per extent (PLAIN lclusters;
 *    with INTERLACED the bytes are rotated by the lcluster offset);
 *  - a final piece of at most one block is stored raw (nothing to gain),
 *    unless the tail may be inlined (ztailpacking): then a tail that
 *    compresses below one block goes after the indexes, compressed or raw;
 *  - compressed data is right-aligned in its blocks behind zero padding
 *    (INCOMPAT_ZERO_PADDING), the padding is always zero-filled;
 *  - with -E fragments, the last segment's tail is returned uncompressed
 *    for the packed inode (a fragment): whatever is left once it fits in
 *    one pcluster, or as soon as the rest compresses into less than one
 *    pcluster, as mkfs.erofs decides (the tail then is not inlined).
 *
 * A pure function of (bytes, parameters): the same on any thread, which
 * keeps images identical whatever the number of workers.
 */
import type { Compressor } from './codec.js';

/** Per-segment parameters (structured-clonable: sent to workers). */
export interface SegmentParams {
  blkszbits: number;
  /** Physical cluster size in bytes (multiple of the block size). */
  pclusterSize: number;
  /** Longest input one extent may take. */
  maxExtent: number;
  /** Last segment of a ztailpacking file: the tail may go inline. */
  mayInline: boolean;
  /** Raw blocks are stored rotated by their lcluster offset (Z_EROFS_ADVISE_INTERLACED_PCLUSTER). */
  interlaced: boolean;
  /** Last segment of a -E fragments file: the tail goes to the packed inode (wins over mayInline). */
  mayPack?: boolean;
}

/** One extent of a segment. */
export interface SegExtent {
  /** Uncompressed bytes. */
  length: number;
  /** Physical bytes (whole blocks); the block size for an inline extent, as mkfs.erofs records it. */
  plen: number;
  raw: boolean;
  /** First block, relative to the segment's data; for an inline extent the block after the data. */
  blk: number;
  inline?: boolean;
  /** The tail kept uncompressed for the packed inode (plen 0, no blocks). */
  frag?: boolean;
}

/** What a segment compresses to. */
export interface SegmentResult {
  extents: SegExtent[];
  /** The physical blocks, in extent order. */
  data: Uint8Array;
  /** The inline (tail-packed) pcluster, if any. */
  idata?: Uint8Array;
  /** The uncompressed tail for the packed inode (-E fragments), if any. */
  frag?: Uint8Array;
  /**
   * Set by the pool on results whose `data` lives in a reusable buffer: the
   * committer calls it once `data` is written and no longer needed.
   */
  release?: () => void;
}

function roundUp(n: number, bs: number): number {
  return Math.ceil(n / bs) * bs;
}

let scratch: Uint8Array | undefined;
let scratch2: Uint8Array | undefined;

/**
 * Compresses `src` (a whole segment) with `comp`. `into`, when given, is
 * where the physical blocks are written (the result's `data` is then a view
 * of it, unless it had to grow); else a new buffer is allocated.
 */
export function compressSegment(src: Uint8Array, p: SegmentParams, comp: Compressor, into?: Uint8Array): SegmentResult {
  const bs = 1 << p.blkszbits;
  const pcs = p.pclusterSize;
  if (!scratch || scratch.length < pcs) scratch = new Uint8Array(pcs);
  const dst = scratch;
  const extents: SegExtent[] = [];
  // The output, written in place: usually a little less than the input
  // rounded up to blocks; grown when raw pieces make it longer.
  let out = into ?? new Uint8Array(roundUp(src.length, bs) + bs);
  const reserve = (n: number): void => {
    const need = nblk * bs + n;
    if (need <= out.length) return;
    const bigger = new Uint8Array(Math.max(need, out.length * 2));
    bigger.set(out.subarray(0, nblk * bs));
    out = bigger;
  };
  let nblk = 0;
  let idata: Uint8Array | undefined;
  let frag: Uint8Array | undefined;
  let head = 0;
  let clusterofs = 0;
  const end = src.length;

  const pushRaw = (len: number, processed: number): void => {
    let size = len;
    for (;;) {
      const count = Math.min(bs, size);
      reserve(bs);
      const at = nblk * bs;
      const shift = p.interlaced ? clusterofs : 0;
      const right = Math.min(bs - shift, count);
      if (count < bs) out.fill(0, at, at + bs); // `out` may be a reused buffer
      out.set(src.subarray(head, head + right), at + shift);
      if (count > right) out.set(src.subarray(head + right, head + count), at);
      extents.push({ length: count, plen: bs, raw: true, blk: nblk });
      nblk++;
      size -= count;
      head += count;
      clusterofs = (clusterofs + count) & (bs - 1);
      if (processed < bs + count) return;
      processed -= count;
    }
  };

  const mayPack = p.mayPack === true;
  const mayInline = p.mayInline && !mayPack;
  const pack = (): void => {
    frag = src.slice(head, end);
    extents.push({ length: end - head, plen: 0, raw: false, blk: nblk, frag: true });
    head = end;
  };

  while (head < end) {
    const len = end - head;
    if (mayPack && len <= pcs) {
      pack();
      continue;
    }
    if (len <= pcs && !mayInline && len <= bs) {
      pushRaw(len, len);
      continue;
    }
    const want = Math.min(len, p.maxExtent);
    const r = comp.fit(src, head, head + want, dst, pcs);
    let consumed = r.consumed;
    let csize = r.written;
    const ok = csize > 0 && consumed > 0;
    let ret = csize;
    if (ok && !(mayInline && consumed === len && csize < bs)) ret = roundUp(csize, bs);
    if (!ok || ret >= consumed) {
      if (mayInline && len < bs) {
        idata = src.slice(head, end);
        extents.push({ length: len, plen: bs, raw: true, blk: nblk, inline: true });
        head = end;
        continue;
      }
      pushRaw(len, Math.min(ok ? consumed : want, pcs));
      continue;
    }
    if (mayPack && consumed === len && csize < pcs) {
      // the rest compresses into less than one pcluster: it shares the packed inode's instead
      pack();
      continue;
    }
    if (mayInline && consumed === len && csize < bs) {
      idata = dst.slice(0, csize);
      extents.push({ length: len, plen: bs, raw: false, blk: nblk, inline: true });
      head = end;
      continue;
    }
    let data = dst;
    if (mayInline && consumed === len && csize % bs !== 0 && csize > bs) {
      // A little less input may save a whole block; the rest becomes the inline tail.
      if (!scratch2 || scratch2.length < pcs) scratch2 = new Uint8Array(pcs);
      const cap = Math.floor(csize / bs) * bs;
      const r2 = comp.fit(src, head, head + consumed, scratch2, cap);
      if (r2.written > 0 && r2.consumed > 0 && r2.written + (consumed - r2.consumed) < roundUp(csize, bs)) {
        consumed = r2.consumed;
        csize = r2.written;
        data = scratch2;
      }
    }
    const plen = roundUp(csize, bs);
    reserve(plen);
    const at = nblk * bs;
    out.fill(0, at, at + plen - csize);
    out.set(data.subarray(0, csize), at + plen - csize);
    extents.push({ length: consumed, plen, raw: false, blk: nblk });
    nblk += plen / bs;
    head += consumed;
    clusterofs = (clusterofs + consumed) & (bs - 1);
  }

  // a view: its whole buffer is transferred back from a worker
  const res: SegmentResult = { extents, data: out.subarray(0, nblk * bs) };
  if (frag) res.frag = frag;
  if (idata) {
    res.idata = idata;
    for (const e of extents) if (e.inline) e.blk = nblk;
  }
  return res;
}
