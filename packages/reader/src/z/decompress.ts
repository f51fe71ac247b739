/**
 * Turns one pcluster into the decoded bytes of its extent: a plain copy for
 * uncompressed pclusters (shifted or interlaced), otherwise the algorithm's
 * decoder after stripping the 0padding, as the kernel's decompressor*.c.
 */
import * as codecs from '@erofs/codecs';
import { CompressionAlgorithm, ErofsError, FeatureIncompat } from '@erofs/format';
import { PARTIAL_REF, Z_EROFS_COMPRESSION_INTERLACED, Z_EROFS_COMPRESSION_SHIFTED, type ZExtent } from './map.js';
import type { ZCodec, ZCodecRequest, ZImage } from './types.js';

const ALGORITHM_NAMES = ['lz4', 'lzma', 'deflate', 'zstd'] as const;

/**
 * Wraps one @erofs/codecs decoder in this module's calling convention, with
 * the superblock's limits for it: the LZMA dictionary size and the largest
 * zstd window (windowlog + 10, as the zstd config stores it).
 */
function adapt(codec: codecs.Codec, img: ZImage): ZCodec {
  const opts: codecs.CodecDecompressOptions = {};
  if (img.cfgs.lzma?.dictSize) opts.dictSize = img.cfgs.lzma.dictSize;
  if (img.cfgs.zstd) opts.maxWindow = 2 ** (img.cfgs.zstd.windowlog + 10);
  return (r) => {
    const n = codec.decompress(r.src, 0, r.src.length, r.dst, 0, r.dst.length, { ...opts, partial: r.partial, where: r.where });
    if (n !== r.dst.length) throw new ErofsError('EFSCORRUPTED', `${codec.name}: decoded ${n} of ${r.dst.length} bytes`, r.where);
  };
}

const adapted = new WeakMap<ZImage, ZCodec[]>();

/** The decoder for `algorithm`: the image's own override first, then its decoder table (default @erofs/codecs). */
function codecFor(img: ZImage, algorithm: number, where: string): ZCodec {
  const name = ALGORITHM_NAMES[algorithm];
  if (name === undefined) throw new ErofsError('EOPNOTSUPP', `unknown compression algorithm ${algorithm}`, where);
  const own = img.codecs?.[name];
  if (own) return own;
  let table = adapted.get(img);
  if (!table) {
    table = [];
    adapted.set(img, table);
  }
  let c = table[algorithm];
  if (!c) {
    const codec = img.decoders ? codecs.lookupCodec(img.decoders, algorithm) : codecs.getCodec(algorithm);
    c = table[algorithm] = adapt(codec, img);
  }
  return c;
}

/**
 * Decodes the first `dst.length` bytes of the extent `ext` (whose pcluster
 * bytes are `raw`) into `dst`.
 */
export async function decodeExtent(img: ZImage, ext: ZExtent, raw: Uint8Array, dst: Uint8Array, where: string): Promise<void> {
  const n = dst.length;
  const bs = 2 ** img.blkszbits;
  if (ext.algorithm === Z_EROFS_COMPRESSION_SHIFTED || ext.algorithm === Z_EROFS_COMPRESSION_INTERLACED) {
    if (n > raw.length) throw new ErofsError('EFSCORRUPTED', `plain extent of ${n} bytes in a ${raw.length}-byte pcluster`, where);
    if (ext.algorithm === Z_EROFS_COMPRESSION_SHIFTED) {
      dst.set(raw.subarray(0, n));
      return;
    }
    // Interlaced: the bytes up to la's next block boundary sit at the end of
    // the pcluster, the rest at its start (writers rotate the block so that
    // the data stays block-aligned in the page cache).
    const first = bs - (ext.la % bs);
    const from = raw.length - first;
    if (from < 0) throw new ErofsError('EFSCORRUPTED', `interlaced pcluster of ${raw.length} bytes shorter than its head`, where);
    const c = Math.min(first, n);
    dst.set(raw.subarray(from, from + c));
    dst.set(raw.subarray(0, n - c), c);
    return;
  }

  const codec = codecFor(img, ext.algorithm, where);
  const isLz4 = ext.algorithm === CompressionAlgorithm.LZ4;
  const zeroPadding = !isLz4 || (img.featureIncompat & FeatureIncompat.ZERO_PADDING) !== 0;
  let start = 0;
  if (zeroPadding) {
    // The stream is right-aligned; its first byte is never zero. Like the
    // kernel, look for it within the pcluster's first block only.
    const limit = Math.min(raw.length, bs - (ext.pa % bs));
    while (start < limit && raw[start] === 0) start++;
    if (start >= limit) throw new ErofsError('EFSCORRUPTED', 'pcluster holds no compressed data (all zero padding)', where);
  }
  const req: ZCodecRequest = {
    src: raw.subarray(start),
    dst,
    // Without 0padding an LZ4 stream's end is unknown: stop once dst is full.
    partial: (ext.flags & PARTIAL_REF) !== 0 || !zeroPadding || n < ext.llen,
    where,
  };
  try {
    await codec(req);
  } catch (e) {
    if (e instanceof ErofsError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ErofsError('EFSCORRUPTED', `${ALGORITHM_NAMES[ext.algorithm]}: ${msg}`, where, { cause: e });
  }
}
