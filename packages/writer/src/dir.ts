/**
 * Directory contents as the kernel reads them: entries sorted by name bytes
 * ('.' and '..' included, they sort like any name), packed into blocks; an
 * entry that would not fit in the rest of a block starts the next one. Each
 * block holds its dirents first, then their names back to back; the first
 * dirent's nameoff tells the dirent count, and the last name ends at the
 * block's end or at the first NUL (the padding). Lookup binary-searches the
 * blocks by their first name, then the names inside one block.
 */
import { DIRENT_SIZE, encodeDirent } from '@erofs/format';

/** One entry to store. */
export interface DirEntryOut {
  name: Uint8Array;
  nid: bigint;
  fileType: number;
}

/** Orders names as the kernel compares them (memcmp, then length). */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** i_size of a directory whose sorted entry names have these lengths. */
export function dirSize(nameLengths: readonly number[], blksz: number): number {
  let size = 0;
  for (const len of nameLengths) {
    const need = DIRENT_SIZE + len;
    if ((size % blksz) + need > blksz) size = Math.ceil(size / blksz) * blksz;
    size += need;
  }
  return size;
}

/** Encodes sorted entries into `size` bytes (dirSize of the same names), zero padded. */
export function encodeDir(entries: readonly DirEntryOut[], blksz: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let i = 0;
  for (let blk = 0; i < entries.length; blk += blksz) {
    // gather the entries of this block
    let used = 0;
    let j = i;
    while (j < entries.length && used + DIRENT_SIZE + entries[j]!.name.length <= blksz) {
      used += DIRENT_SIZE + entries[j]!.name.length;
      j++;
    }
    let nameoff = (j - i) * DIRENT_SIZE;
    for (let k = i; k < j; k++) {
      const e = entries[k]!;
      encodeDirent({ nid: e.nid, nameoff, fileType: e.fileType }, out, blk + (k - i) * DIRENT_SIZE);
      out.set(e.name, blk + nameoff);
      nameoff += e.name.length;
    }
    i = j;
  }
  return out;
}
