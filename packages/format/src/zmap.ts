import { put16, put32, u16, u32 } from './le.js';

/**
 * Compressed inodes. After the inode and its inline xattrs, at an 8-byte
 * boundary, comes struct z_erofs_map_header (8 bytes):
 *   0 h_fragmentoff (32) | {h_reserved1 (16), h_idata_size (16)} | h_extents_lo
 *   4 h_advise (16)
 *   6 h_algorithmtype (bits 0-3 HEAD1, 4-7 HEAD2) | h_extents_hi (16, with EXTENTS)
 *   7 h_clusterbits (bits 0-3 lclusterbits - blkszbits, bit 7 whole file in packed inode)
 * Full indexes (COMPRESSED_FULL) start 8 bytes after the header end, 8 bytes each:
 * struct z_erofs_lcluster_index: 0 di_advise, 2 di_clusterofs, 4 blkaddr | delta[2].
 */
export const MAP_HEADER_SIZE = 8;
export const LCLUSTER_INDEX_SIZE = 8;

export interface MapHeader {
  /** Bytes 0-3 as one 32-bit value (fragment offset / idata size in the high half / extents lo). */
  word0: number;
  advise: number;
  algorithmtype: number;
  clusterbits: number;
}

export function decodeMapHeader(b: Uint8Array, o: number): MapHeader {
  return { word0: u32(b, o), advise: u16(b, o + 4), algorithmtype: b[o + 6]!, clusterbits: b[o + 7]! };
}
export function encodeMapHeader(h: MapHeader, b: Uint8Array, o: number): void {
  put32(b, o, h.word0);
  put16(b, o + 4, h.advise);
  b[o + 6] = h.algorithmtype;
  b[o + 7] = h.clusterbits;
}
/** h_idata_size: encoded size of the tail-packed (inline) pcluster. */
export function mapHeaderIdataSize(h: MapHeader): number {
  return h.word0 >>> 16;
}

export interface LclusterIndex {
  advise: number;
  clusterofs: number;
  /** blkaddr for HEAD/PLAIN lclusters; (delta[1] << 16) | delta[0] for NONHEAD. */
  u: number;
}
export function decodeLclusterIndex(b: Uint8Array, o: number): LclusterIndex {
  return { advise: u16(b, o), clusterofs: u16(b, o + 2), u: u32(b, o + 4) };
}
export function encodeLclusterIndex(l: LclusterIndex, b: Uint8Array, o: number): void {
  put16(b, o, l.advise);
  put16(b, o + 2, l.clusterofs);
  put32(b, o + 4, l.u);
}

/** Byte offset (relative to the inode start) of the map header: round_up(inode + xattrs, 8). */
export function mapHeaderStart(inodeAndXattrSize: number): number {
  return (inodeAndXattrSize + 7) & ~7;
}

/**
 * Compression configurations (COMPR_CFGS): right after the superblock
 * (1024 + 128 + sb_extslots * 16), one record per algorithm set in
 * available_compr_algs, in algorithm order, each a __le16 length then payload:
 * LZ4 (14 B): max_distance (16), max_pclusterblks (16);
 * LZMA (14 B): dict_size (32), format (16);
 * DEFLATE (6 B): windowbits (8); ZSTD (6 B): format (8), windowlog - 10 (8).
 */
export interface Lz4Cfgs { maxDistance: number; maxPclusterblks: number }
export interface LzmaCfgs { dictSize: number; format: number }
export interface DeflateCfgs { windowbits: number }
export interface ZstdCfgs { format: number; windowlog: number }

export function encodeLz4Cfgs(c: Lz4Cfgs): Uint8Array {
  const b = new Uint8Array(14);
  put16(b, 0, c.maxDistance);
  put16(b, 2, c.maxPclusterblks);
  return b;
}
export function decodeLz4Cfgs(b: Uint8Array): Lz4Cfgs {
  return { maxDistance: b.length >= 2 ? u16(b, 0) : 0, maxPclusterblks: b.length >= 4 ? u16(b, 2) : 0 };
}
export function encodeLzmaCfgs(c: LzmaCfgs): Uint8Array {
  const b = new Uint8Array(14);
  put32(b, 0, c.dictSize);
  put16(b, 4, c.format);
  return b;
}
export function decodeLzmaCfgs(b: Uint8Array): LzmaCfgs {
  return { dictSize: b.length >= 4 ? u32(b, 0) : 0, format: b.length >= 6 ? u16(b, 4) : 0 };
}
export function encodeDeflateCfgs(c: DeflateCfgs): Uint8Array {
  const b = new Uint8Array(6);
  b[0] = c.windowbits;
  return b;
}
export function decodeDeflateCfgs(b: Uint8Array): DeflateCfgs {
  return { windowbits: b[0] ?? 0 };
}
export function encodeZstdCfgs(c: ZstdCfgs): Uint8Array {
  const b = new Uint8Array(6);
  b[0] = c.format;
  b[1] = c.windowlog;
  return b;
}
export function decodeZstdCfgs(b: Uint8Array): ZstdCfgs {
  return { format: b[0] ?? 0, windowlog: b[1] ?? 0 };
}
