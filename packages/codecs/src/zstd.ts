/**
 * Zstandard decoding for EROFS's Z_EROFS_COMPRESSION_ZSTD, on fzstd (pure
 * JS, runs in a browser). Compression needs the reference C library, which
 * `@erofs/codecs/node` provides through a WebAssembly build.
 *
 * Each pcluster holds one zstd frame, right-aligned after zero padding.
 */
import { Decompress } from 'fzstd';
import { checkRange, corruptInput } from './errors.js';

/** Options of {@link zstdDecompress}. */
export interface ZstdDecompressOptions {
  /**
   * The window may be a prefix of the frame's content (partial read of a
   * pcluster). Without it the frame must hold exactly the window's size.
   */
  partial?: boolean;
  /**
   * Largest window a frame may ask for, bounding what the decoder allocates
   * beyond the output; EROFS's zstd config gives it as 1 << (windowlog + 10).
   * Default 8 MiB.
   */
  maxWindow?: number;
  /** Added to error messages. */
  where?: string;
}

/** What a zstd frame header says about sizes. */
export interface ZstdFrameInfo {
  /** Declared content size, or undefined when the frame omits it. */
  contentSize: number | undefined;
  /** Window the decoder needs. */
  windowSize: number;
}

/**
 * Reads the header of the zstd frame at `src[start]` (RFC 8878 section 3.1.1.1).
 * @throws ErofsError EFSCORRUPTED for a missing magic or a reserved bit.
 */
export function zstdFrameInfo(src: Uint8Array, start: number, end: number, where?: string): ZstdFrameInfo {
  if (end - start < 6) throw corruptInput('zstd', 'frame header truncated', where);
  const magic = (src[start]! | (src[start + 1]! << 8) | (src[start + 2]! << 16) | (src[start + 3]! << 24)) >>> 0;
  if (magic !== 0xfd2fb528) throw corruptInput('zstd', `bad frame magic 0x${magic.toString(16)}`, where);
  const fhd = src[start + 4]!;
  if (fhd & 0x08) throw corruptInput('zstd', 'reserved frame header bit set', where);
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const dictIdBytes = [0, 1, 2, 4][fhd & 3]!;
  let p = start + 5;
  let windowSize = 0;
  if (!singleSegment) {
    const wd = src[p++]!;
    const base = 2 ** (10 + (wd >> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  p += dictIdBytes;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (p + fcsBytes > end) throw corruptInput('zstd', 'frame header truncated', where);
  let contentSize: number | undefined;
  if (fcsBytes > 0) {
    let v = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) v = v * 256 + src[p + i]!;
    contentSize = fcsBytes === 2 ? v + 256 : v;
  }
  if (singleSegment) windowSize = contentSize!;
  return { contentSize, windowSize };
}

/**
 * Decodes the zstd frame in `src[srcStart, srcEnd)` into `dst[dstStart, dstEnd)`.
 *
 * The frame is streamed block by block into the window (fzstd's one-shot
 * call cannot tell a frame that stops short of the window), and with
 * `partial` decoding stops as soon as the window is full.
 *
 * @returns bytes written, always `dstEnd - dstStart`.
 * @throws ErofsError EFSCORRUPTED for an invalid frame, a window larger than
 *   `maxWindow`, or a frame that does not fill (or, without `partial`,
 *   exceeds) the window.
 */
export function zstdDecompress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: ZstdDecompressOptions,
): number {
  checkRange('zstd', 'input', src, srcStart, srcEnd);
  checkRange('zstd', 'output', dst, dstStart, dstEnd);
  const where = options?.where;
  const partial = options?.partial === true;
  const want = dstEnd - dstStart;
  const info = zstdFrameInfo(src, srcStart, srcEnd, where);
  const maxWindow = options?.maxWindow ?? 8 << 20;
  if (info.windowSize > Math.max(maxWindow, want)) {
    throw corruptInput('zstd', `frame window ${info.windowSize} exceeds the limit ${Math.max(maxWindow, want)}`, where);
  }
  if (info.contentSize !== undefined) {
    if (info.contentSize < want) throw corruptInput('zstd', `frame holds ${info.contentSize} bytes, ${want} wanted`, where);
    if (!partial && info.contentSize !== want) throw corruptInput('zstd', `frame holds ${info.contentSize} bytes, expected ${want}`, where);
  }
  const input = src.subarray(srcStart, srcEnd);
  const window = dst.subarray(dstStart, dstEnd);
  let got = 0;
  let over = false;
  const dec = new Decompress((chunk) => {
    const n = Math.min(chunk.length, want - got);
    window.set(chunk.subarray(0, n), got);
    got += n;
    if (n < chunk.length) over = true;
  });
  const PIECE = 4096;
  try {
    for (let i = 0; i < input.length && (got < want || !partial); i += PIECE) {
      const end = Math.min(input.length, i + PIECE);
      dec.push(input.subarray(i, end), end === input.length);
    }
  } catch (e) {
    if (got < want || !partial) throw corruptInput('zstd', e instanceof Error ? e.message : String(e), where);
  }
  if (got < want) throw corruptInput('zstd', `frame ends after ${got} of ${want} bytes`, where);
  if (over && !partial) throw corruptInput('zstd', `frame holds more than ${want} bytes`, where);
  return want;
}
