import { put16, put64, u16, u64 } from './le.js';

/**
 * struct erofs_dirent (12 bytes): 0 nid (64), 8 nameoff (16), 10 file_type, 11 reserved.
 * A directory block holds the dirents first, then their names back to back,
 * unterminated; the first dirent's nameoff tells how many dirents the block has
 * (nameoff / 12) and each name ends where the next begins (the last one at the
 * block end or at a NUL byte).
 */
export const DIRENT_SIZE = 12;

export interface Dirent {
  nid: bigint;
  nameoff: number;
  fileType: number;
}

export function decodeDirent(b: Uint8Array, o: number): Dirent {
  return { nid: u64(b, o), nameoff: u16(b, o + 8), fileType: b[o + 10]! };
}

export function encodeDirent(d: Dirent, b: Uint8Array, o: number): void {
  put64(b, o, d.nid);
  put16(b, o + 8, d.nameoff);
  b[o + 10] = d.fileType;
  b[o + 11] = 0;
}
