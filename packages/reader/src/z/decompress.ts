/**
 * Turns one pcluster into the decoded bytes of its extent: a plain copy for
 * uncompressed pclusters (shifted or interlaced), otherwise the algorithm's
 * decoder after stripping the 0padding, as the kernel's decompressor*.c.
 */
import * as codecs from '@erofs/codecs';
import { CompressionAlgorithm, ErofsError, FeatureIncompat } from '@erofs/format';
import { PARTIAL_REF, Z_EROFS_COMPRESSION_INTERLACED, Z_EROFS_COMPRESSION_SHIFTED, type ZExtent } from './map.js';
import type { ZCodec, ZImage } from './types.js';

const ALGORITHM_NAMES = ['lz4', 'lzma', 'deflate', 'zstd'] as const;

/**
 * Codec options whose `where` text is only made when a codec reads it (for
 * an error message). One per decoder, refilled for each call: the
 * @erofs/codecs decoders are synchronous and keep nothing.
 */
class LazyWhereOptions implements codecs.CodecDecompressOptions {
  partial = false;
  whereText: () => string = () => '';
  constructor(readonly dictSize: number | undefined, readonly maxWindow: number | undefined) {}
  get where(): string {
    return this.whereText();
  }
}

/** How the codec of one algorithm is called: a ZCodec override (views), or an @erofs/codecs Codec (offsets, no views). */
interface Decoder {
  own?: ZCodec;
  codec?: codecs.Codec;
  /** With `codec`: its options, with the superblock's limits for it (LZMA dictionary, zstd window). */
  opts?: LazyWhereOptions;
}

const decoders = new WeakMap<ZImage, Decoder[]>();
/** The last image's table: decoding runs image by image, and a WeakMap lookup per pcluster shows. */
let lastImg: ZImage | undefined;
let lastTable: Decoder[] = [];

/** The decoder for `algorithm`: the image's own override first, then its decoder table (default @erofs/codecs). */
function decoderFor(img: ZImage, algorithm: number, where: () => string): Decoder {
  let table = img === lastImg ? lastTable : decoders.get(img);
  if (!table) {
    table = [];
    decoders.set(img, table);
  }
  lastImg = img;
  lastTable = table;
  let d = table[algorithm];
  if (d) return d;
  const name = ALGORITHM_NAMES[algorithm];
  if (name === undefined) throw new ErofsError('EOPNOTSUPP', `unknown compression algorithm ${algorithm}`, where());
  const own = img.codecs?.[name];
  if (own) d = { own };
  else {
    const dictSize = img.cfgs.lzma?.dictSize ? img.cfgs.lzma.dictSize : undefined;
    const maxWindow = img.cfgs.zstd ? 2 ** (img.cfgs.zstd.windowlog + 10) : undefined;
    d = { codec: img.decoders ? codecs.lookupCodec(img.decoders, algorithm) : codecs.getCodec(algorithm), opts: new LazyWhereOptions(dictSize, maxWindow) };
  }
  return (table[algorithm] = d);
}

/**
 * Decodes the first `dst.length` bytes of the extent `ext` (whose pcluster
 * bytes are `raw`) into `dst`.
 */
export async function decodeExtent(img: ZImage, ext: ZExtent, raw: Uint8Array, dst: Uint8Array, where: string): Promise<void> {
  await decodeExtentAt(img, ext, raw, 0, raw.length, dst, 0, dst.length, () => where);
}

/**
 * {@link decodeExtent} on ranges instead of views: the pcluster is
 * raw[rawStart, rawEnd), the window dst[dstStart, dstEnd). Synchronous with
 * the @erofs/codecs decoders (undefined when done); a promise only when an
 * asynchronous override decodes. `where` is called only for an error.
 */
export function decodeExtentAt(
  img: ZImage, ext: ZExtent, raw: Uint8Array, rawStart: number, rawEnd: number,
  dst: Uint8Array, dstStart: number, dstEnd: number, where: () => string,
): Promise<void> | undefined {
  const n = dstEnd - dstStart;
  const rawLen = rawEnd - rawStart;
  const bs = 2 ** img.blkszbits;
  if (ext.algorithm === Z_EROFS_COMPRESSION_SHIFTED || ext.algorithm === Z_EROFS_COMPRESSION_INTERLACED) {
    if (n > rawLen) throw new ErofsError('EFSCORRUPTED', `plain extent of ${n} bytes in a ${rawLen}-byte pcluster`, where());
    if (ext.algorithm === Z_EROFS_COMPRESSION_SHIFTED) {
      dst.set(raw.subarray(rawStart, rawStart + n), dstStart);
      return undefined;
    }
    // Interlaced: the bytes up to la's next block boundary sit at the end of
    // the pcluster, the rest at its start (writers rotate the block so that
    // the data stays block-aligned in the page cache).
    const first = bs - (ext.la % bs);
    const from = rawLen - first;
    if (from < 0) throw new ErofsError('EFSCORRUPTED', `interlaced pcluster of ${rawLen} bytes shorter than its head`, where());
    const c = Math.min(first, n);
    dst.set(raw.subarray(rawStart + from, rawStart + from + c), dstStart);
    dst.set(raw.subarray(rawStart, rawStart + n - c), dstStart + c);
    return undefined;
  }

  const d = decoderFor(img, ext.algorithm, where);
  const isLz4 = ext.algorithm === CompressionAlgorithm.LZ4;
  const zeroPadding = !isLz4 || (img.featureIncompat & FeatureIncompat.ZERO_PADDING) !== 0;
  let start = rawStart;
  if (zeroPadding) {
    // The stream is right-aligned; its first byte is never zero. Like the
    // kernel, look for it within the pcluster's first block only.
    const limit = rawStart + Math.min(rawLen, bs - (ext.pa % bs));
    while (start < limit && raw[start] === 0) start++;
    if (start >= limit) throw new ErofsError('EFSCORRUPTED', 'pcluster holds no compressed data (all zero padding)', where());
  }
  // Without 0padding an LZ4 stream's end is unknown: stop once dst is full.
  const partial = (ext.flags & PARTIAL_REF) !== 0 || !zeroPadding || n < ext.llen;
  try {
    if (d.own) {
      const r = d.own({ src: raw.subarray(start, rawEnd), dst: dst.subarray(dstStart, dstEnd), partial, where: where() });
      return r ? r.catch((e: unknown) => codecFailure(e, ext.algorithm, where)) : undefined;
    }
    const codec = d.codec!;
    const opts = d.opts!;
    opts.partial = partial;
    opts.whereText = where;
    const got = codec.decompress(raw, start, rawEnd, dst, dstStart, dstEnd, opts);
    if (got !== n) throw new ErofsError('EFSCORRUPTED', `${codec.name}: decoded ${got} of ${n} bytes`, where());
  } catch (e) {
    codecFailure(e, ext.algorithm, where);
  }
  return undefined;
}

/** A codec's exception as the library's error: ErofsErrors as they are, anything else EFSCORRUPTED. */
function codecFailure(e: unknown, algorithm: number, where: () => string): never {
  if (e instanceof ErofsError) throw e;
  const msg = e instanceof Error ? e.message : String(e);
  throw new ErofsError('EFSCORRUPTED', `${ALGORITHM_NAMES[algorithm]}: ${msg}`, where(), { cause: e });
}
