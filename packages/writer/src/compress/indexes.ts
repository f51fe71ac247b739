/**
 * Logical cluster indexes of a compressed file, from its extents.
 *
 * Every lcluster (block-sized logical slice of the file) gets one index:
 * HEAD1 (or PLAIN for raw data) where an extent starts, with the offset of
 * that start inside the lcluster and the pcluster's block address; NONHEAD
 * for lclusters inside an extent, with the distance back to its head
 * (delta[0]) and ahead to the next head (delta[1]). With big pclusters the
 * first NONHEAD of an extent carries the pcluster's block count instead
 * (CBLKCNT). A file whose last extent ends inside an lcluster gets a final
 * PLAIN index whose offset is the end of file: the kernel then maps that
 * lcluster's bytes back to the previous extent.
 *
 * COMPRESSED_FULL stores them as 8-byte records after a 16-byte header.
 * COMPRESSED_COMPACT packs them: 2 indexes in 8 bytes (4B) or 16 in 32 bytes
 * (2B, 4 KiB lclusters only), each pack ending with the block address of
 * its first pcluster; the kernel derives the others by counting heads (and
 * CBLKCNTs), which is why compact indexes need contiguous pclusters in
 * file order: a file that reuses a pcluster (dedupe) gets full indexes.
 * The 2B packs start 32-byte aligned, after enough 4B packs ("4b
 * initial"); 4B packs finish the list.
 *
 * A fragment (the file's tail in the packed inode) is an ordinary HEAD1
 * extent with no blocks (a CBLKCNT of 0 with big pclusters); the map
 * header says which extent it is (the last). In full indexes its blkaddr
 * holds the upper 32 bits of the fragment's offset in the packed inode.
 */
import { LclusterType, Z_EROFS_LI_D0_CBLKCNT, Z_EROFS_LI_PARTIAL_REF, put16, put32 } from '@erofs/format';

/** An extent of a whole file, with its absolute start block. */
export interface FileExtent {
  length: number;
  plen: number;
  raw: boolean;
  /** Absolute block of the pcluster (the block after the data for an inline one). */
  pblk: number;
  partial?: boolean;
  /** The tail in the packed inode (plen 0; pblk: upper 32 bits of its offset there). */
  frag?: boolean;
}

/** One logical cluster index before encoding. */
export interface LIndex {
  type: number;
  clusterofs: number;
  /** HEAD/PLAIN: block address. */
  blkaddr: number;
  /** NONHEAD: delta[0] (with CBLKCNT bit when it is a block count) and delta[1]. */
  delta0: number;
  delta1: number;
  partial: boolean;
}

/** Full index list (one per lcluster) for extents covering a file in order. */
export function buildIndexes(extents: readonly FileExtent[], blkszbits: number, bigPcluster: boolean): LIndex[] {
  const bs = 1 << blkszbits;
  const out: LIndex[] = [];
  let clusterofs = 0;
  for (const e of extents) {
    let count = e.length;
    let d0 = 0;
    let d1 = (clusterofs + count) >> blkszbits;
    const head = (): LIndex => ({
      type: e.raw ? LclusterType.PLAIN : LclusterType.HEAD1, clusterofs, blkaddr: e.pblk, delta0: 0, delta1: 0,
      partial: !!e.partial,
    });
    if (d1 === 0) {
      // the extent starts and ends inside one lcluster (a tail)
      out.push(head());
      clusterofs = 0;
      continue;
    }
    const first = clusterofs;
    let co = clusterofs;
    do {
      if (d0 === 0) {
        out.push(head());
      } else if (d0 === 1 && bigPcluster) {
        out.push({ type: LclusterType.NONHEAD, clusterofs: first, blkaddr: 0, delta0: (e.plen >> blkszbits) | Z_EROFS_LI_D0_CBLKCNT, delta1: d1, partial: false });
      } else {
        // delta[0] values with the CBLKCNT bit would be read as a block count
        out.push({ type: LclusterType.NONHEAD, clusterofs: first, blkaddr: 0, delta0: Math.min(d0, Z_EROFS_LI_D0_CBLKCNT - 1), delta1: d1, partial: false });
      }
      count -= bs - co;
      co = 0;
      d0++;
      d1--;
    } while (co + count >= bs);
    clusterofs = count;
  }
  if (clusterofs !== 0) {
    out.push({ type: LclusterType.PLAIN, clusterofs, blkaddr: 0, delta0: 0, delta1: 0, partial: false });
  }
  return out;
}

/** Bytes of the COMPRESSED_FULL index area (16-byte header area included). */
export function fullIndexSize(n: number): number {
  return 16 + 8 * n;
}

/** Encodes full indexes into `b` at `o` (after the 16-byte header area). */
export function encodeFullIndexes(idx: readonly LIndex[], b: Uint8Array, o: number): void {
  for (let i = 0; i < idx.length; i++) {
    const x = idx[i]!;
    const p = o + i * 8;
    put16(b, p, x.type | (x.partial ? Z_EROFS_LI_PARTIAL_REF : 0));
    put16(b, p + 2, x.clusterofs);
    if (x.type === LclusterType.NONHEAD) {
      put16(b, p + 4, x.delta0);
      put16(b, p + 6, x.delta1);
    } else {
      put32(b, p + 4, x.blkaddr >>> 0);
    }
  }
}

/** How a compact index list splits: 4B packs first, 2B packs, 4B packs at the end. */
export function compactSplit(n: number, mpos: number, use2B: boolean): { initial4: number; twoB: number; end4: number } {
  if (!use2B) return { initial4: 0, twoB: 0, end4: n };
  let initial4 = (32 - (mpos % 32)) / 4;
  if (initial4 === 8) initial4 = 0;
  if (initial4 > n) return { initial4: 0, twoB: 0, end4: n };
  const twoB = Math.floor((n - initial4) / 16) * 16;
  return { initial4, twoB, end4: n - initial4 - twoB };
}

/**
 * Bytes of the compact index area after the 8-byte map header, for `n`
 * indexes starting at record offset `mpos` (inode-relative, header end).
 */
export function compactIndexSize(n: number, mpos: number, use2B: boolean): number {
  const s = compactSplit(n, mpos, use2B);
  return s.initial4 * 4 + s.twoB * 2 + Math.ceil(s.end4 / 2) * 8;
}

/**
 * Encodes compact indexes into `b` at `o`. `startBlk` is the first pcluster's
 * block; returns the bytes written.
 */
export function encodeCompactIndexes(
  idx: readonly LIndex[], b: Uint8Array, o: number, mpos: number, lclusterbits: number, use2B: boolean,
  bigPcluster: boolean, startBlk: number,
): number {
  const s = compactSplit(idx.length, mpos, use2B);
  // Without big pclusters the kernel counts the pack's own first head as +1.
  const st = { blkaddr: bigPcluster ? startBlk : startBlk - 1, dummyHead: !bigPcluster };
  let at = o;
  let i = 0;
  const pack = (vcnt: number, unit: number): void => {
    const cv: LIndex[] = [];
    for (let k = 0; k < vcnt; k++) {
      cv.push(idx[i + k] ?? { type: LclusterType.PLAIN, clusterofs: 0, blkaddr: 0, delta0: 0, delta1: 0, partial: false });
    }
    i += vcnt;
    at += writePack(cv, b, at, unit, lclusterbits, st, bigPcluster);
  };
  for (let k = 0; k < s.initial4; k += 2) pack(2, 4);
  for (let k = 0; k < s.twoB; k += 16) pack(16, 2);
  for (let k = 0; k < s.end4; k += 2) pack(2, 4);
  return at - o;
}

function writePack(
  cv: readonly LIndex[], b: Uint8Array, o: number, unit: number, lclusterbits: number,
  st: { blkaddr: number; dummyHead: boolean }, bigPcluster: boolean,
): number {
  const vcnt = unit === 4 ? 2 : 16;
  const lobits = Math.max(lclusterbits, 12);
  const encodebits = (vcnt * unit * 8 - 32) / vcnt;
  const size = vcnt * unit;
  b.fill(0, o, o + size);
  let base = st.blkaddr;
  let updateBase = bigPcluster;
  let pos = 0;
  for (let i = 0; i < vcnt; i++) {
    const x = cv[i]!;
    let lo: number;
    if (x.type === LclusterType.NONHEAD) {
      if (x.delta0 & Z_EROFS_LI_D0_CBLKCNT) {
        lo = x.delta0;
        st.blkaddr += x.delta0 & ~Z_EROFS_LI_D0_CBLKCNT;
        st.dummyHead = false;
      } else if (i + 1 === vcnt) {
        // the last index of a pack holds delta[1] (lookahead), not delta[0]
        lo = Math.min(x.delta1, Z_EROFS_LI_D0_CBLKCNT - 1);
      } else {
        lo = x.delta0;
      }
    } else {
      lo = x.clusterofs;
      if (st.dummyHead) {
        st.blkaddr++;
        if (updateBase) base = st.blkaddr;
      }
      st.dummyHead = true;
      updateBase = false;
    }
    const v = (x.type << lobits) | lo;
    const rem = pos & 7;
    const byte = o + (pos >> 3);
    b[byte] = (b[byte]! & ((1 << rem) - 1)) | ((v << rem) & 0xff);
    b[byte + 1] = (v >>> (8 - rem)) & 0xff;
    if (byte + 2 < o + size) b[byte + 2] = (v >>> (16 - rem)) & 0xff;
    pos += encodebits;
  }
  put32(b, o + size - 4, base >>> 0);
  return size;
}
