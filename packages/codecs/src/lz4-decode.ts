/**
 * LZ4 block decoder into a caller-provided window of fixed size: the
 * TypeScript decoder ({@link lz4DecompressJs}) and the entry point
 * ({@link lz4Decompress}) that hands large windows to the WebAssembly one.
 *
 * EROFS always knows the decompressed length of a pcluster before decoding it
 * (it comes from the lcluster indexes), so the decoder never grows a buffer: it
 * writes into `dst[dstStart, dstEnd)` and treats anything that would go past
 * `dstEnd` as corruption (or, with `partial`, as the point to stop).
 *
 * Speed notes on the TypeScript decoder (the fallback where WebAssembly is
 * unavailable, and the reference the wasm decoder is tested against):
 * - bounds are checked once per sequence, not per byte;
 * - short literal runs and short matches use plain byte loops (a call into
 *   `set`/`copyWithin` costs more than copying a dozen bytes by hand);
 * - long literal runs use `subarray` + `set`, long non-overlapping matches use
 *   `copyWithin`, and long overlapping matches (runs of a short pattern) grow
 *   the copied region by doubling, so RLE-like data also moves in bulk.
 */
import { checkRange, corruptInput } from './errors.js';
import { lz4DecompressWasm, lz4WasmAvailable } from './lz4-wasm.js';

/** Options of {@link lz4Decompress}. */
export interface Lz4DecompressOptions {
  /**
   * Stop as soon as the output window is full, even in the middle of a
   * sequence and with input left over (LZ4_decompress_safe_partial). EROFS
   * uses this when only a prefix of a pcluster's data is wanted, and for
   * pclusters written without 0padding, whose compressed length is not known
   * exactly. Without it the block must decode to exactly the window size and
   * end exactly at `srcEnd` (LZ4_decompress_safe).
   */
  partial?: boolean;
  /** Added to error messages, e.g. "pcluster 1234 of nid 56". */
  where?: string;
}

/** Literal runs and matches up to this length are copied byte by byte. */
const SHORT_COPY = 256;

function fail(message: string, where: string | undefined): never {
  throw corruptInput('lz4', message, where);
}

/**
 * Decodes the raw LZ4 block `src[srcStart, srcEnd)` into `dst[dstStart, dstEnd)`.
 *
 * Returns the number of bytes written. Without `partial` that is always
 * `dstEnd - dstStart` (anything else throws). With `partial` it is less only
 * when the block ends cleanly before the window is full; callers that need a
 * full window must compare.
 *
 * `src` and `dst` may be the same buffer with the input placed at its tail
 * (in-place decoding as the kernel does it), provided the input stays ahead
 * of the output; copies of literals are memmove-safe.
 *
 * Windows of {@link LZ4_WASM_THRESHOLD} bytes or more are decoded by the
 * WebAssembly module (lz4-wasm.ts, about 2.5x faster) when it loads, the rest
 * and everything else by {@link lz4DecompressJs}; both accept and reject
 * exactly the same blocks with the same messages. The wasm path writes
 * nothing to `dst` when the block is malformed; the TypeScript one may have
 * written part of the window by then.
 *
 * @throws ErofsError EFSCORRUPTED for any malformed block (truncated sequence,
 *   zero or too far match offset, output overflow without `partial`, size
 *   mismatch); EINVAL for ranges outside the arrays.
 */
export function lz4Decompress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: Lz4DecompressOptions,
): number {
  if (dstEnd - dstStart >= LZ4_WASM_THRESHOLD && lz4WasmAvailable()) {
    checkRange('lz4', 'input', src, srcStart, srcEnd);
    checkRange('lz4', 'output', dst, dstStart, dstEnd);
    // The options object itself, so that a lazily computed `where` is only read for an error.
    const n = lz4DecompressWasm(src, srcStart, srcEnd, dst, dstStart, dstEnd, options?.partial === true, options);
    if (n !== undefined) return n;
  }
  return lz4DecompressJs(src, srcStart, srcEnd, dst, dstStart, dstEnd, options);
}

/**
 * Output windows at least this large go to the WebAssembly decoder (when it
 * loads); smaller ones stay in TypeScript, where there is no call and copy
 * overhead. The wasm path was faster at every size measured (down to 32
 * bytes: 250 ns against 500 ns per call, see README), so this only keeps
 * trivial windows from instantiating the module.
 */
export const LZ4_WASM_THRESHOLD = 32;

/**
 * The pure TypeScript decoder: same contract as {@link lz4Decompress}, which
 * uses it for small windows and wherever WebAssembly is unavailable.
 */
export function lz4DecompressJs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: Lz4DecompressOptions,
): number {
  checkRange('lz4', 'input', src, srcStart, srcEnd);
  checkRange('lz4', 'output', dst, dstStart, dstEnd);
  const partial = options?.partial === true;
  const where = options?.where;
  if (dstEnd === dstStart && partial) return 0;
  if (srcEnd === srcStart) fail('empty input', where);

  // The fast path copies in whole 4-byte words and may write up to FAST_SLACK
  // bytes past the end of a sequence (later sequences overwrite them). That is
  // only safe while those bytes are inside the output window and are not
  // input still to be read, so in-place decoding (input inside the output
  // window's buffer) takes the careful path throughout.
  const sameBuffer =
    src.buffer === dst.buffer &&
    src.byteOffset + srcStart < dst.byteOffset + dstEnd + FAST_SLACK &&
    dst.byteOffset + dstStart < src.byteOffset + srcEnd;
  const sFast = srcEnd - FAST_SLACK;
  const dFast = sameBuffer ? -1 : dstEnd - FAST_SLACK;
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  let s = srcStart;
  let d = dstStart;

  for (;;) {
    // Loop invariant: s < srcEnd.
    const token = src[s++]!;
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (s >= srcEnd) fail('truncated literal length', where);
        b = src[s++]!;
        litLen += b;
      } while (b === 255);
    }

    if (s <= sFast && d <= dFast && litLen <= 16) {
      // Fast path: one bounds check covers the whole short literal run, the
      // match offset and a short match.
      dv.setUint32(d, sv.getUint32(s, true), true);
      dv.setUint32(d + 4, sv.getUint32(s + 4, true), true);
      if (litLen > 8) {
        dv.setUint32(d + 8, sv.getUint32(s + 8, true), true);
        dv.setUint32(d + 12, sv.getUint32(s + 12, true), true);
      }
      s += litLen;
      d += litLen;
      const offset = sv.getUint16(s, true);
      s += 2;
      let m = d - offset;
      if (offset === 0 || m < dstStart) badOffset(offset, where);
      let matchLen = token & 15;
      if (matchLen !== 15 && offset >= 4) {
        // d <= dFast + 16 here, so a 16-byte store stays inside the window.
        const mEnd = d + matchLen + 4;
        dv.setUint32(d, dv.getUint32(m, true), true);
        dv.setUint32(d + 4, dv.getUint32(m + 4, true), true);
        dv.setUint32(d + 8, dv.getUint32(m + 8, true), true);
        dv.setUint32(d + 12, dv.getUint32(m + 12, true), true);
        if (matchLen > 12) dv.setUint16(d + 16, dv.getUint16(m + 16, true), true);
        d = mEnd;
        continue;
      }
      if (matchLen === 15) {
        let b: number;
        do {
          if (s >= srcEnd) fail('truncated match length', where);
          b = src[s++]!;
          matchLen += b;
        } while (b === 255);
      }
      matchLen += 4;
      const mEnd = d + matchLen;
      if (mEnd > dstEnd) {
        if (!partial) fail(`match overruns the output by ${mEnd - dstEnd} bytes`, where);
        copyMatch(dst, d, m, dstEnd);
        return dstEnd - dstStart;
      }
      if (offset >= 8 && mEnd <= dFast + FAST_SLACK - 8) {
        if (matchLen >= LONG_COPY && offset >= matchLen) {
          dst.copyWithin(d, m, m + matchLen);
        } else {
          do {
            dv.setUint32(d, dv.getUint32(m, true), true);
            dv.setUint32(d + 4, dv.getUint32(m + 4, true), true);
            d += 8;
            m += 8;
          } while (d < mEnd);
        }
      } else {
        copyMatch(dst, d, m, mEnd);
      }
      d = mEnd;
      if (d === dstEnd) {
        if (partial) return dstEnd - dstStart;
        endsOnMatch(s, srcEnd, where);
      }
      if (s >= srcEnd) fail('block ends with a match instead of literals', where);
      continue;
    }

    // ---- careful path: long literal runs and the last bytes of either buffer
    if (litLen !== 0) {
      const sEnd = s + litLen;
      const dEnd = d + litLen;
      if (dEnd > dstEnd) {
        if (!partial) fail(`literals overrun the output by ${dEnd - dstEnd} bytes`, where);
        // Fill the window from whatever input there is, then stop.
        const n = dstEnd - d;
        if (s + n > srcEnd) fail('truncated literals', where);
        dst.set(src.subarray(s, s + n), d);
        return dstEnd - dstStart;
      }
      if (sEnd > srcEnd) fail('truncated literals', where);
      if (litLen <= SHORT_COPY) {
        while (s < sEnd) dst[d++] = src[s++]!;
      } else {
        dst.set(src.subarray(s, sEnd), d);
        s = sEnd;
        d = dEnd;
      }
      if (partial && d === dstEnd) return dstEnd - dstStart;
    }

    // The last sequence of a block carries literals only.
    if (s === srcEnd) break;

    if (s + 2 > srcEnd) fail('truncated match offset', where);
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    const m = d - offset;
    if (offset === 0 || m < dstStart) badOffset(offset, where);
    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (s >= srcEnd) fail('truncated match length', where);
        b = src[s++]!;
        matchLen += b;
      } while (b === 255);
    }
    matchLen += 4;
    let mEnd = d + matchLen;
    if (mEnd > dstEnd) {
      if (!partial) fail(`match overruns the output by ${mEnd - dstEnd} bytes`, where);
      mEnd = dstEnd;
    }
    copyMatch(dst, d, m, mEnd);
    d = mEnd;
    if (d === dstEnd) {
      if (partial) return dstEnd - dstStart;
      endsOnMatch(s, srcEnd, where);
    }
    if (s >= srcEnd) fail('block ends with a match instead of literals', where);
  }
  if (!partial && d !== dstEnd) fail(`decoded ${d - dstStart} bytes, expected ${dstEnd - dstStart}`, where);
  return d - dstStart;
}

/** Bytes the fast path may touch past a sequence; also its distance from the buffer ends. */
const FAST_SLACK = 40;
/** Matches at least this long and not overlapping go through copyWithin. */
const LONG_COPY = 96;

function badOffset(offset: number, where: string | undefined): never {
  fail(offset === 0 ? 'zero match offset' : `match offset ${offset} reaches before the output start`, where);
}

function endsOnMatch(s: number, srcEnd: number, where: string | undefined): never {
  fail(s !== srcEnd ? 'input continues past a full output' : 'block ends with a match instead of literals', where);
}

/** Exact copy of dst[m, m + (mEnd - d)) to dst[d, mEnd), correct for any overlap. */
function copyMatch(dst: Uint8Array, d: number, m: number, mEnd: number): void {
  const len = mEnd - d;
  if (len <= SHORT_COPY) {
    while (d < mEnd) dst[d++] = dst[m++]!;
  } else if (d - m >= len) {
    dst.copyWithin(d, m, m + len);
  } else {
    // [m, d) is periodic with period d - m; copying it onto itself keeps it
    // periodic and doubles the span that can be copied in one call.
    while (d < mEnd) {
      const n = Math.min(d - m, mEnd - d);
      dst.copyWithin(d, m, m + n);
      d += n;
    }
  }
}

/**
 * Finds where an EROFS "0padding" stream starts.
 *
 * With the LZ4_0PADDING feature (and always for LZMA, DEFLATE and ZSTD) mkfs
 * right-aligns each compressed stream in its physical cluster and fills the
 * head with zero bytes, so the exact compressed length is known without a
 * length field. A real stream never starts with a zero byte for these codecs
 * (an LZ4 token of 0 would be an empty first sequence; MicroLZMA's first byte
 * is an inverted properties byte), which makes the boundary unambiguous.
 *
 * `maxPadding` bounds the scan: the kernel looks for the start within the
 * first block of the pcluster only. Defaults to the whole range.
 *
 * @returns the index of the first non-zero byte in `[start, end)`.
 * @throws ErofsError EFSCORRUPTED when the scanned range is all zeros.
 */
export function skipZeroPadding(src: Uint8Array, start: number, end: number, maxPadding?: number): number {
  checkRange('0padding', 'input', src, start, end);
  const limit = maxPadding === undefined ? end : Math.min(end, start + maxPadding);
  let i = start;
  while (i < limit && src[i] === 0) i++;
  if (i >= limit) throw corruptInput('0padding', `no compressed data in the first ${limit - start} bytes`);
  return i;
}
