import { EROFS_CHUNK_FORMAT_BLKBITS_MASK } from './constants.js';
import { put16, put32, u16, u32 } from './le.js';

/**
 * Chunk-based files (datalayout CHUNK_BASED). i_u holds chunk_info.format:
 * bits 0-4 chunk blkbits (chunk size = block size << blkbits), bit 5 INDEXES
 * (8-byte erofs_inode_chunk_index records instead of a 4-byte block map),
 * bit 6 48BIT. The records follow the inode and its xattrs; with indexes
 * they start at an 8-byte boundary.
 *
 * struct erofs_inode_chunk_index (8 bytes): 0 startblk_hi (16), 2 device_id (16),
 * 4 startblk_lo (32). A startblk_lo of 0xffffffff (EROFS_NULL_ADDR) is a hole.
 */
export const CHUNK_INDEX_SIZE = 8;

export interface ChunkIndex {
  startblkHi: number;
  deviceId: number;
  startblkLo: number;
}

export function decodeChunkIndex(b: Uint8Array, o: number): ChunkIndex {
  return { startblkHi: u16(b, o), deviceId: u16(b, o + 2), startblkLo: u32(b, o + 4) };
}

export function encodeChunkIndex(c: ChunkIndex, b: Uint8Array, o: number): void {
  put16(b, o, c.startblkHi);
  put16(b, o + 2, c.deviceId);
  put32(b, o + 4, c.startblkLo);
}

/** Chunk size in bytes for a chunk_info.format value. */
export function chunkSize(format: number, blkszbits: number): number {
  return 2 ** (blkszbits + (format & EROFS_CHUNK_FORMAT_BLKBITS_MASK));
}
