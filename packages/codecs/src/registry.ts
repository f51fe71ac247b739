/**
 * Algorithm ids as EROFS numbers them (Z_EROFS_COMPRESSION_*), mapped to the
 * decoders of this package so a reader can dispatch on the id found in the
 * superblock's available_compr_algs and the lcluster advise bits.
 */
import { ErofsError } from '@erofs/format';
import { lz4Decompress } from './lz4-decode.js';
import { microLzmaDecompress } from './microlzma.js';
import { deflateDecompress } from './deflate.js';
import { zstdDecompress } from './zstd.js';

/** Z_EROFS_COMPRESSION_LZ4 */
export const Z_EROFS_COMPRESSION_LZ4 = 0;
/** Z_EROFS_COMPRESSION_LZMA (MicroLZMA streams) */
export const Z_EROFS_COMPRESSION_LZMA = 1;
/** Z_EROFS_COMPRESSION_DEFLATE (raw DEFLATE) */
export const Z_EROFS_COMPRESSION_DEFLATE = 2;
/** Z_EROFS_COMPRESSION_ZSTD (one zstd frame per pcluster) */
export const Z_EROFS_COMPRESSION_ZSTD = 3;

/** Options every decoder understands; each ignores what it has no use for. */
export interface CodecDecompressOptions {
  /** The window may be a prefix of the pcluster's data (partial decoding). */
  partial?: boolean;
  /** LZMA dictionary size from the superblock's lzma config. */
  dictSize?: number;
  /** Largest zstd window allowed, from the superblock's zstd config. */
  maxWindow?: number;
  /** Added to error messages, e.g. "pcluster 12 of nid 34". */
  where?: string;
}

/** One algorithm's decoder in the common calling convention. */
export interface Codec {
  /** EROFS algorithm id. */
  readonly id: number;
  /** The name mkfs.erofs uses for it (`-z NAME`). */
  readonly name: 'lz4' | 'lzma' | 'deflate' | 'zstd';
  /**
   * Decodes `src[srcStart, srcEnd)` (zero padding already skipped) into
   * `dst[dstStart, dstEnd)`; returns the bytes written.
   */
  decompress(
    src: Uint8Array,
    srcStart: number,
    srcEnd: number,
    dst: Uint8Array,
    dstStart: number,
    dstEnd: number,
    options?: CodecDecompressOptions,
  ): number;
}

/** The portable decoders, indexed by algorithm id. */
export const portableCodecs: readonly Codec[] = [
  { id: Z_EROFS_COMPRESSION_LZ4, name: 'lz4', decompress: lz4Decompress },
  { id: Z_EROFS_COMPRESSION_LZMA, name: 'lzma', decompress: microLzmaDecompress },
  { id: Z_EROFS_COMPRESSION_DEFLATE, name: 'deflate', decompress: deflateDecompress },
  { id: Z_EROFS_COMPRESSION_ZSTD, name: 'zstd', decompress: zstdDecompress },
];

/** Shared lookup for this entry and the Node one (which swaps in zlib). */
export function lookupCodec(table: readonly Codec[], algorithm: number): Codec {
  const codec = Number.isInteger(algorithm) ? table[algorithm] : undefined;
  if (!codec) throw new ErofsError('EOPNOTSUPP', `unknown compression algorithm ${algorithm}`);
  return codec;
}

/**
 * The decoder for an EROFS algorithm id (0 LZ4, 1 LZMA, 2 DEFLATE, 3 ZSTD).
 * @throws ErofsError EOPNOTSUPP for any other id.
 */
export function getCodec(algorithm: number): Codec {
  return lookupCodec(portableCodecs, algorithm);
}
