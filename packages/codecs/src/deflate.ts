/**
 * Raw DEFLATE (RFC 1951) for EROFS's Z_EROFS_COMPRESSION_DEFLATE, portable
 * version on fflate. `@erofs/codecs/node` has the same API over node:zlib.
 *
 * EROFS stores a raw stream right-aligned in its pcluster, so decoding starts
 * after the zero padding and must stop at the extent's decompressed length:
 * the stream may legitimately go on (partial reads of a pcluster) and, in
 * images written without exact sizes, may be followed by padding.
 */
import { deflateSync, inflateSync, Inflate } from 'fflate';
import { badArgument, checkRange, corruptInput } from './errors.js';
import { searchDestSize, type DestSizeSearchOptions } from './destsize.js';
import type { DestSizeResult } from './lz4-encode.js';

/** Options of {@link deflateDecompress}. */
export interface DeflateDecompressOptions {
  /** Added to error messages. */
  where?: string;
}

function flateError(e: unknown, where: string | undefined): Error {
  return corruptInput('deflate', e instanceof Error ? e.message : String(e), where);
}

/**
 * Inflates the raw DEFLATE stream in `src[srcStart, srcEnd)` into exactly
 * `dst[dstStart, dstEnd)`. Output beyond the window is decoded and dropped
 * (the stream may continue past what the caller wants); bytes after the
 * final block are ignored.
 *
 * @returns bytes written, always `dstEnd - dstStart`.
 * @throws ErofsError EFSCORRUPTED when the stream is invalid or ends before
 *   the window is full.
 */
export function deflateDecompress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: DeflateDecompressOptions,
): number {
  checkRange('deflate', 'input', src, srcStart, srcEnd);
  checkRange('deflate', 'output', dst, dstStart, dstEnd);
  const where = options?.where;
  const want = dstEnd - dstStart;
  if (want === 0) return 0;
  if (srcEnd === srcStart) throw corruptInput('deflate', 'empty stream', where);
  const window = dst.subarray(dstStart, dstEnd);
  let got: number;
  try {
    // With `out` fflate never allocates for output and drops what does not fit.
    got = inflateSync(src.subarray(srcStart, srcEnd), { out: window }).length;
  } catch (e) {
    // A stored block crossing the end of the window makes fflate throw even
    // for a valid stream; the streaming decoder copes, so let it decide.
    got = inflateStreaming(src.subarray(srcStart, srcEnd), window, where);
  }
  if (got < want) throw corruptInput('deflate', `stream ends after ${got} of ${want} bytes`, where);
  return want;
}

/** Feeds the stream in small pieces and stops as soon as `out` is full. */
function inflateStreaming(input: Uint8Array, out: Uint8Array, where: string | undefined): number {
  let got = 0;
  const inf = new Inflate((chunk) => {
    const n = Math.min(chunk.length, out.length - got);
    out.set(chunk.subarray(0, n), got);
    got += n;
  });
  // Small pieces bound what fflate buffers per push (a piece expands at most ~1032x).
  const PIECE = 1024;
  try {
    for (let i = 0; i < input.length && got < out.length; i += PIECE) {
      const end = Math.min(input.length, i + PIECE);
      inf.push(input.subarray(i, end), end === input.length);
    }
  } catch (e) {
    if (got < out.length) throw flateError(e, where);
  }
  return got;
}

/** Compression level of DEFLATE: 0 stores, 9 is slowest and smallest. */
export type DeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

function checkLevel(level: number): asserts level is DeflateLevel {
  if (!Number.isInteger(level) || level < 0 || level > 9) throw badArgument('deflate', `level ${level} not in 0..9`);
}

/** Compresses `src[srcStart, srcEnd)` into a new raw DEFLATE stream. */
export function deflateCompress(src: Uint8Array, srcStart: number, srcEnd: number, level: number = 6): Uint8Array {
  checkRange('deflate', 'input', src, srcStart, srcEnd);
  checkLevel(level);
  return deflateSync(src.subarray(srcStart, srcEnd), { level });
}

/**
 * Writes a raw DEFLATE stream of at most `dstCapacity` bytes into `dst` (from
 * index 0) encoding as long a prefix of `src[srcStart, srcEnd)` as the search
 * in `searchDestSize` finds; see there for the method and its cost.
 */
export function deflateCompressDestSize(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstCapacity: number,
  level: number = 6,
  search?: DestSizeSearchOptions,
): DestSizeResult {
  checkRange('deflate', 'input', src, srcStart, srcEnd);
  checkRange('deflate', 'output', dst, 0, dstCapacity);
  checkLevel(level);
  const r = searchDestSize(srcEnd - srcStart, dstCapacity, (n) => deflateSync(src.subarray(srcStart, srcStart + n), { level }), search);
  dst.set(r.data, 0);
  return { consumed: r.consumed, written: r.data.length };
}
