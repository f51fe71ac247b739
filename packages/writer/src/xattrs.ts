/**
 * Xattr planning: long name prefixes, the per-xattr on-disk entry, the
 * shared xattr area and each inode's inline xattr body (ibody).
 *
 * Everything is sorted so the bytes do not depend on the order the host
 * listed xattrs in: shared items by (name index, name, value); inline
 * entries by (name index, name), the fingerprint xattr last (where
 * mkfs.erofs puts it).
 */
import {
  EROFS_XATTR_FILTER_DEFAULT, EROFS_XATTR_LONG_PREFIX, ErofsError, XATTR_ENTRY_SIZE, XATTR_IBODY_HEADER_SIZE,
  XattrIndex, encodeLongPrefix, encodeXattrEntry, encodeXattrIbodyHeader, longPrefixRecordSize, put32,
  splitXattrName, xattrEntrySize, xattrFilterBit, type LongPrefix,
} from '@erofs/format';

const enc = new TextEncoder();

/** Longest xattr name Linux accepts (XATTR_NAME_MAX). */
export const XATTR_NAME_MAX = 255;
/** Long prefixes are numbered with 7 bits. */
export const MAX_LONG_PREFIXES = 128;
/** h_shared_count is one byte: further shared items of an inode are stored inline. */
const MAX_SHARED_PER_INODE = 255;

/** A registered long prefix: its full text and how it is stored. */
export interface LongPrefixEntry extends LongPrefix {
  /** The whole prefix, e.g. "trusted.overlay.". */
  full: string;
}

/** The long prefix table of an image (INCOMPAT_XATTR_PREFIXES), in index order. */
export interface PrefixTable {
  prefixes: LongPrefixEntry[];
  /** Index of the fingerprint prefix (superblock ishare_xattr_prefix_id), if any. */
  ishareIndex?: number;
}

/**
 * Checks a fingerprint xattr name (`--ishare_key`): non-empty, at most 255
 * bytes, no NUL, and not a bare namespace prefix ("user.", "trusted.", ...),
 * which names no xattr. Throws ErofsError EINVAL.
 */
export function validateIshareKey(name: string): void {
  const bytes = enc.encode(name).length;
  if (name.length === 0) throw new ErofsError('EINVAL', 'invalid fingerprint xattr name: empty');
  if (bytes > XATTR_NAME_MAX) {
    throw new ErofsError('EINVAL', `invalid fingerprint xattr name: ${bytes} bytes (at most ${XATTR_NAME_MAX})`, name);
  }
  if (name.includes('\0')) throw new ErofsError('EINVAL', 'invalid fingerprint xattr name: contains a NUL byte');
  if (/^(user|trusted|security|system|lustre)\.$/.test(name)) {
    throw new ErofsError('EINVAL', 'invalid fingerprint xattr name: a namespace prefix without a name', name);
  }
  if (name.startsWith('system.')) {
    throw new ErofsError('EINVAL', 'invalid fingerprint xattr name: the system. namespace is reserved', name);
  }
}

/** Splits a long prefix into short base index + infix; names in no namespace get base 0 (hidden). */
function longPrefixOf(full: string): LongPrefixEntry {
  const { index, suffix } = splitXattrName(full);
  const base = index === XattrIndex.POSIX_ACL_ACCESS || index === XattrIndex.POSIX_ACL_DEFAULT ? XattrIndex.NONE : index;
  const infix = enc.encode(base === XattrIndex.NONE ? full : suffix);
  return { full, baseIndex: base, infix };
}

/**
 * Builds the long prefix table from `--xattr-prefix` values and the
 * fingerprint name, registered in command-line order as mkfs.erofs does:
 * `ishareAt` is how many of `xattrPrefixes` came before the fingerprint
 * name (default: all). A prefix given twice is stored once.
 */
export function buildPrefixTable(xattrPrefixes: readonly string[], ishareKey?: string, ishareAt?: number): PrefixTable {
  const prefixes: LongPrefixEntry[] = [];
  const at = ishareKey === undefined ? xattrPrefixes.length : Math.max(0, Math.min(ishareAt ?? xattrPrefixes.length, xattrPrefixes.length));
  if (ishareKey !== undefined) validateIshareKey(ishareKey);
  const order = ishareKey === undefined ? xattrPrefixes : [...xattrPrefixes.slice(0, at), ishareKey, ...xattrPrefixes.slice(at)];
  for (const p of order) {
    const bytes = enc.encode(p).length;
    if (bytes === 0 || bytes > XATTR_NAME_MAX) throw new ErofsError('EINVAL', `invalid xattr prefix (${bytes} bytes)`, p);
    if (!prefixes.some((q) => q.full === p)) prefixes.push(longPrefixOf(p));
  }
  const ishareIndex = ishareKey === undefined ? undefined : prefixes.findIndex((q) => q.full === ishareKey);
  if (prefixes.length > MAX_LONG_PREFIXES) {
    throw new ErofsError('EINVAL', `too many long xattr prefixes (${prefixes.length}, at most ${MAX_LONG_PREFIXES})`);
  }
  return ishareIndex === undefined ? { prefixes } : { prefixes, ishareIndex };
}

/** Bytes of the prefix table as stored (each record padded to 4). */
export function prefixTableSize(t: PrefixTable): number {
  return t.prefixes.reduce((n, p) => n + longPrefixRecordSize(p), 0);
}

/** Encodes the prefix table at `b[o]`. */
export function encodePrefixTable(t: PrefixTable, b: Uint8Array, o: number): void {
  for (const p of t.prefixes) o += encodeLongPrefix(p, b, o);
}

/** One xattr as it will be stored. */
export interface XattrItem {
  /** e_name_index: short index, or 0x80 | long prefix index. */
  nameIndex: number;
  /** e_name: the name after its (short or long) prefix. */
  name: Uint8Array;
  value: Uint8Array;
  /** Name filter bit (0..31). */
  filterBit: number;
  /** Entry size on disk (header + name + value, padded to 4). */
  size: number;
  /** Identity for sharing: index, name and value. */
  key: string;
  /** Sort key: index and name bytes (and value for the shared area). */
  fingerprint: boolean;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/**
 * Makes the stored form of xattr `fullName` = `value`, using the longest
 * matching long prefix. `where` names the file for errors.
 */
export function makeXattrItem(fullName: string, value: Uint8Array, table: PrefixTable, where: string, fingerprint = false): XattrItem {
  const full = enc.encode(fullName);
  if (full.length === 0 || full.length > XATTR_NAME_MAX) {
    throw new ErofsError('EINVAL', `xattr name of ${full.length} bytes (1..${XATTR_NAME_MAX})`, where);
  }
  if (value.length > 0xffff) throw new ErofsError('EINVAL', `xattr ${fullName} value of ${value.length} bytes (at most 65535)`, where);
  const short = splitXattrName(fullName);
  let nameIndex = short.index;
  let name = enc.encode(short.suffix);
  // filter hash input: the name after the short prefix (long-prefix infix included)
  const baseIndex = short.index;
  const filterName = name;
  let best = -1;
  for (let i = 0; i < table.prefixes.length; i++) {
    const p = table.prefixes[i]!;
    if (fullName.startsWith(p.full) && (best < 0 || p.full.length > table.prefixes[best]!.full.length)) best = i;
  }
  if (best >= 0) {
    const p = table.prefixes[best]!;
    nameIndex = EROFS_XATTR_LONG_PREFIX | best;
    name = enc.encode(fullName.slice(p.full.length));
  }
  if (name.length > 255) throw new ErofsError('EINVAL', `xattr name suffix over 255 bytes`, where);
  const filterBit = xattrFilterBit(baseIndex, filterName);
  return {
    nameIndex, name, value, filterBit, fingerprint,
    size: xattrEntrySize(name.length, value.length),
    key: `${nameIndex}\0${latin1(name)}\0${latin1(value)}`,
  };
}

/** Writes one entry at `b[o]`; returns its padded size. */
export function encodeXattrItem(it: XattrItem, b: Uint8Array, o: number): number {
  b.fill(0, o, o + it.size);
  encodeXattrEntry({ nameLen: it.name.length, nameIndex: it.nameIndex, valueSize: it.value.length }, b, o);
  b.set(it.name, o + XATTR_ENTRY_SIZE);
  b.set(it.value, o + XATTR_ENTRY_SIZE + it.name.length);
  return it.size;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
/** Order of inline entries: index, then name; the fingerprint last. */
export function compareInline(a: XattrItem, b: XattrItem): number {
  if (a.fingerprint !== b.fingerprint) return a.fingerprint ? 1 : -1;
  return a.nameIndex - b.nameIndex || cmpBytes(a.name, b.name) || cmpBytes(a.value, b.value);
}

/** The shared xattr area: items stored once, each with its id (byte offset / 4 from xattr_blkaddr). */
export interface SharedArea {
  items: XattrItem[];
  ids: Map<string, number>;
  size: number;
}

/**
 * Picks the shared items: identical (name, value) pairs carried by more than
 * `tolerance` inodes (fingerprints never: they are per-content anyway, and
 * mkfs.erofs keeps them inline). Sorted for stable ids.
 */
export function planSharedArea(perInode: ReadonlyArray<readonly XattrItem[]>, tolerance: number): SharedArea {
  const counts = new Map<string, { item: XattrItem; n: number }>();
  for (const list of perInode) {
    for (const it of list) {
      if (it.fingerprint) continue;
      const c = counts.get(it.key);
      if (c) c.n++;
      else counts.set(it.key, { item: it, n: 1 });
    }
  }
  const items = [...counts.values()].filter((c) => c.n > tolerance).map((c) => c.item);
  items.sort((a, b) => a.nameIndex - b.nameIndex || cmpBytes(a.name, b.name) || cmpBytes(a.value, b.value));
  const ids = new Map<string, number>();
  let off = 0;
  for (const it of items) {
    ids.set(it.key, off / 4);
    off += it.size;
  }
  return { items, ids, size: off };
}

/** Encodes the shared area (size bytes). */
export function encodeSharedArea(area: SharedArea): Uint8Array {
  const b = new Uint8Array(area.size);
  let o = 0;
  for (const it of area.items) o += encodeXattrItem(it, b, o);
  return b;
}

/** An inode's xattr body, planned: which items are shared and which inline. */
export interface IbodyPlan {
  shared: number[];
  inline: XattrItem[];
  filter: number;
  size: number;
}

/** Plans an inode's ibody (size 0 when it has no xattrs). `nameFilter` false stores filter 0. */
export function planIbody(items: readonly XattrItem[], area: SharedArea, nameFilter: boolean): IbodyPlan {
  if (items.length === 0) return { shared: [], inline: [], filter: 0, size: 0 };
  const shared: Array<{ id: number }> = [];
  const inline: XattrItem[] = [];
  let bits = 0;
  for (const it of items) {
    bits |= 1 << it.filterBit;
    const id = it.fingerprint ? undefined : area.ids.get(it.key);
    if (id !== undefined && shared.length < MAX_SHARED_PER_INODE) shared.push({ id });
    else inline.push(it);
  }
  shared.sort((a, b) => a.id - b.id);
  inline.sort(compareInline);
  const size = XATTR_IBODY_HEADER_SIZE + 4 * shared.length + inline.reduce((n, it) => n + it.size, 0);
  const filter = nameFilter ? (EROFS_XATTR_FILTER_DEFAULT & ~bits) >>> 0 : 0;
  return { shared: shared.map((s) => s.id), inline, filter, size };
}

/** Upper bound of an ibody's size when every item is stored inline. */
export function ibodySizeAllInline(items: readonly XattrItem[]): number {
  if (items.length === 0) return 0;
  return XATTR_IBODY_HEADER_SIZE + items.reduce((n, it) => n + it.size, 0);
}

/** Encodes a planned ibody at `b[o]` (plan.size bytes). */
export function encodeIbody(plan: IbodyPlan, b: Uint8Array, o: number): void {
  if (plan.size === 0) return;
  encodeXattrIbodyHeader({ nameFilter: plan.filter, sharedCount: plan.shared.length }, b, o);
  let p = o + XATTR_IBODY_HEADER_SIZE;
  for (const id of plan.shared) {
    put32(b, p, id);
    p += 4;
  }
  for (const it of plan.inline) p += encodeXattrItem(it, b, p);
}
