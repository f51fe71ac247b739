import {
  EROFS_I_DATALAYOUT_BIT, EROFS_I_DATALAYOUT_MASK, EROFS_I_NLINK_1_BIT, EROFS_I_VERSION_MASK,
  EROFS_INODE_LAYOUT_EXTENDED, S_IFDIR, S_IFMT,
} from './constants.js';
import { put16, put32, put64, u16, u32, u64 } from './le.js';

/** struct erofs_inode_compact is 32 bytes, struct erofs_inode_extended 64. */
export const INODE_COMPACT_SIZE = 32;
export const INODE_EXTENDED_SIZE = 64;

/**
 * The fields of either on-disk inode form, as stored (no derived values
 * except `nlink`, which folds the compact form's NLINK_1 bit).
 *
 * Compact (32 B): 0 i_format, 2 i_xattr_icount, 4 i_mode, 6 i_nb, 8 i_size (32),
 * 12 i_mtime (32, relative to the superblock epoch), 16 i_u, 20 i_ino,
 * 24 i_uid (16), 26 i_gid (16), 28 reserved.
 * Extended (64 B): 0 i_format, 2 i_xattr_icount, 4 i_mode, 6 i_nb, 8 i_size (64),
 * 16 i_u, 20 i_ino, 24 i_uid, 28 i_gid, 32 i_mtime (64, absolute),
 * 40 i_mtime_nsec, 44 i_nlink, 48 reserved[16].
 */
export interface DiskInode {
  /** 0 compact, 1 extended. */
  version: 0 | 1;
  /** Raw i_format (version bit, datalayout bits 1-3, NLINK_1 / DOT_OMITTED bit 4). */
  format: number;
  datalayout: number;
  xattrIcount: number;
  mode: number;
  /** Raw i_nb: nlink, or blocks_hi / startblk_hi (48-bit layout). */
  nb: number;
  size: number;
  /** Compact: seconds after the epoch (u32). Extended: absolute seconds (signed 64). */
  mtime: bigint;
  /** Extended only; compact inodes use the superblock's fixed_nsec. */
  mtimeNsec: number;
  /** Raw i_u: startblk_lo, blocks_lo, rdev or chunk format (low 16 bits). */
  iu: number;
  ino: number;
  uid: number;
  gid: number;
  /** Link count, with the compact NLINK_1 convention applied. */
  nlink: number;
}

/** Size of the on-disk inode whose i_format is `format`. */
export function inodeSize(format: number): number {
  return (format & EROFS_I_VERSION_MASK) === EROFS_INODE_LAYOUT_EXTENDED ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
}

/** Decodes the inode at `b[o]`; the caller ensures 64 bytes (or 32 for compact) are there. */
export function decodeInode(b: Uint8Array, o: number): DiskInode {
  const format = u16(b, o);
  const version = (format & EROFS_I_VERSION_MASK) as 0 | 1;
  const datalayout = (format >> EROFS_I_DATALAYOUT_BIT) & EROFS_I_DATALAYOUT_MASK;
  const mode = u16(b, o + 4);
  const nb = u16(b, o + 6);
  if (version === EROFS_INODE_LAYOUT_EXTENDED) {
    return {
      version, format, datalayout, xattrIcount: u16(b, o + 2), mode, nb,
      size: u32(b, o + 8) + u32(b, o + 12) * 0x100000000,
      iu: u32(b, o + 16), ino: u32(b, o + 20), uid: u32(b, o + 24), gid: u32(b, o + 28),
      mtime: BigInt.asIntN(64, u64(b, o + 32)), mtimeNsec: u32(b, o + 40), nlink: u32(b, o + 44),
    };
  }
  const nlink1 = (mode & S_IFMT) !== S_IFDIR && ((format >> EROFS_I_NLINK_1_BIT) & 1) === 1;
  return {
    version, format, datalayout, xattrIcount: u16(b, o + 2), mode, nb,
    size: u32(b, o + 8), mtime: BigInt(u32(b, o + 12)), mtimeNsec: 0,
    iu: u32(b, o + 16), ino: u32(b, o + 20), uid: u16(b, o + 24), gid: u16(b, o + 26),
    nlink: nlink1 ? 1 : nb,
  };
}

/**
 * Encodes `ino` in its own form (ino.version) at `b[o]`. The caller has put
 * what belongs in i_nb (nlink, or startblk_hi with NLINK_1 set) into `nb`;
 * `nlink` is written only by the extended form.
 */
export function encodeInode(ino: DiskInode, b: Uint8Array, o: number): void {
  const format = (ino.format & ~((EROFS_I_DATALAYOUT_MASK << EROFS_I_DATALAYOUT_BIT) | EROFS_I_VERSION_MASK))
    | ino.version | (ino.datalayout << EROFS_I_DATALAYOUT_BIT);
  if (ino.version === EROFS_INODE_LAYOUT_EXTENDED) {
    b.fill(0, o, o + INODE_EXTENDED_SIZE);
    put16(b, o, format);
    put16(b, o + 2, ino.xattrIcount);
    put16(b, o + 4, ino.mode);
    put16(b, o + 6, ino.nb);
    put32(b, o + 8, ino.size >>> 0);
    put32(b, o + 12, Math.floor(ino.size / 0x100000000));
    put32(b, o + 16, ino.iu);
    put32(b, o + 20, ino.ino);
    put32(b, o + 24, ino.uid);
    put32(b, o + 28, ino.gid);
    put64(b, o + 32, ino.mtime);
    put32(b, o + 40, ino.mtimeNsec);
    put32(b, o + 44, ino.nlink);
    return;
  }
  b.fill(0, o, o + INODE_COMPACT_SIZE);
  put16(b, o, format);
  put16(b, o + 2, ino.xattrIcount);
  put16(b, o + 4, ino.mode);
  put16(b, o + 6, ino.nb);
  put32(b, o + 8, ino.size);
  put32(b, o + 12, Number(ino.mtime));
  put32(b, o + 16, ino.iu);
  put32(b, o + 20, ino.ino);
  put16(b, o + 24, ino.uid);
  put16(b, o + 26, ino.gid);
}

/**
 * Device numbers in i_u.rdev use the kernel's "new" encoding (new_encode_dev):
 * minor's low 8 bits, then 12 bits of major, then minor's upper bits.
 */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
/** Inverse of encodeDev (new_decode_dev). */
export function decodeDev(dev: number): { major: number; minor: number } {
  return { major: (dev & 0xfff00) >>> 8, minor: ((dev & 0xff) | ((dev >>> 12) & 0xfff00)) >>> 0 };
}
