/**
 * Fixed-output-size ("destSize") compression, one call per physical
 * cluster: fill at most `capacity` bytes with as much of the input as fits.
 *
 * - lz4, lz4hc: @erofs/codecs's native destSize encoders (LZ4_compress_destSize
 *   semantics).
 * - deflate: node:zlib raw deflate has no destSize mode, so the input prefix
 *   is found by search (as erofs-utils does for libdeflate and libzstd):
 *   estimate from the ratio so far, then bisect between the largest prefix
 *   known to fit and the smallest known not to.
 * - zstd: the same search over @bokuweb/zstd-wasm (temporary adapter until
 *   @erofs/codecs has a zstd encoder). ZSTD_compress cannot be told a window
 *   size, so a frame's window is its content size; callers keep each extent
 *   within the window announced in the superblock.
 */
import { deflateRawSync } from 'node:zlib';
import { ErofsError } from '@erofs/format';
import { effectiveLevel, type CompressionSpec } from './spec.js';

function loadedLz4(): Lz4Module {
  if (!lz4) throw new ErofsError('EINVAL', 'internal: LZ4 compressor used before prepareCompressor()');
  return lz4;
}

/** How much input a destSize call consumed and how many bytes it wrote to `dst` (from 0). */
export interface FitResult {
  consumed: number;
  written: number;
}

type ZstdModule = { init: () => Promise<void>; compress: (b: Uint8Array, level?: number) => Uint8Array };
let zstd: ZstdModule | undefined;
let zstdReady: Promise<void> | undefined;

// @erofs/codecs embeds its WebAssembly modules: loaded only when an image is
// compressed, so uncompressed builds start faster and smaller.
type Lz4Module = Pick<typeof import('@erofs/codecs'), 'lz4CompressDestSize' | 'lz4hcCompressDestSize' | 'lz4PinInput'>;
let lz4: Lz4Module | undefined;

/** Loads what a compressor needs before its first (synchronous) use. */
export async function prepareCompressor(spec: CompressionSpec): Promise<void> {
  if (spec.algorithm === 'lz4' || spec.algorithm === 'lz4hc') {
    lz4 ??= await import('@erofs/codecs');
    return;
  }
  if (spec.algorithm !== 'zstd') return;
  zstdReady ??= (async () => {
    const m = (await import('@bokuweb/zstd-wasm')) as unknown as ZstdModule;
    await m.init();
    zstd = m;
  })();
  await zstdReady;
}

/** Longest input one zstd/deflate frame may take so its window stays within `windowSize`. */
export function maxInputFor(spec: CompressionSpec): number {
  if (spec.algorithm === 'zstd') return zstdWindow(spec);
  return Infinity;
}

/** zstd window announced in the superblock (power of two, <= 1 MiB). */
export function zstdWindow(spec: CompressionSpec): number {
  return spec.dictSize ?? 1 << 20;
}

/** deflate window announced in the superblock. */
export function deflateWindow(spec: CompressionSpec): number {
  return spec.dictSize ?? 1 << 15;
}

/**
 * A compressor bound to one configuration. `fit` compresses a prefix of
 * `src[start, end)` into `dst[0, capacity)`; `written` 0 means nothing fits.
 */
export class Compressor {
  readonly spec: CompressionSpec;
  private readonly level: number;

  constructor(spec: CompressionSpec) {
    this.spec = spec;
    this.level = effectiveLevel(spec);
  }

  /**
   * Announces that the next fit() calls all take `src` (one segment), which
   * stays unchanged until {@link release}: the LZ4 compressors then keep one
   * copy of it instead of copying a window per call. Results are the same.
   */
  hold(src: Uint8Array): void {
    if (this.spec.algorithm === 'lz4' || this.spec.algorithm === 'lz4hc') loadedLz4().lz4PinInput(src);
  }

  /** Ends {@link hold}. */
  release(): void {
    if (this.spec.algorithm === 'lz4' || this.spec.algorithm === 'lz4hc') loadedLz4().lz4PinInput(null);
  }

  fit(src: Uint8Array, start: number, end: number, dst: Uint8Array, capacity: number): FitResult {
    switch (this.spec.algorithm) {
      case 'lz4':
        return loadedLz4().lz4CompressDestSize(src, start, end, dst, capacity);
      case 'lz4hc':
        return loadedLz4().lz4hcCompressDestSize(src, start, end, dst, capacity, this.level);
      case 'deflate': {
        const wbits = Math.log2(deflateWindow(this.spec));
        const opts = { level: this.level, windowBits: Math.max(9, wbits), memLevel: 8 };
        return searchFit(src, start, end, dst, capacity, (a, b) => deflateRawSync(src.subarray(a, b), opts), true);
      }
      case 'zstd': {
        if (!zstd) throw new ErofsError('EINVAL', 'zstd compressor used before prepareCompressor()');
        const z = zstd;
        const lvl = this.level === 0 ? 3 : this.level;
        return searchFit(src, start, end, dst, capacity, (a, b) => z.compress(src.subarray(a, b), lvl), false);
      }
    }
  }
}

/**
 * destSize by search. The result is a function of the input only (no
 * timing, no state), so output stays identical whatever runs it.
 * A raw deflate stream that starts with a 0 byte (a non-final stored block)
 * is refused: the kernel strips leading zero bytes as padding.
 */
function searchFit(
  src: Uint8Array, start: number, end: number, dst: Uint8Array, capacity: number,
  compress: (a: number, b: number) => Uint8Array, refuseZeroStart: boolean,
): FitResult {
  const total = end - start;
  let lo = 0; // largest prefix known to fit
  let loSize = 0;
  let best: Uint8Array | undefined;
  let hi = total + 1; // smallest prefix known not to fit
  let m = Math.min(total, capacity * 4);
  for (let iter = 0; iter < 40; iter++) {
    m = Math.max(m, lo + 1);
    m = Math.min(m, hi - 1);
    if (m <= lo) break;
    const out = compress(start, start + m);
    const ok = out.length <= capacity && !(refuseZeroStart && out[0] === 0);
    if (ok) {
      lo = m;
      loSize = out.length;
      best = out;
      if (hi <= lo + 1 || out.length + 1 >= capacity) break;
      m = Math.floor((capacity * m) / Math.max(out.length, 1));
    } else {
      hi = m;
      if (hi <= lo + 1) break;
      m = Math.floor((lo + hi) / 2);
    }
  }
  if (!best) return { consumed: 0, written: 0 };
  dst.set(best.subarray(0, loSize), 0);
  return { consumed: lo, written: loSize };
}
