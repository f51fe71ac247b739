import {
  EROFS_XATTR_LONG_PREFIX, EROFS_XATTR_LONG_PREFIX_MASK, XATTR_ENTRY_SIZE, XATTR_IBODY_HEADER_SIZE, XATTR_PREFIXES,
  XattrIndex, corrupted, u16, u32, type LongPrefix,
} from '@erofs/format';

/** One extended attribute of an inode. */
export interface XattrEntry {
  /** Full name ("user.foo", "system.posix_acl_access", "erofs.fingerprint.v1"). */
  name: string;
  /** Full name as bytes. */
  nameBytes: Uint8Array;
  value: Uint8Array;
  /** Short namespace index the name belongs to (0 = none). */
  baseIndex: number;
  /** Long prefix id when the entry uses one. */
  longPrefix: number | null;
  /** Stored in the shared xattr area rather than inline. */
  shared: boolean;
  /**
   * Not shown by listxattr: the name has no namespace the kernel knows
   * (base index 0, e.g. "erofs.fingerprint.v1"). getxattr by full name finds it.
   */
  hidden: boolean;
}

/** A long prefix with its full text. */
export interface LongPrefixInfo extends LongPrefix {
  /** The full prefix, short namespace included ("trusted.overlay."). */
  text: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });
const PREFIX_BYTES = XATTR_PREFIXES.map((p) => enc.encode(p));

/** Full prefix bytes of a long prefix record. */
export function longPrefixText(baseIndex: number, infix: Uint8Array): Uint8Array {
  const base = PREFIX_BYTES[baseIndex] ?? new Uint8Array(0);
  const out = new Uint8Array(base.length + infix.length);
  out.set(base);
  out.set(infix, base.length);
  return out;
}

/** Builds an entry from its header fields and raw name/value bytes. */
export function makeEntry(
  nameIndex: number, suffix: Uint8Array, value: Uint8Array, prefixes: readonly LongPrefixInfo[], shared: boolean, where: string,
): XattrEntry {
  let baseIndex: number;
  let prefix: Uint8Array;
  let longPrefix: number | null = null;
  if (nameIndex & EROFS_XATTR_LONG_PREFIX) {
    longPrefix = nameIndex & EROFS_XATTR_LONG_PREFIX_MASK;
    const p = prefixes[longPrefix];
    if (!p) throw corrupted(`xattr refers to long prefix ${longPrefix} of ${prefixes.length}`, where);
    baseIndex = p.baseIndex;
    prefix = p.text;
  } else {
    baseIndex = nameIndex;
    prefix = PREFIX_BYTES[nameIndex] ?? new Uint8Array(0);
  }
  const nameBytes = new Uint8Array(prefix.length + suffix.length);
  nameBytes.set(prefix);
  nameBytes.set(suffix, prefix.length);
  const hidden = baseIndex === XattrIndex.NONE || baseIndex >= XATTR_PREFIXES.length;
  return { name: dec.decode(nameBytes), nameBytes, value, baseIndex, longPrefix, shared, hidden };
}

/** An xattr entry before its name is resolved (long prefixes may need the prefix table). */
export interface RawXattr {
  nameIndex: number;
  suffix: Uint8Array;
  value: Uint8Array;
}

/** Parsed inline xattr area: the name filter, shared ids and inline entries. */
export interface IbodyXattrs {
  nameFilter: number;
  sharedIds: number[];
  inline: RawXattr[];
}

/**
 * Parses an inode's inline xattr area (`b` = exactly xattr_isize bytes).
 * Every entry must lie inside the area, as the kernel requires.
 */
export function parseIbody(b: Uint8Array, where: string): IbodyXattrs {
  if (b.length < XATTR_IBODY_HEADER_SIZE) throw corrupted(`xattr area too small (${b.length} bytes)`, where);
  const nameFilter = u32(b, 0);
  const sc = b[4]!;
  let o = XATTR_IBODY_HEADER_SIZE + sc * 4;
  if (o > b.length) throw corrupted(`${sc} shared xattrs do not fit in xattr_isize ${b.length}`, where);
  const sharedIds: number[] = [];
  for (let i = 0; i < sc; i++) sharedIds.push(u32(b, XATTR_IBODY_HEADER_SIZE + i * 4));
  const inline: RawXattr[] = [];
  while (o < b.length) {
    if (o + XATTR_ENTRY_SIZE > b.length) throw corrupted('xattr entry header beyond xattr_isize', where);
    const nameLen = b[o]!;
    const nameIndex = b[o + 1]!;
    const valueSize = u16(b, o + 2);
    const end = o + XATTR_ENTRY_SIZE + nameLen + valueSize;
    if (end > b.length) throw corrupted(`xattr entry (name ${nameLen}, value ${valueSize} bytes) beyond xattr_isize ${b.length}`, where);
    const nameAt = o + XATTR_ENTRY_SIZE;
    inline.push({ nameIndex, suffix: b.subarray(nameAt, nameAt + nameLen), value: b.subarray(nameAt + nameLen, end) });
    o = (end + 3) & ~3;
  }
  return { nameFilter, sharedIds, inline };
}
