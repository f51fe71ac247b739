import type { Codec } from '@erofs/codecs';
/**
 * What the compressed-data module needs from the rest of the reader: the
 * image-wide facts (block size, features, compression configurations, raw
 * device and packed-inode reads) and one inode's facts and metadata reads.
 */
import type { DeflateCfgs, Lz4Cfgs, LzmaCfgs, ZstdCfgs } from '@erofs/format';

/** Decodes one compressed stream into exactly `dst.length` bytes. */
export interface ZCodecRequest {
  /** The compressed stream, without the leading zero padding. */
  src: Uint8Array;
  /** The output window; every byte must be written. */
  dst: Uint8Array;
  /**
   * The stream may decode to more than `dst.length` (PARTIAL_REF extents, and
   * LZ4 without 0padding whose input has trailing bytes): stop when `dst` is full.
   */
  partial: boolean;
  /** For error messages: "pcluster at 12345 of nid 67". */
  where: string;
}

/** A decoder of one algorithm; throws ErofsError('EFSCORRUPTED') for a bad stream. */
export type ZCodec = (req: ZCodecRequest) => void | Promise<void>;

/** Decoders by algorithm; missing ones fall back to @erofs/codecs. */
export interface ZCodecs {
  lz4?: ZCodec;
  lzma?: ZCodec;
  deflate?: ZCodec;
  zstd?: ZCodec;
}

/** Image-wide facts, from the superblock. */
export interface ZImage {
  blkszbits: number;
  featureIncompat: number;
  /** From the superblock: available_compr_algs (COMPR_CFGS) or lz4_max_distance. */
  u1: number;
  cfgs: { lz4?: Lz4Cfgs; lzma?: LzmaCfgs; deflate?: DeflateCfgs; zstd?: ZstdCfgs };
  /** Reads raw bytes of the primary device (pclusters). */
  readData(pos: number, len: number): Promise<Uint8Array>;
  /**
   * Optional: a prefix of [pos, pos + len) at least `need` bytes long (for
   * instance what one readahead buffer holds, with no copy); the rest is
   * asked for again. Without it, `readData` is used.
   */
  readDataSome?(pos: number, len: number, need: number): Promise<Uint8Array>;
  /** Reads [pos, pos+len) of the packed inode's uncompressed content (fragments); throws if there is no packed inode. */
  readPacked(pos: number, len: number): Promise<Uint8Array>;
  /** The packed inode's nid: it may not have fragments itself. */
  packedNid?: bigint;
  /** Decoders to use instead of @erofs/codecs' (tests, other platforms). */
  codecs?: ZCodecs;
  /** Decoder table indexed by algorithm id (e.g. @erofs/codecs/node's, with zlib); default: the portable one. */
  decoders?: readonly Codec[];
}

/** One compressed inode. */
export interface ZInode {
  /** For error messages. */
  nid: bigint;
  /** 1 COMPRESSED_FULL or 3 COMPRESSED_COMPACT. */
  datalayout: number;
  /** i_size. */
  size: number;
  /** Raw i_u (compressed block count, low bits). */
  iu: number;
  /** Raw i_nb. */
  nb: number;
  /** Absolute position of the inode in its metadata space. */
  inodePos: number;
  /** Absolute position of the end of inode core + inline xattrs. */
  xattrEnd: number;
  /** Reads metadata bytes (map header, lcluster indexes, inline tail pcluster) from the inode's metadata space. */
  readMeta(pos: number, len: number): Promise<Uint8Array>;
}
