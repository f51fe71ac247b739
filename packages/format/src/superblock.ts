import { EROFS_SUPER_MAGIC_V1, EROFS_SUPER_OFFSET, FeatureIncompat } from './constants.js';
import { crc32cRaw } from './crc32c.js';
import { put16, put32, put64, u16, u32, u64 } from './le.js';

/**
 * struct erofs_super_block (144 bytes at most; 128 + sb_extslots * 16 are
 * meaningful). Field names follow erofs_fs.h. 64-bit fields are bigints.
 *
 * Offsets: 0 magic, 4 checksum, 8 feature_compat, 12 blkszbits, 13 sb_extslots,
 * 14 rootnid_2b|blocks_hi, 16 inos, 24 epoch, 32 fixed_nsec, 36 blocks_lo,
 * 40 meta_blkaddr, 44 xattr_blkaddr, 48 uuid[16], 64 volume_name[16],
 * 80 feature_incompat, 84 available_compr_algs|lz4_max_distance,
 * 86 extra_devices, 88 devt_slotoff, 90 dirblkbits, 91 xattr_prefix_count,
 * 92 xattr_prefix_start, 96 packed_nid, 104 xattr_filter_reserved,
 * 105 ishare_xattr_prefix_id, 106 reserved[2], 108 build_time,
 * 112 rootnid_8b, 120 reserved2, 128 metabox_nid, 136 reserved3.
 */
export interface Superblock {
  magic: number;
  checksum: number;
  featureCompat: number;
  blkszbits: number;
  sbExtslots: number;
  /** rootnid_2b, or blocks_hi when 48BIT is set. */
  rootnid2b: number;
  inos: bigint;
  /** Base seconds for compact inodes' i_mtime (build_time in older headers). */
  epoch: bigint;
  fixedNsec: number;
  blocksLo: number;
  metaBlkaddr: number;
  xattrBlkaddr: number;
  uuid: Uint8Array;
  volumeName: Uint8Array;
  featureIncompat: number;
  /** available_compr_algs when COMPR_CFGS is set, else lz4_max_distance. */
  u1: number;
  extraDevices: number;
  devtSlotoff: number;
  dirblkbits: number;
  xattrPrefixCount: number;
  xattrPrefixStart: number;
  packedNid: bigint;
  xattrFilterReserved: number;
  /** Linux 7.0: index of the long xattr prefix naming the fingerprint xattr. */
  ishareXattrPrefixId: number;
  /** Seconds added to epoch for the mkfs time. */
  buildTime: number;
  rootnid8b: bigint;
  metaboxNid: bigint;
}

/** Bytes of struct erofs_super_block as currently defined. */
export const SUPERBLOCK_SIZE = 144;
/** The part always present, before the extension slots. */
export const SUPERBLOCK_BASE_SIZE = 128;

/** A superblock with every field zero except magic and blkszbits. */
export function emptySuperblock(blkszbits = 12): Superblock {
  return {
    magic: EROFS_SUPER_MAGIC_V1, checksum: 0, featureCompat: 0, blkszbits, sbExtslots: 0,
    rootnid2b: 0, inos: 0n, epoch: 0n, fixedNsec: 0, blocksLo: 0, metaBlkaddr: 0,
    xattrBlkaddr: 0, uuid: new Uint8Array(16), volumeName: new Uint8Array(16),
    featureIncompat: 0, u1: 0, extraDevices: 0, devtSlotoff: 0, dirblkbits: 0,
    xattrPrefixCount: 0, xattrPrefixStart: 0, packedNid: 0n, xattrFilterReserved: 0,
    ishareXattrPrefixId: 0, buildTime: 0, rootnid8b: 0n, metaboxNid: 0n,
  };
}

/** Decodes the superblock at `b[o]` (o is usually 0 for a buffer that starts at offset 1024). */
export function decodeSuperblock(b: Uint8Array, o = 0): Superblock {
  return {
    magic: u32(b, o),
    checksum: u32(b, o + 4),
    featureCompat: u32(b, o + 8),
    blkszbits: b[o + 12]!,
    sbExtslots: b[o + 13]!,
    rootnid2b: u16(b, o + 14),
    inos: u64(b, o + 16),
    epoch: u64(b, o + 24),
    fixedNsec: u32(b, o + 32),
    blocksLo: u32(b, o + 36),
    metaBlkaddr: u32(b, o + 40),
    xattrBlkaddr: u32(b, o + 44),
    uuid: b.slice(o + 48, o + 64),
    volumeName: b.slice(o + 64, o + 80),
    featureIncompat: u32(b, o + 80),
    u1: u16(b, o + 84),
    extraDevices: u16(b, o + 86),
    devtSlotoff: u16(b, o + 88),
    dirblkbits: b[o + 90]!,
    xattrPrefixCount: b[o + 91]!,
    xattrPrefixStart: u32(b, o + 92),
    packedNid: u64(b, o + 96),
    xattrFilterReserved: b[o + 104]!,
    ishareXattrPrefixId: b[o + 105]!,
    buildTime: u32(b, o + 108),
    rootnid8b: u64(b, o + 112),
    metaboxNid: u64(b, o + 128),
  };
}

/** Encodes all 144 bytes of `sb` into `b[o..o+144)` (reserved bytes zeroed). */
export function encodeSuperblock(sb: Superblock, b: Uint8Array, o = 0): void {
  b.fill(0, o, o + SUPERBLOCK_SIZE);
  put32(b, o, sb.magic);
  put32(b, o + 4, sb.checksum);
  put32(b, o + 8, sb.featureCompat);
  b[o + 12] = sb.blkszbits;
  b[o + 13] = sb.sbExtslots;
  put16(b, o + 14, sb.rootnid2b);
  put64(b, o + 16, sb.inos);
  put64(b, o + 24, sb.epoch);
  put32(b, o + 32, sb.fixedNsec);
  put32(b, o + 36, sb.blocksLo);
  put32(b, o + 40, sb.metaBlkaddr);
  put32(b, o + 44, sb.xattrBlkaddr);
  b.set(sb.uuid.subarray(0, 16), o + 48);
  b.set(sb.volumeName.subarray(0, 16), o + 64);
  put32(b, o + 80, sb.featureIncompat);
  put16(b, o + 84, sb.u1);
  put16(b, o + 86, sb.extraDevices);
  put16(b, o + 88, sb.devtSlotoff);
  b[o + 90] = sb.dirblkbits;
  b[o + 91] = sb.xattrPrefixCount;
  put32(b, o + 92, sb.xattrPrefixStart);
  put64(b, o + 96, sb.packedNid);
  b[o + 104] = sb.xattrFilterReserved;
  b[o + 105] = sb.ishareXattrPrefixId;
  put32(b, o + 108, sb.buildTime);
  put64(b, o + 112, sb.rootnid8b);
  put64(b, o + 128, sb.metaboxNid);
}

/** True when the 48-bit layout is on. */
export function is48bit(sb: Superblock): boolean {
  return (sb.featureIncompat & FeatureIncompat['48BIT']) !== 0;
}

/**
 * True when the 16-bit field at offset 14 holds blocks_hi and the root nid is
 * in rootnid_8b: 48-bit images whose rootnid_8b is non-zero. Writers keep
 * using rootnid_2b while the root nid fits in 16 bits, even with 48BIT.
 */
export function usesRootnid8b(sb: Superblock): boolean {
  return is48bit(sb) && sb.rootnid8b !== 0n;
}

/** The root directory's nid (bit 63 set means it lives in the metabox). */
export function rootNid(sb: Superblock): bigint {
  return usesRootnid8b(sb) ? sb.rootnid8b : BigInt(sb.rootnid2b);
}

/** Total blocks of the primary device. */
export function totalBlocks(sb: Superblock): number {
  return usesRootnid8b(sb) ? sb.rootnid2b * 0x100000000 + sb.blocksLo : sb.blocksLo;
}

/** Superblock size in bytes: 128 + sb_extslots * 16. */
export function superblockSize(sb: Superblock): number {
  return SUPERBLOCK_BASE_SIZE + sb.sbExtslots * 16;
}

/**
 * Bytes covered by the superblock checksum: from offset 1024 to the end of
 * the first block, or one block's worth when blocks are <= 1024 bytes.
 */
export function checksumLength(blkszbits: number): number {
  const blksz = 2 ** blkszbits;
  return blksz > EROFS_SUPER_OFFSET ? blksz - EROFS_SUPER_OFFSET : blksz;
}

/**
 * Computes the superblock checksum over `region` (the bytes starting at image
 * offset 1024, at least checksumLength long) with the checksum field taken as 0.
 * The kernel stores crc32c(~0, ...) without the final inversion.
 */
export function superblockChecksum(region: Uint8Array, blkszbits: number): number {
  const len = checksumLength(blkszbits);
  let c = crc32cRaw(0xffffffff, region, 0, 4);
  c = crc32cRaw(c, new Uint8Array(4));
  return crc32cRaw(c, region, 8, len);
}
