/**
 * zmap: from a compressed inode's map header and lcluster indexes to one
 * extent record {la, llen, pa, plen, flags, algorithm}, as the kernel's
 * fs/erofs/zmap.c and erofs-utils lib/zmap.c do it.
 *
 * Three index forms exist:
 * - COMPRESSED_FULL: one 8-byte z_erofs_lcluster_index per lcluster;
 * - COMPRESSED_COMPACT: bit-packed indexes in packs of 8 bytes (2 lclusters,
 *   "4B") or 32 bytes (16 lclusters, "2B"), each pack ending with the blkaddr
 *   its HEAD lclusters count from;
 * - COMPRESSED_FULL with Z_EROFS_ADVISE_EXTENTS (48-bit layout): a table of
 *   z_erofs_extent records of 4, 8, 16 or 32 bytes.
 *
 * Unlike the kernel, which maps only up to the end of the lcluster asked for,
 * every extent returned here is complete (FULL_MAPPED): the reader decodes a
 * pcluster once and serves every later read of it from the decoded bytes.
 */
import {
  DataLayout, ErofsError, FeatureIncompat, LclusterType, MAP_HEADER_SIZE, u16, u32, ZAdvise,
  Z_EROFS_ADVISE_EXTRECSZ_BIT, Z_EROFS_ADVISE_EXTRECSZ_MASK, Z_EROFS_COMPRESSION_MAX,
  Z_EROFS_EXTENT_PLEN_FMT_BIT, Z_EROFS_EXTENT_PLEN_MASK, Z_EROFS_EXTENT_PLEN_PARTIAL,
  Z_EROFS_FRAGMENT_INODE_BIT, Z_EROFS_LI_D0_CBLKCNT, Z_EROFS_LI_LCLUSTER_TYPE_MASK,
  Z_EROFS_LI_PARTIAL_REF, Z_EROFS_PCLUSTER_MAX_DSIZE, Z_EROFS_PCLUSTER_MAX_SIZE,
} from '@erofs/format';
import type { ZImage, ZInode } from './types.js';

/** Extent flags (the kernel's EROFS_MAP_*). The extent has data (else it reads as zeros). */
export const MAPPED = 0x1;
/** The pcluster is inline in the inode's metadata (ztailpacking): `pa` is a metadata position. */
export const INLINE = 0x2;
/** The data must go through a decompressor or a plain (shifted/interlaced) copy. */
export const ENCODED = 0x4;
/** `llen` is the whole decoded length of the extent, not just up to an lcluster end. */
export const FULL_MAPPED = 0x8;
/** The data lives in the packed inode at `pa` (with MAPPED); no pcluster. */
export const FRAGMENT = 0x10;
/** The pcluster decodes to more than `llen`: decode a prefix only (deduplicated data). */
export const PARTIAL_REF = 0x20;

/** `algorithm` of uncompressed pclusters stored as is (decoded byte i = pcluster byte i). */
export const Z_EROFS_COMPRESSION_SHIFTED = Z_EROFS_COMPRESSION_MAX;
/** `algorithm` of uncompressed pclusters rotated by the block offset of `la`. */
export const Z_EROFS_COMPRESSION_INTERLACED = Z_EROFS_COMPRESSION_MAX + 1;
/** `algorithm` of extents with no pcluster (holes, fragments). */
export const Z_EROFS_COMPRESSION_NONE = -1;

/** One mapped range of a compressed file, as the kernel's struct erofs_map_blocks. */
export interface ZExtent {
  /** Logical start of the extent (byte offset in the file). */
  la: number;
  /** Decoded length of the extent. */
  llen: number;
  /** Byte position of the pcluster on the device; the metadata position with INLINE; the offset in the packed inode with FRAGMENT. */
  pa: number;
  /** Bytes of the pcluster (equal to llen for fragments, 0 for holes). */
  plen: number;
  /** MAPPED | INLINE | ENCODED | FULL_MAPPED | FRAGMENT | PARTIAL_REF. */
  flags: number;
  /** 0-3 (lz4, lzma, deflate, zstd), SHIFTED, INTERLACED, or NONE. */
  algorithm: number;
}

/** Lookback/lookahead walks and binary searches stop after this many steps (an image can only loop by lying). */
const MAX_WALK = 1 << 20;
/** lcluster sizes above this have never been written and would overflow the compact bit fields. */
const MAX_LCLUSTERBITS = 24;
/** Metadata is fetched and cached in windows of this size, aligned to absolute positions. */
const META_WINDOW = 4096;
const META_WINDOWS_KEPT = 16;

function corrupt(message: string, where: string): ErofsError {
  return new ErofsError('EFSCORRUPTED', message, where);
}
function unsupported(message: string, where: string): ErofsError {
  return new ErofsError('EOPNOTSUPP', message, where);
}

/** Thrown by {@link MetaWindows.at} when the window is not loaded yet: fetch it and map again. */
class WindowMiss {
  constructor(readonly block: number) {}
}

/**
 * A cache of one inode's index area in aligned windows. Index records are
 * aligned to their own size (at most 32 bytes), so one never straddles two
 * windows. Lookups are synchronous: mapping runs without a promise per
 * lcluster, and stops with a WindowMiss when it needs a window not loaded yet.
 */
class MetaWindows {
  private readonly windows = new Map<number, Uint8Array>();
  constructor(
    private readonly readMeta: ZInode['readMeta'],
    private readonly start: number,
    private readonly end: number,
    private readonly where: () => string,
  ) {}

  /** Offset of the `pos` of the last {@link at} in the buffer it returned. */
  off = 0;

  /** The bytes [pos, pos + len) as a buffer, with the offset of `pos` in it left in {@link off} (no tuple per lookup). */
  at(pos: number, len: number): Uint8Array {
    if (pos < this.start || pos + len > this.end) {
      throw corrupt(`index record at ${pos} outside the index area [${this.start}, ${this.end})`, this.where());
    }
    const block = Math.floor(pos / META_WINDOW);
    if (Math.floor((pos + len - 1) / META_WINDOW) !== block) throw corrupt(`misaligned index record at ${pos}`, this.where());
    const w = this.windows.get(block);
    if (w === undefined) throw new WindowMiss(block);
    this.off = pos - Math.max(this.start, block * META_WINDOW);
    return w;
  }

  /** Loads the window of a miss. */
  async fill(miss: WindowMiss): Promise<void> {
    const wStart = Math.max(this.start, miss.block * META_WINDOW);
    const wEnd = Math.min(this.end, (miss.block + 1) * META_WINDOW);
    const b = await this.readMeta(wStart, wEnd - wStart);
    if (b.length !== wEnd - wStart) throw corrupt(`short metadata read at ${wStart}: ${b.length} of ${wEnd - wStart} bytes`, this.where());
    if (this.windows.size >= META_WINDOWS_KEPT) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(miss.block, b);
  }

  /** Runs the synchronous `fn`, loading windows it misses and running it again. */
  async run<T>(fn: () => T): Promise<T> {
    for (let misses = 0; ; misses++) {
      try {
        return fn();
      } catch (e) {
        if (!(e instanceof WindowMiss)) throw e;
        // A valid mapping touches a handful of windows; more means the indexes send us around in circles.
        if (misses >= META_WINDOWS_KEPT) throw corrupt('index lookups span too many metadata windows', this.where());
        await this.fill(e);
      }
    }
  }
}

/** The 32 bits of a compact pack starting at bit `bit` (entries are at most 16 bits wide). */
function compactedEntry(b: Uint8Array, o: number, bit: number): number {
  const at = o + (bit >> 3);
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> (bit & 7);
}

/** Type bits of the entry {@link packEntry} read last. */
let packType = 0;

/** Entry `bit / encodebits` of a compact pack: its `lobits` value bits (returned) and 2 type bits (in packType). */
function packEntry(b: Uint8Array, o: number, bit: number, lobits: number): number {
  const v = compactedEntry(b, o, bit);
  packType = (v >>> lobits) & 3;
  return v & ((1 << lobits) - 1);
}

/** What one lcluster index says, accumulated as the kernel's z_erofs_maprecorder. */
interface Recorder {
  lcn: number;
  type: number;
  headtype: number;
  clusterofs: number;
  delta0: number;
  delta1: number;
  pblk: number;
  /** From a CBLKCNT NONHEAD lcluster (big pclusters); 0 until one is seen. */
  compressedblks: number;
  /** Where the index pack after this lcluster starts (the inline pcluster follows the last one). */
  nextpackoff: number;
  partialref: boolean;
}

/** The parsed map header and the state derived from it. */
export class ZMapper {
  readonly nidText: string;
  private readonly blkszbits: number;
  private readonly size: number;
  private readonly layout: number;
  private advise = 0;
  lclusterbits = 0;
  /** 2 ** lclusterbits. */
  private lclusterSize = 0;
  private algorithmtype: [number, number] = [0, 0];
  /** Position of the map header (round_up(inode + xattrs, 8)). */
  private readonly headerPos: number;
  private fragment = false;
  /** Offset of the file's tail (or whole content) in the packed inode. */
  fragmentoff = 0;
  private idataSize = 0;
  private idataOff = 0;
  /** lcn of the head of the last extent (ztailpacking/fragment tail); -1 when not looked up. */
  private tailHeadLcn = -1;
  private extents = 0;
  private recsz = 0;
  private totalIdx = 0;
  private meta!: MetaWindows;
  /** {@link compactLayout}, once computed. */
  private compact: { ebase: number; initial4b: number; count2b: number } | undefined;
  /** Sequential-scan memo for 4/8-byte extent records: next record's lstart, position and pa. */
  private scan: { lstart: number; pos: number; pa: number } | undefined;

  private constructor(private readonly img: ZImage, private readonly ino: ZInode) {
    this.nidText = `nid ${ino.nid}`;
    this.blkszbits = img.blkszbits;
    this.size = ino.size;
    this.layout = ino.datalayout;
    this.headerPos = Math.ceil(ino.xattrEnd / 8) * 8;
  }

  /** Parses and validates the map header of `ino` (and finds its tail extent when it has one). */
  static async open(img: ZImage, ino: ZInode): Promise<ZMapper> {
    const m = new ZMapper(img, ino);
    await m.init();
    return m;
  }

  private where(lcn?: number): string {
    return lcn === undefined ? this.nidText : `lcn ${lcn} of ${this.nidText}`;
  }


  private async init(): Promise<void> {
    const { img, ino } = this;
    const where = this.nidText;
    if (this.layout !== DataLayout.COMPRESSED_FULL && this.layout !== DataLayout.COMPRESSED_COMPACT) {
      throw corrupt(`datalayout ${this.layout} is not a compressed layout`, where);
    }
    if (!Number.isSafeInteger(this.size) || this.size < 0) throw corrupt(`bad i_size ${this.size}`, where);
    if (img.blkszbits < 9 || img.blkszbits > 16) throw corrupt(`bad blkszbits ${img.blkszbits}`, where);
    if (this.size === 0) return;
    const h = await ino.readMeta(this.headerPos, MAP_HEADER_SIZE);
    if (h.length < MAP_HEADER_SIZE) throw corrupt('short read of the map header', where);
    const word0 = u32(h, 0);
    const advise = u16(h, 4);
    const clusterbits = h[7]!;
    const incompat = img.featureIncompat;

    if (clusterbits >> Z_EROFS_FRAGMENT_INODE_BIT) {
      // The whole file sits in the packed inode; the other 63 bits are its offset there.
      if (!(incompat & FeatureIncompat.FRAGMENTS)) throw corrupt('fragment inode without the fragments feature', where);
      const hi = u32(h, 4) & 0x7fffffff;
      const off = hi * 0x100000000 + word0;
      if (!Number.isSafeInteger(off + this.size)) throw corrupt(`fragment offset ${off} out of range`, where);
      this.advise = ZAdvise.FRAGMENT_PCLUSTER;
      this.fragment = true;
      this.fragmentoff = off;
      this.tailHeadLcn = 0;
      return;
    }
    this.advise = advise;
    this.lclusterbits = img.blkszbits + (clusterbits & 15);
    if (this.lclusterbits > MAX_LCLUSTERBITS) throw unsupported(`lclusterbits ${this.lclusterbits}`, where);
    this.lclusterSize = 2 ** this.lclusterbits;
    if ((advise & (ZAdvise.BIG_PCLUSTER_1 | ZAdvise.BIG_PCLUSTER_2)) && !(incompat & FeatureIncompat.BIG_PCLUSTER)) {
      throw corrupt('big pclusters without the big_pcluster feature', where);
    }

    if (this.layout === DataLayout.COMPRESSED_FULL && (advise & ZAdvise.EXTENTS)) {
      this.extents = word0 + u16(h, 6) * 0x100000000;
      this.recsz = 4 << ((advise >> Z_EROFS_ADVISE_EXTRECSZ_BIT) & Z_EROFS_ADVISE_EXTRECSZ_MASK);
      this.fragment = (advise & ZAdvise.FRAGMENT_PCLUSTER) !== 0;
      if (this.fragment && !(incompat & FeatureIncompat.FRAGMENTS)) throw corrupt('fragment without the fragments feature', where);
      const base = Math.ceil((this.headerPos + MAP_HEADER_SIZE) / this.recsz) * this.recsz;
      this.totalIdx = Math.ceil(this.size / this.lclusterSize);
      let end: number;
      if (this.recsz === 4) end = base + 8 + this.totalIdx * 4;
      else if (this.recsz === 8) end = base + this.totalIdx * 8;
      else {
        if (this.extents > this.size) throw corrupt(`${this.extents} extents for ${this.size} bytes`, where);
        end = base + this.extents * this.recsz;
      }
      this.meta = new MetaWindows(ino.readMeta, base, end, () => this.nidText);
      return;
    }

    this.algorithmtype = [h[6]! & 15, h[6]! >> 4];
    this.fragment = (advise & ZAdvise.FRAGMENT_PCLUSTER) !== 0;
    if (this.fragment) {
      if (!(incompat & FeatureIncompat.FRAGMENTS)) throw corrupt('fragment without the fragments feature', where);
      this.fragmentoff = word0;
    } else if (advise & ZAdvise.INLINE_PCLUSTER) {
      if (!(incompat & FeatureIncompat.ZTAILPACKING)) throw corrupt('inline pcluster without the ztailpacking feature', where);
      this.idataSize = word0 >>> 16;
      if (this.idataSize === 0 || this.idataSize > 2 ** this.blkszbits) {
        throw corrupt(`bad inline pcluster size ${this.idataSize}`, where);
      }
    }

    let end: number;
    if (this.layout === DataLayout.COMPRESSED_COMPACT) {
      if (!(advise & ZAdvise.BIG_PCLUSTER_1) !== !(advise & ZAdvise.BIG_PCLUSTER_2)) {
        throw corrupt('big pcluster HEAD1/HEAD2 of compact indexes disagree', where);
      }
      if (this.lclusterbits > 14) throw unsupported(`compact indexes with lclusterbits ${this.lclusterbits}`, where);
      // Writers count compact indexes per block, whatever the lcluster size.
      this.totalIdx = Math.ceil(this.size / 2 ** this.blkszbits);
      end = this.compactEnd();
    } else {
      this.totalIdx = Math.ceil(this.size / this.lclusterSize);
      end = this.headerPos + MAP_HEADER_SIZE + 8 + this.totalIdx * 8;
    }
    this.meta = new MetaWindows(ino.readMeta, this.headerPos, end, () => this.nidText);

    if (this.idataSize !== 0 || this.fragment) await this.findTail();
  }

  /** Layout of compact indexes: 4B packs up to a 32-byte boundary, then 2B packs of 16, then 4B packs. */
  private compactLayout(): { ebase: number; initial4b: number; count2b: number } {
    const ebase = this.headerPos + MAP_HEADER_SIZE;
    const initial4b = ((32 - (ebase % 32)) / 4) & 7;
    let count2b = 0;
    if ((this.advise & ZAdvise.COMPACTED_2B) && initial4b < this.totalIdx) {
      count2b = Math.floor((this.totalIdx - initial4b) / 16) * 16;
    }
    this.compact = { ebase, initial4b, count2b };
    return this.compact;
  }

  private compactEnd(): number {
    const { ebase, initial4b, count2b } = this.compactLayout();
    const n = this.totalIdx;
    if (n <= initial4b) return ebase + Math.ceil(n / 2) * 8;
    return ebase + initial4b * 4 + count2b * 2 + Math.ceil((n - initial4b - count2b) / 2) * 8;
  }

  /** Finds the head lcluster of the last extent, where the inline pcluster or the fragment applies. */
  private async findTail(): Promise<void> {
    const r = await this.meta.run(() => this.mapIndexes(this.size - 1, true));
    this.tailHeadLcn = r.lcn;
  }

  /** Maps the byte `la` of the file to its extent. */
  async map(la: number): Promise<ZExtent> {
    if (!Number.isSafeInteger(la) || la < 0) throw new ErofsError('EINVAL', `bad file offset ${la}`, this.nidText);
    if (la >= this.size) {
      return { la: this.size, llen: la + 1 - this.size, pa: 0, plen: 0, flags: 0, algorithm: Z_EROFS_COMPRESSION_NONE };
    }
    // A file whose only extent is its fragment needs no indexes (whole-file fragments have none).
    const e = this.fragment && this.tailHeadLcn === 0
      ? this.fragmentExtent(0)
      : await this.meta.run(() => (this.recsz !== 0 ? this.mapExtents(la) : this.mapIndexes(la, false).ext));
    this.check(e, la);
    return e;
  }

  /**
   * {@link map} without a promise when the index windows it needs are
   * already loaded; undefined when the async {@link map} must be used.
   */
  mapSync(la: number): ZExtent | undefined {
    if (!Number.isSafeInteger(la) || la < 0 || la >= this.size || (this.fragment && this.tailHeadLcn === 0)) return undefined;
    let e: ZExtent;
    try {
      e = this.recsz !== 0 ? this.mapExtents(la) : this.mapIndexes(la, false).ext;
    } catch (x) {
      if (x instanceof WindowMiss) return undefined;
      throw x;
    }
    this.check(e, la);
    return e;
  }

  /** The kernel's z_erofs_map_sanity_check, plus the promise every caller relies on: la <= pos < la + llen. */
  private check(e: ZExtent, pos: number): void {
    const where = this.nidText;
    if (!(e.la <= pos && pos < e.la + e.llen) || !Number.isSafeInteger(e.la + e.llen)) {
      throw corrupt(`extent [${e.la}, +${e.llen}) does not cover offset ${pos}`, where);
    }
    if (e.la + e.llen > this.size) throw corrupt(`extent [${e.la}, +${e.llen}) runs past i_size ${this.size}`, where);
    if (!(e.flags & ENCODED)) return;
    if (e.algorithm < Z_EROFS_COMPRESSION_MAX) {
      if (!(this.availableAlgs() & (1 << e.algorithm))) {
        throw corrupt(`algorithm ${e.algorithm} of extent at ${e.la} is not enabled in the superblock`, where);
      }
    } else if (e.algorithm !== Z_EROFS_COMPRESSION_SHIFTED && e.algorithm !== Z_EROFS_COMPRESSION_INTERLACED) {
      throw unsupported(`unknown algorithm ${e.algorithm} of extent at ${e.la}`, where);
    }
    if (e.plen > Z_EROFS_PCLUSTER_MAX_SIZE) throw unsupported(`pcluster of ${e.plen} bytes at ${e.la}`, where);
    if (e.llen > Z_EROFS_PCLUSTER_MAX_DSIZE) throw unsupported(`extent decodes to ${e.llen} bytes at ${e.la}`, where);
    if (e.plen === 0) throw corrupt(`empty pcluster at ${e.la}`, where);
    if (!Number.isSafeInteger(e.pa + e.plen) || e.pa < 0) throw corrupt(`bad pcluster position ${e.pa}`, where);
  }

  /** available_compr_algs; without COMPR_CFGS the superblock field is lz4_max_distance and only LZ4 exists. */
  private availableAlgs(): number {
    return this.img.featureIncompat & FeatureIncompat.COMPR_CFGS ? this.img.u1 : 1 << 0;
  }

  // ---- lcluster indexes (full and compact)

  /** One recorder per mapper, reset for each mapping (mappings are synchronous and never nest). */
  private readonly rec: Recorder = {
    lcn: 0, type: 0, headtype: 0, clusterofs: 0, delta0: 0, delta1: 0, pblk: 0,
    compressedblks: 0, nextpackoff: 0, partialref: false,
  };

  private newRecorder(): Recorder {
    const m = this.rec;
    m.lcn = 0;
    m.type = 0;
    m.headtype = 0;
    m.clusterofs = 0;
    m.delta0 = 0;
    m.delta1 = 0;
    m.pblk = 0;
    m.compressedblks = 0;
    m.nextpackoff = 0;
    m.partialref = false;
    return m;
  }

  private load(m: Recorder, lcn: number, lookahead: boolean): void {
    if (lcn >= this.totalIdx) throw corrupt(`lcluster beyond the end of the file (${this.totalIdx} lclusters)`, this.where(lcn));
    if (this.layout === DataLayout.COMPRESSED_COMPACT) this.loadCompact(m, lcn, lookahead);
    else this.loadFull(m, lcn);
    if (m.type !== LclusterType.NONHEAD && m.clusterofs >= this.lclusterSize) {
      throw corrupt(`clusterofs ${m.clusterofs} beyond the lcluster`, this.where(lcn));
    }
  }

  private loadFull(m: Recorder, lcn: number): void {
    const pos = this.headerPos + MAP_HEADER_SIZE + 8 + lcn * 8;
    const b = this.meta.at(pos, 8);
    const o = this.meta.off;
    m.lcn = lcn;
    m.nextpackoff = pos + 8;
    const advise = u16(b, o);
    m.type = advise & Z_EROFS_LI_LCLUSTER_TYPE_MASK;
    if (m.type === LclusterType.NONHEAD) {
      m.clusterofs = this.lclusterSize;
      m.delta0 = u16(b, o + 4);
      if (m.delta0 & Z_EROFS_LI_D0_CBLKCNT) {
        if (!(this.advise & (ZAdvise.BIG_PCLUSTER_1 | ZAdvise.BIG_PCLUSTER_2))) {
          throw corrupt('CBLKCNT without big pclusters', this.where(lcn));
        }
        m.compressedblks = m.delta0 & ~Z_EROFS_LI_D0_CBLKCNT;
        m.delta0 = 1;
      }
      m.delta1 = u16(b, o + 6);
    } else {
      m.partialref = (advise & Z_EROFS_LI_PARTIAL_REF) !== 0;
      m.clusterofs = u16(b, o + 2);
      m.pblk = u32(b, o + 4);
    }
  }

  private loadCompact(m: Recorder, lcn: number, lookahead: boolean): void {
    const lclusterbits = this.lclusterbits;
    const { ebase, initial4b, count2b } = this.compact ?? this.compactLayout();
    let pos = ebase;
    let rel = lcn;
    let shift = 2;
    if (rel >= initial4b) {
      pos += initial4b * 4;
      rel -= initial4b;
      if (rel < count2b) shift = 1;
      else {
        pos += count2b * 2;
        rel -= count2b;
      }
    }
    pos += rel << shift;
    const vcnt = shift === 2 ? 2 : 16;
    if (shift === 1 && lclusterbits > 12) throw unsupported(`2B compact indexes with lclusterbits ${lclusterbits}`, this.where(lcn));
    const packSize = vcnt << shift;
    const packPos = pos - (pos % packSize);
    const b = this.meta.at(packPos, packSize);
    const o = this.meta.off;
    m.lcn = lcn;
    m.nextpackoff = packPos + packSize;

    // Each entry: `lobits` bits of value then 2 bits of type, `encodebits` apart.
    const lobits = Math.max(lclusterbits, 12);
    const encodebits = ((packSize - 4) * 8) / vcnt;
    // packEntry leaves the entry's type in `packType` (a closure here would be made for every lcluster looked at).
    let i = (pos - packPos) >> shift;
    const big = (this.advise & ZAdvise.BIG_PCLUSTER_1) !== 0;
    let lo = packEntry(b, o, encodebits * i, lobits);
    m.type = packType;
    if (packType === LclusterType.NONHEAD) {
      m.clusterofs = this.lclusterSize;
      if (lookahead) {
        // delta[1]: NONHEADs up to the next HEAD in this pack; the pack's last entry stores the rest.
        let d1 = 0;
        let last = 0;
        let j = i;
        for (; j < vcnt; j++) {
          last = packEntry(b, o, encodebits * j, lobits);
          if (packType !== LclusterType.NONHEAD) break;
          d1++;
        }
        if (j === vcnt && !(last & Z_EROFS_LI_D0_CBLKCNT)) d1 += last - 1;
        m.delta1 = d1;
      }
      if (lo & Z_EROFS_LI_D0_CBLKCNT) {
        if (!big) throw corrupt('CBLKCNT without big pclusters', this.where(lcn));
        m.compressedblks = lo & ~Z_EROFS_LI_D0_CBLKCNT;
        m.delta0 = 1;
      } else if (i + 1 !== vcnt) {
        m.delta0 = lo;
      } else {
        // The last entry of a pack holds delta[1]; delta[0] follows from the entry before it.
        lo = packEntry(b, o, encodebits * (i - 1), lobits);
        if (packType !== LclusterType.NONHEAD) lo = 0;
        else if (lo & Z_EROFS_LI_D0_CBLKCNT) lo = 1;
        m.delta0 = lo + 1;
      }
      return;
    }
    m.clusterofs = lo;
    m.delta0 = 0;
    // A HEAD's blkaddr: the pack's base blkaddr plus the blocks of the pclusters before it in the pack.
    let nblk = 0;
    if (!big) {
      nblk = 1;
      while (i > 0) {
        --i;
        lo = packEntry(b, o, encodebits * i, lobits);
        if (packType === LclusterType.NONHEAD) i -= lo;
        if (i >= 0) ++nblk;
      }
    } else {
      while (i > 0) {
        --i;
        lo = packEntry(b, o, encodebits * i, lobits);
        if (packType === LclusterType.NONHEAD) {
          if (lo & Z_EROFS_LI_D0_CBLKCNT) {
            --i;
            nblk += lo & ~Z_EROFS_LI_D0_CBLKCNT;
            continue;
          }
          if (lo <= 1) throw corrupt(`bad delta[0] ${lo} in a big-pcluster pack`, this.where(lcn));
          i -= lo - 2;
          continue;
        }
        ++nblk;
      }
    }
    m.pblk = u32(b, o + packSize - 4) + nblk;
  }

  /** Walks back from a NONHEAD to the head of its extent; sets la of the extent. */
  private lookback(m: Recorder, distance: number): number {
    for (let steps = 0; steps < MAX_WALK; steps++) {
      if (distance === 0 || distance > m.lcn) break;
      const lcn = m.lcn - distance;
      this.load(m, lcn, false);
      if (m.type === LclusterType.NONHEAD) {
        distance = m.delta0;
        continue;
      }
      m.headtype = m.type;
      return lcn * this.lclusterSize + m.clusterofs;
    }
    throw corrupt(`bogus lookback distance ${distance}`, this.where(m.lcn));
  }

  /** Bytes of the pcluster of the head just loaded (z_erofs_get_extent_compressedlen). */
  private compressedLen(m: Recorder): number {
    const bigpcl1 = (this.advise & ZAdvise.BIG_PCLUSTER_1) !== 0;
    const bigpcl2 = (this.advise & ZAdvise.BIG_PCLUSTER_2) !== 0;
    const lcn = m.lcn + 1;
    if ((m.headtype === LclusterType.HEAD1 && !bigpcl1)
      || ((m.headtype === LclusterType.PLAIN || m.headtype === LclusterType.HEAD2) && !bigpcl2)
      || lcn * this.lclusterSize >= this.size) {
      m.compressedblks = 1;
    }
    if (m.compressedblks === 0) {
      this.load(m, lcn, false);
      if (m.type === LclusterType.NONHEAD) {
        if (m.delta0 !== 1) throw corrupt('bogus CBLKCNT', this.where(lcn));
        if (m.compressedblks === 0) throw corrupt('cannot find CBLKCNT', this.where(lcn));
      } else {
        // The lcluster after the head is a head itself: a one-block pcluster.
        m.compressedblks = 1;
      }
    }
    return m.compressedblks * 2 ** this.blkszbits;
  }

  /** End of the extent starting at head `headLcn` (z_erofs_get_extent_decompressedlen). */
  private decompressedEnd(m: Recorder, headLcn: number): number {
    const bits = this.lclusterSize;
    let lcn = headLcn;
    for (let steps = 0; steps < MAX_WALK; steps++) {
      if (lcn * bits >= this.size) return this.size;
      this.load(m, lcn, true);
      if (m.type === LclusterType.NONHEAD) {
        // mkfs before 1.0 could write delta[1] = 0.
        if (m.delta1 === 0) m.delta1 = 1;
      } else {
        if (lcn !== headLcn) return lcn * bits + m.clusterofs;
        m.delta1 = 1;
      }
      lcn += m.delta1;
    }
    throw corrupt('lookahead does not end', this.where(lcn));
  }

  /**
   * z_erofs_map_blocks_fo: maps `ofs` through the lcluster indexes. With
   * `findTail`, only locates the last extent's head (and the inline pcluster).
   */
  private mapIndexes(ofs: number, findTail: boolean): { lcn: number; ext: ZExtent } {
    const lsize = this.lclusterSize;
    const m = this.newRecorder();
    const initialLcn = Math.floor(ofs / lsize);
    const endoff = ofs - initialLcn * lsize;
    this.load(m, initialLcn, false);
    if (findTail && this.idataSize !== 0) this.idataOff = m.nextpackoff;

    let flags = MAPPED | ENCODED;
    let end = (m.lcn + 1) * lsize;
    let la: number;
    if (m.type === LclusterType.NONHEAD) {
      la = this.lookback(m, m.delta0);
    } else if (endoff >= m.clusterofs) {
      m.headtype = m.type;
      la = m.lcn * lsize + m.clusterofs;
      // ztailpacking: the EOF lcluster may hold the ends of several extents.
      if (this.idataSize !== 0 && end > this.size) end = this.size;
    } else {
      // `ofs` lies before this head: it belongs to the extent ending here.
      if (m.lcn === 0) throw corrupt('lcluster 0 starts after offset 0', this.where(0));
      end = m.lcn * lsize + m.clusterofs;
      flags |= FULL_MAPPED;
      la = this.lookback(m, 1);
    }
    const headLcn = m.lcn;
    if (m.partialref) flags |= PARTIAL_REF;
    if (findTail) {
      if (this.fragment && this.layout === DataLayout.COMPRESSED_FULL) {
        // Full indexes keep the fragment offset's upper 32 bits in the tail head's blkaddr.
        this.fragmentoff += m.pblk * 0x100000000;
        if (!Number.isSafeInteger(this.fragmentoff)) throw corrupt('fragment offset out of range', this.nidText);
      }
      return { lcn: headLcn, ext: { la, llen: end - la, pa: 0, plen: 0, flags, algorithm: 0 } };
    }

    let pa: number;
    let plen: number;
    const headtype = m.headtype;
    if (this.idataSize !== 0 && headLcn === this.tailHeadLcn) {
      flags |= INLINE;
      pa = this.idataOff;
      plen = this.idataSize;
      const blkoff = pa % 2 ** this.blkszbits;
      if (blkoff + plen > 2 ** this.blkszbits) throw corrupt(`inline pcluster of ${plen} bytes crosses a block`, this.where(headLcn));
    } else if (this.fragment && headLcn === this.tailHeadLcn) {
      return { lcn: headLcn, ext: this.fragmentExtent(la) };
    } else {
      pa = m.pblk * 2 ** this.blkszbits;
      plen = this.compressedLen(m);
    }
    if (!(flags & FULL_MAPPED)) {
      end = this.decompressedEnd(m, headLcn);
      flags |= FULL_MAPPED;
    }
    const llen = end - la;

    let algorithm: number;
    if (headtype === LclusterType.PLAIN) {
      if (llen > plen) throw corrupt(`plain extent of ${llen} bytes in a ${plen}-byte pcluster`, this.where(headLcn));
      algorithm = this.advise & ZAdvise.INTERLACED_PCLUSTER ? Z_EROFS_COMPRESSION_INTERLACED : Z_EROFS_COMPRESSION_SHIFTED;
    } else {
      algorithm = this.algorithmtype[headtype === LclusterType.HEAD2 ? 1 : 0];
    }
    return { lcn: headLcn, ext: { la, llen, pa, plen, flags, algorithm } };
  }

  private fragmentExtent(la: number): ZExtent {
    const llen = this.size - la;
    return { la, llen, pa: this.fragmentoff, plen: llen, flags: MAPPED | FRAGMENT, algorithm: Z_EROFS_COMPRESSION_NONE };
  }

  // ---- extent records (48-bit layout)

  /** z_erofs_map_blocks_ext. */
  private mapExtents(target: number): ZExtent {
    const recsz = this.recsz;
    const lsize = this.lclusterSize;
    const base = Math.ceil((this.headerPos + MAP_HEADER_SIZE) / recsz) * recsz;
    let lend = this.size;
    let lstart: number;
    let plenRaw = 0;
    let pa = 0;
    let last: boolean;
    if (recsz <= 8) {
      // One record per lcluster; 4-byte records hold only plen, pclusters following each other from a base pa.
      let pos: number;
      let nextPa: number;
      const s = this.scan;
      if (recsz === 4 && s !== undefined && s.lstart <= target) {
        ({ lstart, pos, pa: nextPa } = s);
      } else if (recsz === 4) {
        const b = this.meta.at(base, 8);
        const o = this.meta.off;
        nextPa = u32(b, o) + u32(b, o + 4) * 0x100000000;
        pos = base + 8;
        lstart = 0;
      } else {
        lstart = Math.floor(target / lsize) * lsize;
        pos = base + (lstart / lsize) * 8;
        nextPa = -1;
      }
      for (; lstart <= target; lstart += lsize) {
        const b = this.meta.at(pos, recsz);
        const o = this.meta.off;
        plenRaw = u32(b, o);
        if (nextPa >= 0) {
          pa = nextPa;
          nextPa += plenRaw & Z_EROFS_EXTENT_PLEN_MASK;
        } else {
          pa = u32(b, o + 4);
        }
        pos += recsz;
      }
      if (recsz === 4) this.scan = { lstart, pos, pa: nextPa };
      last = lstart >= Math.ceil(lend / lsize) * lsize;
      lend = Math.min(lstart, lend);
      lstart -= lsize;
    } else {
      lstart = lend;
      let l = 0;
      let r = this.extents;
      for (let steps = 0; l < r; steps++) {
        if (steps > 64) throw corrupt('extent search does not end', this.nidText);
        const mid = l + Math.floor((r - l) / 2);
        const b = this.meta.at(base + mid * recsz, recsz);
        const o = this.meta.off;
        let la = u32(b, o + 12);
        if (recsz > 16) la += u32(b, o + 16) * 0x100000000;
        if (la > target) {
          r = mid;
          if (la > lend) throw corrupt(`extent ${mid} starts at ${la}, past ${lend}`, this.nidText);
          lend = la;
        } else {
          l = mid + 1;
          if (la === target) r = Math.min(l + 1, r);
          lstart = la;
          plenRaw = u32(b, o);
          pa = u32(b, o + 4) + u32(b, o + 8) * 0x100000000;
        }
      }
      last = l >= this.extents;
    }

    const ext: ZExtent = { la: target, llen: 0, pa: 0, plen: 0, flags: 0, algorithm: Z_EROFS_COMPRESSION_NONE };
    if (lstart < lend) {
      ext.la = lstart;
      if (last && this.fragment) {
        this.fragmentoff = plenRaw + (recsz > 4 ? pa * 0x100000000 : 0);
        if (!Number.isSafeInteger(this.fragmentoff)) throw corrupt('fragment offset out of range', this.nidText);
        return { ...this.fragmentExtent(lstart), llen: lend - lstart };
      }
      const plen = plenRaw & Z_EROFS_EXTENT_PLEN_MASK;
      if (plen !== 0) {
        ext.flags = MAPPED | FULL_MAPPED | ENCODED;
        if (plenRaw & Z_EROFS_EXTENT_PLEN_PARTIAL) ext.flags |= PARTIAL_REF;
        ext.pa = pa;
        ext.plen = plen;
        const fmt = plenRaw >>> Z_EROFS_EXTENT_PLEN_FMT_BIT;
        const bmask = 2 ** this.blkszbits - 1;
        if (fmt !== 0) ext.algorithm = fmt - 1;
        else if ((this.advise & ZAdvise.INTERLACED_PCLUSTER) && pa % (bmask + 1) === 0 && (plen & bmask) === 0) {
          ext.algorithm = Z_EROFS_COMPRESSION_INTERLACED;
        } else ext.algorithm = Z_EROFS_COMPRESSION_SHIFTED;
        if (ext.algorithm >= Z_EROFS_COMPRESSION_MAX && lend - lstart > plen) {
          throw corrupt(`plain extent of ${lend - lstart} bytes in a ${plen}-byte pcluster`, this.nidText);
        }
      }
    }
    ext.llen = lend - ext.la;
    return ext;
  }
}
