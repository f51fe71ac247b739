import { DIRENT_SIZE, EROFS_NAME_LEN, corrupted, u16, u64 } from '@erofs/format';

/** One directory entry as stored (names are raw bytes; EROFS does not fix an encoding). */
export interface RawDirent {
  nid: bigint;
  fileType: number;
  name: Uint8Array;
}

/**
 * Parses one directory block. `b` is the block as far as the directory
 * reaches (a full block, or the tail of the last one); `blksz` the block size.
 * The first dirent's nameoff gives the entry count; each name ends where the
 * next begins, the last one at the end of the block or a NUL byte. Any
 * inconsistency is corruption, as in the kernel's readdir.
 */
export function parseDirBlock(b: Uint8Array, blksz: number, where: string, lblk: number): RawDirent[] {
  if (b.length < DIRENT_SIZE) throw corrupted(`directory block ${lblk} too short (${b.length} bytes)`, where);
  const nameoff0 = u16(b, 8);
  if (nameoff0 < DIRENT_SIZE || nameoff0 >= blksz || nameoff0 > b.length || nameoff0 % DIRENT_SIZE !== 0) {
    throw corrupted(`corrupted directory: invalid de[0].nameoff ${nameoff0} in block ${lblk}`, where);
  }
  const count = nameoff0 / DIRENT_SIZE;
  const out: RawDirent[] = new Array(count);
  let expect = nameoff0;
  for (let i = 0; i < count; i++) {
    const o = i * DIRENT_SIZE;
    const nameoff = u16(b, o + 8);
    if (nameoff !== expect) {
      throw corrupted(`corrupted directory: bogus nameoff ${nameoff} of de[${i}] in block ${lblk}`, where);
    }
    let end: number;
    if (i + 1 < count) {
      end = u16(b, o + DIRENT_SIZE + 8);
    } else {
      end = b.indexOf(0, nameoff);
      if (end < 0) end = b.length;
    }
    const len = end - nameoff;
    if (len < 1 || len > EROFS_NAME_LEN || end > b.length) {
      throw corrupted(`corrupted directory: bogus name length ${len} of de[${i}] in block ${lblk}`, where);
    }
    out[i] = { nid: u64(b, o), fileType: b[o + 10]!, name: b.subarray(nameoff, end) };
    expect = end;
  }
  return out;
}

/** Byte-wise comparison, as the kernel orders and looks up names. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d) return d;
  }
  return a.length - b.length;
}

/** Binary search of `name` in one parsed (sorted) block. */
export function findInBlock(ents: RawDirent[], name: Uint8Array): RawDirent | undefined {
  let head = 0;
  let back = ents.length - 1;
  while (head <= back) {
    const mid = (head + back) >> 1;
    const c = compareBytes(name, ents[mid]!.name);
    if (c === 0) return ents[mid];
    if (c > 0) head = mid + 1;
    else back = mid - 1;
  }
  return undefined;
}

export function isDotOrDotDot(name: Uint8Array): boolean {
  return (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
}
