/**
 * destSize for codecs whose libraries cannot stop at an output budget.
 *
 * LZ4 fills a physical cluster natively. DEFLATE and Zstandard libraries only
 * compress a whole input, so to find "the longest prefix whose compressed
 * stream fits in N bytes" we compress candidate prefixes and search:
 * 1. compress everything; if it fits, done;
 * 2. otherwise guess the prefix length from the ratio just observed and
 *    refine with interpolation between the longest prefix known to fit and
 *    the shortest known not to, falling back to bisection when the guess
 *    does not move;
 * 3. stop when the bracket is within `tolerance` bytes (default: 1/256 of
 *    the prefix, at least 16) or after `maxRounds` compressions.
 * Compressed size is not strictly monotonic in the prefix length, so the
 * result is a long prefix that fits, not necessarily the longest; each round
 * costs one compression of at most the whole input.
 */
import { badArgument } from './errors.js';

/** Result of {@link searchDestSize}. */
export interface DestSizeSearchResult {
  /** Length of the encoded prefix. */
  consumed: number;
  /** The compressed stream of that prefix, at most the capacity long. */
  data: Uint8Array;
}

/** Tuning of {@link searchDestSize}. */
export interface DestSizeSearchOptions {
  /** Stop once the fit / no-fit bracket is this narrow. */
  tolerance?: number;
  /** Upper bound on compressions after the first. Default 12. */
  maxRounds?: number;
}

/**
 * Finds a long prefix of an input of `srcLen` bytes whose compressed form,
 * as produced by `compressPrefix(n)`, is at most `capacity` bytes.
 * `compressPrefix(0)` must return the (small) stream of an empty input.
 *
 * @throws ErofsError EINVAL when not even the empty input fits.
 */
export function searchDestSize(
  srcLen: number,
  capacity: number,
  compressPrefix: (n: number) => Uint8Array,
  options?: DestSizeSearchOptions,
): DestSizeSearchResult {
  const whole = compressPrefix(srcLen);
  if (whole.length <= capacity) return { consumed: srcLen, data: whole };
  let lo = 0;
  let best = compressPrefix(0);
  if (best.length > capacity) throw badArgument('destSize', `capacity ${capacity} is too small for any stream`);
  let hi = srcLen;
  let guess = Math.floor((srcLen * capacity) / whole.length);
  const maxRounds = options?.maxRounds ?? 12;
  for (let round = 0; round < maxRounds; round++) {
    const tolerance = options?.tolerance ?? Math.max(16, lo >> 8);
    if (hi - lo <= tolerance) break;
    let n = guess;
    if (n <= lo || n >= hi) n = lo + ((hi - lo) >> 1);
    const out = compressPrefix(n);
    if (out.length <= capacity) {
      lo = n;
      best = out;
      // Aim a little past the interpolated length: the stream grows roughly
      // linearly, and overshooting narrows the bracket from above.
      guess = Math.floor((n * capacity) / Math.max(1, out.length) + (hi - n) / 8);
    } else {
      hi = n;
      guess = Math.floor((n * capacity) / out.length - (n - lo) / 8);
    }
  }
  return { consumed: lo, data: best };
}
