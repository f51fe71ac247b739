/**
 * Image-wide compression decisions: which algorithms are available, the
 * largest pcluster (BIG_PCLUSTER when over one block), the per-algorithm
 * configuration records stored after the superblock (COMPR_CFGS), and per
 * file the compressor and pcluster size the hints choose, and whether its
 * tail (-E fragments) or all of it (-E all-fragments) goes to the packed
 * inode and its pclusters may be shared (-E dedupe).
 */
import {
  CompressionAlgorithm, ErofsError, FeatureIncompat, Z_EROFS_LI_D0_CBLKCNT, Z_EROFS_PCLUSTER_MAX_SIZE,
  encodeDeflateCfgs, encodeLz4Cfgs, encodeZstdCfgs, put16,
} from '@erofs/format';
import type { WriterOptions } from '../options.js';
import { deflateWindow, maxInputFor, zstdWindow } from './codec.js';
import { algorithmId, validateSpec, type CompressionSpec } from './spec.js';

/** LZ4's largest match distance (LZ4_DISTANCE_MAX). */
const LZ4_MAX_DISTANCE = 65535;
/** Bytes of a file compressed as one unit (a segment): pclusters never cross one. */
const SEGMENT_BYTES = 4 << 20;

/** How one file is compressed. */
export interface FileCompression {
  spec: CompressionSpec;
  algorithmId: number;
  pclusterSize: number;
  maxExtent: number;
  segmentBytes: number;
  /** -E fragments: the file's tail goes to the packed inode (see fragments.ts). */
  fragments: boolean;
  /** -E all-fragments: the whole file goes to the packed inode. */
  allFragments: boolean;
  /** -E dedupe: pclusters identical to one already written are shared (see dedupe.ts). */
  dedupe: boolean;
}

export class CompressionPlan {
  readonly specs: CompressionSpec[];
  readonly blkszbits: number;
  readonly pclusterSize: number;
  readonly maxPclusterBlks: number;
  readonly bigPcluster: boolean;
  readonly availableAlgs: number;
  /** COMPR_CFGS (the same bit as BIG_PCLUSTER): config records follow the superblock. */
  readonly cfgs: boolean;
  readonly ztailpacking: boolean;
  readonly legacy: boolean;
  /** -E fragments (or all-fragments): tails go to the packed inode. */
  readonly fragments: boolean;
  readonly allFragments: boolean;
  readonly dedupe: boolean;

  constructor(private readonly o: WriterOptions) {
    this.specs = o.compression ?? [];
    this.blkszbits = o.blkszbits;
    const bs = 2 ** o.blkszbits;
    for (const s of this.specs) validateSpec(s);
    this.pclusterSize = o.pclusterSize ?? bs;
    const checkPcs = (n: number, what: string): void => {
      if (!Number.isInteger(n) || n < bs || n % bs !== 0 || n > Z_EROFS_PCLUSTER_MAX_SIZE || n / bs >= Z_EROFS_LI_D0_CBLKCNT) {
        throw new ErofsError('EINVAL', `${what} ${n} must be a multiple of the block size, at most ${Z_EROFS_PCLUSTER_MAX_SIZE}`);
      }
    };
    checkPcs(this.pclusterSize, 'physical cluster size');
    let maxPcs = this.pclusterSize;
    for (const h of o.compressHints ?? []) {
      if (h.pclusterSize !== 0) checkPcs(h.pclusterSize, 'compress hint pcluster size');
      if (h.configIndex >= this.specs.length) throw new ErofsError('EINVAL', `compress hint names compressor #${h.configIndex}, not given with -z`);
      maxPcs = Math.max(maxPcs, h.pclusterSize);
    }
    if (o.packedPclusterSize !== undefined && (o.fragments || o.allFragments)) {
      checkPcs(o.packedPclusterSize, 'pcluster size for the packed file');
      maxPcs = Math.max(maxPcs, o.packedPclusterSize);
    }
    if (o.maxExtentBytes !== undefined && (!Number.isInteger(o.maxExtentBytes) || o.maxExtentBytes < bs)) {
      throw new ErofsError('EINVAL', `maximum extent size ${o.maxExtentBytes} must be at least the block size`);
    }
    this.maxPclusterBlks = maxPcs / bs;
    this.bigPcluster = this.maxPclusterBlks > 1;
    let algs = 0;
    for (const s of this.specs) algs |= 1 << algorithmId(s.algorithm);
    this.availableAlgs = algs;
    this.cfgs = this.specs.length > 0 && (this.bigPcluster || (algs & ~(1 << CompressionAlgorithm.LZ4)) !== 0);
    this.ztailpacking = !!o.ztailpacking;
    this.legacy = !!o.legacyCompress;
    this.allFragments = !!o.allFragments;
    this.fragments = !!o.fragments || this.allFragments;
    this.dedupe = !!o.dedupe;
  }

  get enabled(): boolean {
    return this.specs.length > 0;
  }

  /** feature_incompat bits this plan sets. */
  incompat(anyInline: boolean): number {
    if (!this.enabled) return 0;
    return FeatureIncompat.ZERO_PADDING | (this.cfgs ? FeatureIncompat.COMPR_CFGS : 0)
      | (this.ztailpacking && anyInline ? FeatureIncompat.ZTAILPACKING : 0);
  }

  /** The superblock's u1: available algorithms with COMPR_CFGS, else LZ4's max distance. */
  u1(): number {
    if (!this.enabled) return 0;
    return this.cfgs ? this.availableAlgs : LZ4_MAX_DISTANCE;
  }

  /** Config records (each __le16 size + payload, 4-byte aligned), in algorithm order. */
  cfgsBytes(): Uint8Array {
    if (!this.cfgs) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    const rec = (payload: Uint8Array): void => {
      const b = new Uint8Array((2 + payload.length + 3) & ~3);
      put16(b, 0, payload.length);
      b.set(payload, 2);
      parts.push(b);
    };
    const specsOf = (id: number) => this.specs.filter((s) => algorithmId(s.algorithm) === id);
    for (let id = 0; id < 4; id++) {
      if (!(this.availableAlgs & (1 << id))) continue;
      if (id === CompressionAlgorithm.LZ4) rec(encodeLz4Cfgs({ maxDistance: LZ4_MAX_DISTANCE, maxPclusterblks: this.maxPclusterBlks }));
      else if (id === CompressionAlgorithm.DEFLATE) {
        rec(encodeDeflateCfgs({ windowbits: Math.log2(Math.max(...specsOf(id).map(deflateWindow))) }));
      } else if (id === CompressionAlgorithm.ZSTD) {
        rec(encodeZstdCfgs({ format: 0, windowlog: Math.log2(Math.max(...specsOf(id).map(zstdWindow))) - 10 }));
      }
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** How the file at `relPath` (no leading '/') is compressed; null: stored uncompressed. */
  forFile(relPath: string): FileCompression | null {
    if (!this.enabled) return null;
    let pcs = this.pclusterSize;
    let idx = 0;
    for (const h of this.o.compressHints ?? []) {
      if (h.pattern.test(relPath)) {
        pcs = h.pclusterSize;
        idx = h.configIndex;
        break;
      }
    }
    if (pcs === 0) return null;
    const spec = this.specs[idx]!;
    const maxExtent = Math.min(this.o.maxExtentBytes ?? Infinity, maxInputFor(spec));
    const bs = 2 ** this.blkszbits;
    const seg = Math.max(SEGMENT_BYTES, pcs * 16);
    return {
      spec, algorithmId: algorithmId(spec.algorithm), pclusterSize: pcs, maxExtent, segmentBytes: Math.ceil(seg / bs) * bs,
      fragments: this.fragments, allFragments: this.allFragments, dedupe: this.dedupe,
    };
  }

  /**
   * How the packed inode is compressed: with the first compressor and the
   * default pcluster size (or `-E fragments=SIZE`'s), never into fragments of its own and, as
   * mkfs.erofs, without dedupe (its content is already deduplicated).
   */
  forPacked(): FileCompression {
    const spec = this.specs[0]!;
    const bs = 2 ** this.blkszbits;
    const pcs = this.o.packedPclusterSize ?? this.pclusterSize;
    const seg = Math.max(SEGMENT_BYTES, pcs * 16);
    return {
      spec, algorithmId: algorithmId(spec.algorithm), pclusterSize: pcs,
      maxExtent: Math.min(this.o.maxExtentBytes ?? Infinity, maxInputFor(spec)), segmentBytes: Math.ceil(seg / bs) * bs,
      fragments: false, allFragments: false, dedupe: false,
    };
  }
}
