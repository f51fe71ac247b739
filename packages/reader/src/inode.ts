import {
  DataLayout, EROFS_CHUNK_FORMAT_ALL, EROFS_CHUNK_FORMAT_BLKBITS_MASK, EROFS_I_ALL, EROFS_I_DOT_OMITTED_BIT,
  EROFS_I_NLINK_1_BIT, EROFS_INODE_DATALAYOUT_MAX, EROFS_NULL_ADDR, ErofsError, INODE_COMPACT_SIZE,
  INODE_EXTENDED_SIZE, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, corrupted, decodeDev,
  decodeInode, xattrIbodySize,
} from '@erofs/format';
import type { SuperInfo } from './super.js';

/**
 * An inode as the reader uses it: the on-disk fields with the format's
 * conventions applied (compact mtimes, NLINK_1, 48-bit start blocks, chunk
 * geometry) and where it lives.
 */
export interface Inode {
  /** The nid as stored in dirents (bit 63 set: the inode lives in the metabox). */
  nid: bigint;
  inMetabox: boolean;
  /** Byte position of the inode in its metadata space (device or metabox data). */
  pos: number;
  /** 0 compact (32 bytes), 1 extended (64 bytes). */
  version: 0 | 1;
  /** Raw i_format. */
  format: number;
  datalayout: number;
  inodeIsize: number;
  xattrIcount: number;
  xattrIsize: number;
  /** Full i_mode (type and permission bits). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  /** Seconds since the Unix epoch (may be negative or beyond 2^32). */
  mtime: number;
  mtimeNsec: number;
  /** i_ino as stored (the 32-bit inode number mkfs assigned). */
  ino: number;
  /** Device number (new_encode_dev form) for character and block devices, else 0. */
  rdev: number;
  /** Start block of flat data (48-bit aware); EROFS_NULL_ADDR when unmapped. */
  blkaddr: number;
  /** chunk_info.format for CHUNK_BASED inodes, else 0. */
  chunkformat: number;
  /** log2 of the chunk size for CHUNK_BASED inodes, else 0. */
  chunkbits: number;
  /** Directories whose "." entry is omitted. */
  dotOmitted: boolean;
  /** Raw i_u and i_nb (the compressed path reads its own meaning from them). */
  iu: number;
  nb: number;
}

/** True for COMPRESSED_FULL and COMPRESSED_COMPACT. */
export function isCompressedLayout(datalayout: number): boolean {
  return datalayout === DataLayout.COMPRESSED_FULL || datalayout === DataLayout.COMPRESSED_COMPACT;
}

export function nidText(nid: bigint): string {
  return nid >> 63n ? `nid ${nid} (metabox ${nid & ((1n << 63n) - 1n)})` : `nid ${nid}`;
}

/**
 * Builds an Inode from the bytes at its position (`b` holds at least the
 * compact size, and 64 bytes if the inode is extended). Mirrors the kernel's
 * checks: unknown i_format bits and datalayouts are EOPNOTSUPP, an unknown
 * file type is corruption.
 */
export function parseInode(sbi: SuperInfo, nid: bigint, pos: number, b: Uint8Array, inMetabox: boolean): Inode {
  // Only an error needs the text (bigint to string is not cheap, and this runs for every inode).
  const where = (): string => nidText(nid);
  const d = decodeInode(b, 0);
  if (d.format & ~EROFS_I_ALL) throw new ErofsError('EOPNOTSUPP', `unsupported i_format 0x${d.format.toString(16)}`, where());
  if (d.datalayout >= EROFS_INODE_DATALAYOUT_MAX) throw new ErofsError('EOPNOTSUPP', `unsupported datalayout ${d.datalayout}`, where());
  const inodeIsize = d.version ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
  let mtime: number;
  let mtimeNsec: number;
  if (d.version) {
    mtime = Number(d.mtime);
    mtimeNsec = d.mtimeNsec;
  } else {
    mtime = sbi.epoch + Number(d.mtime);
    mtimeNsec = sbi.fixedNsec;
  }
  const type = d.mode & S_IFMT;
  let blkaddr = EROFS_NULL_ADDR;
  let rdev = 0;
  let chunkformat = 0;
  let chunkbits = 0;
  let dotOmitted = false;
  if (type === S_IFDIR) dotOmitted = ((d.format >> EROFS_I_DOT_OMITTED_BIT) & 1) === 1;
  switch (type) {
    case S_IFDIR:
    case S_IFREG:
    case S_IFLNK: {
      // The high 16 bits of the start block live in i_nb for extended inodes
      // and for compact non-directories flagged NLINK_1 (48-bit layout).
      const hiValid = d.version === 1 || (type !== S_IFDIR && ((d.format >> EROFS_I_NLINK_1_BIT) & 1) === 1);
      blkaddr = d.iu + (hiValid ? d.nb : 0) * 0x100000000;
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      rdev = d.iu;
      break;
    case S_IFIFO:
    case S_IFSOCK:
      break;
    default:
      throw corrupted(`bogus i_mode 0${d.mode.toString(8)}`, where());
  }
  if (d.datalayout === DataLayout.CHUNK_BASED) {
    chunkformat = d.iu & 0xffff;
    if (chunkformat & ~EROFS_CHUNK_FORMAT_ALL) throw new ErofsError('EOPNOTSUPP', `unsupported chunk format 0x${chunkformat.toString(16)}`, where());
    chunkbits = sbi.blkszbits + (chunkformat & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
    blkaddr = EROFS_NULL_ADDR;
  }
  return {
    nid, inMetabox, pos, version: d.version, format: d.format, datalayout: d.datalayout, inodeIsize,
    xattrIcount: d.xattrIcount, xattrIsize: xattrIbodySize(d.xattrIcount), mode: d.mode, uid: d.uid, gid: d.gid,
    nlink: d.nlink, size: d.size, mtime, mtimeNsec, ino: d.ino, rdev, blkaddr, chunkformat, chunkbits, dotOmitted,
    iu: d.iu, nb: d.nb,
  };
}

/** Major and minor of an inode's rdev. */
export function inodeRdev(ino: Inode): { major: number; minor: number } {
  return decodeDev(ino.rdev);
}

export const fileKind = {
  isReg: (m: number) => (m & S_IFMT) === S_IFREG,
  isDir: (m: number) => (m & S_IFMT) === S_IFDIR,
  isLnk: (m: number) => (m & S_IFMT) === S_IFLNK,
  isChr: (m: number) => (m & S_IFMT) === S_IFCHR,
  isBlk: (m: number) => (m & S_IFMT) === S_IFBLK,
  isFifo: (m: number) => (m & S_IFMT) === S_IFIFO,
  isSock: (m: number) => (m & S_IFMT) === S_IFSOCK,
};
