import {
  EROFS_XATTR_FILTER_BITS, EROFS_XATTR_FILTER_SEED, XATTR_PREFIXES, XattrIndex,
} from './constants.js';
import { put16, put32, u16, u32 } from './le.js';
import { xxh32 } from './xxhash.js';

/**
 * struct erofs_xattr_ibody_header (12 bytes): 0 h_name_filter (bit set = no
 * name hashing to that bit is present), 4 h_shared_count, 5 reserved[7],
 * then h_shared_count 4-byte shared xattr ids, then inline entries.
 * The inline area is 12 + (i_xattr_icount - 1) * 4 bytes (0 when icount is 0).
 */
export const XATTR_IBODY_HEADER_SIZE = 12;
/** struct erofs_xattr_entry (4 bytes): 0 e_name_len, 1 e_name_index, 2 e_value_size. */
export const XATTR_ENTRY_SIZE = 4;

export interface XattrIbodyHeader {
  nameFilter: number;
  sharedCount: number;
}

export function decodeXattrIbodyHeader(b: Uint8Array, o: number): XattrIbodyHeader {
  return { nameFilter: u32(b, o), sharedCount: b[o + 4]! };
}
export function encodeXattrIbodyHeader(h: XattrIbodyHeader, b: Uint8Array, o: number): void {
  b.fill(0, o, o + XATTR_IBODY_HEADER_SIZE);
  put32(b, o, h.nameFilter);
  b[o + 4] = h.sharedCount;
}

/** Bytes of the inline xattr area for an i_xattr_icount. */
export function xattrIbodySize(icount: number): number {
  return icount === 0 ? 0 : XATTR_IBODY_HEADER_SIZE + 4 * (icount - 1);
}
/** i_xattr_icount for an inline xattr area of `size` bytes (size >= 12, multiple of 4). */
export function xattrIcount(size: number): number {
  return size === 0 ? 0 : (size - XATTR_IBODY_HEADER_SIZE) / 4 + 1;
}

export interface XattrEntryHeader {
  nameLen: number;
  nameIndex: number;
  valueSize: number;
}
export function decodeXattrEntry(b: Uint8Array, o: number): XattrEntryHeader {
  return { nameLen: b[o]!, nameIndex: b[o + 1]!, valueSize: u16(b, o + 2) };
}
export function encodeXattrEntry(e: XattrEntryHeader, b: Uint8Array, o: number): void {
  b[o] = e.nameLen;
  b[o + 1] = e.nameIndex;
  put16(b, o + 2, e.valueSize);
}
/** An entry's size on disk: header + name + value, rounded up to 4. */
export function xattrEntrySize(nameLen: number, valueSize: number): number {
  return (XATTR_ENTRY_SIZE + nameLen + valueSize + 3) & ~3;
}

/**
 * A long xattr name prefix (INCOMPAT_XATTR_PREFIXES): a short base index and
 * an infix, so "trusted.overlay." is {baseIndex: TRUSTED, infix: "overlay."}.
 * On disk each record is __le16 length, u8 base_index, infix bytes, padded to 4.
 */
export interface LongPrefix {
  baseIndex: number;
  infix: Uint8Array;
}
/** Bytes the record for `p` takes in the prefix table (length field and padding included). */
export function longPrefixRecordSize(p: LongPrefix): number {
  return (2 + 1 + p.infix.length + 3) & ~3;
}
export function encodeLongPrefix(p: LongPrefix, b: Uint8Array, o: number): number {
  const size = longPrefixRecordSize(p);
  b.fill(0, o, o + size);
  put16(b, o, 1 + p.infix.length);
  b[o + 2] = p.baseIndex;
  b.set(p.infix, o + 3);
  return size;
}

const enc = new TextEncoder();

/**
 * Splits a full xattr name into the short index the kernel would use and the
 * remaining suffix ("user.foo" -> USER, "foo"; "system.posix_acl_access" ->
 * POSIX_ACL_ACCESS, ""). Names in no known namespace get index 0 and keep
 * their whole name: the kernel hides such names from listxattr.
 */
export function splitXattrName(name: string): { index: number; suffix: string } {
  for (const idx of [XattrIndex.USER, XattrIndex.TRUSTED, XattrIndex.SECURITY, XattrIndex.LUSTRE]) {
    const p = XATTR_PREFIXES[idx]!;
    if (name.startsWith(p)) return { index: idx, suffix: name.slice(p.length) };
  }
  if (name === XATTR_PREFIXES[XattrIndex.POSIX_ACL_ACCESS]) return { index: XattrIndex.POSIX_ACL_ACCESS, suffix: '' };
  if (name === XATTR_PREFIXES[XattrIndex.POSIX_ACL_DEFAULT]) return { index: XattrIndex.POSIX_ACL_DEFAULT, suffix: '' };
  return { index: XattrIndex.NONE, suffix: name };
}

/**
 * The name filter bit of one xattr: xxh32 of the name after its short prefix
 * (long-prefix infix included), seeded with EROFS_XATTR_FILTER_SEED + the
 * short index, modulo 32.
 */
export function xattrFilterBit(baseIndex: number, nameAfterShortPrefix: Uint8Array | string): number {
  const b = typeof nameAfterShortPrefix === 'string' ? enc.encode(nameAfterShortPrefix) : nameAfterShortPrefix;
  return xxh32(b, (EROFS_XATTR_FILTER_SEED + baseIndex) >>> 0) & (EROFS_XATTR_FILTER_BITS - 1);
}
