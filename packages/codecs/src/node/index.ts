/**
 * @erofs/codecs/node: the same codec API with Node's native zlib for DEFLATE
 * (several times faster than fflate) and the reference zstd library (as
 * WebAssembly) for zstd compression. Everything else re-exports the portable
 * entry.
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { ErofsError } from '@erofs/format';
// The package's CommonJS build is the one that loads under Node (its ESM
// build calls require), so take module.exports as the default import.
import zstdWasmPackage from '@bokuweb/zstd-wasm';
import {
  deflateDecompress as portableInflate,
  lookupCodec,
  portableCodecs,
  searchDestSize,
  Z_EROFS_COMPRESSION_DEFLATE,
  type Codec,
  type DeflateDecompressOptions,
  type DestSizeResult,
  type DestSizeSearchOptions,
} from '../index.js';
import { badArgument, checkRange, corruptInput } from '../errors.js';

export * from '../index.js';

/**
 * {@link deflateDecompress} on node:zlib. zlib cannot stop at an output size,
 * so the output is capped with `maxOutputLength`; a stream that legitimately
 * continues past the window (a partial read) trips the cap and is handed to
 * the portable decoder, which stops exactly at the window's end.
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
  const want = dstEnd - dstStart;
  if (want === 0) return 0;
  let out: Buffer;
  try {
    out = inflateRawSync(src.subarray(srcStart, srcEnd), {
      maxOutputLength: want,
      // Tolerate a stream that is cut off after the data we need.
      finishFlush: constants.Z_SYNC_FLUSH,
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return portableInflate(src, srcStart, srcEnd, dst, dstStart, dstEnd, options);
    }
    throw corruptInput('deflate', e instanceof Error ? e.message : String(e), options?.where);
  }
  if (out.length < want) throw corruptInput('deflate', `stream ends after ${out.length} of ${want} bytes`, options?.where);
  dst.set(out, dstStart);
  return want;
}

/** {@link deflateCompress} on node:zlib (level 0..9). */
export function deflateCompress(src: Uint8Array, srcStart: number, srcEnd: number, level: number = 6): Uint8Array {
  checkRange('deflate', 'input', src, srcStart, srcEnd);
  if (!Number.isInteger(level) || level < 0 || level > 9) throw badArgument('deflate', `level ${level} not in 0..9`);
  const out = deflateRawSync(src.subarray(srcStart, srcEnd), { level });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** {@link deflateCompressDestSize} on node:zlib; same search, see `searchDestSize`. */
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
  const r = searchDestSize(srcEnd - srcStart, dstCapacity, (n) => deflateCompress(src, srcStart, srcStart + n, level), search);
  dst.set(r.data, 0);
  return { consumed: r.consumed, written: r.data.length };
}

/** Decoders indexed by algorithm id, with zlib for DEFLATE. */
export const nodeCodecs: readonly Codec[] = portableCodecs.map((c) =>
  c.id === Z_EROFS_COMPRESSION_DEFLATE ? { ...c, decompress: deflateDecompress } : c,
);

/**
 * The decoder for an EROFS algorithm id, using Node's zlib for DEFLATE.
 * @throws ErofsError EOPNOTSUPP for an unknown id.
 */
export function getCodec(algorithm: number): Codec {
  return lookupCodec(nodeCodecs, algorithm);
}

/** Zstandard compressor backed by the reference C library. */
export interface ZstdEncoder {
  /** Version of the bundled libzstd. */
  readonly version: string;
  /** One zstd frame (with content size) for `src[srcStart, srcEnd)`; level 1..22. */
  compress(src: Uint8Array, srcStart: number, srcEnd: number, level?: number): Uint8Array;
  /** A frame of at most `dstCapacity` bytes holding as long a prefix as the search finds. */
  compressDestSize(
    src: Uint8Array,
    srcStart: number,
    srcEnd: number,
    dst: Uint8Array,
    dstCapacity: number,
    level?: number,
    search?: DestSizeSearchOptions,
  ): DestSizeResult;
}

interface ZstdWasm {
  init(): Promise<void>;
  compress(buf: Uint8Array, level?: number): Uint8Array;
}

let encoder: Promise<ZstdEncoder> | undefined;

/**
 * Loads the zstd encoder once (WebAssembly compile, ~250 KB shipped inside the
 * `@bokuweb/zstd-wasm` package, nothing downloaded) on first use.
 */
export function loadZstdEncoder(): Promise<ZstdEncoder> {
  encoder ??= (async () => {
    const wasm = zstdWasmPackage as unknown as ZstdWasm;
    await wasm.init();
    const compress = (src: Uint8Array, srcStart: number, srcEnd: number, level = 3): Uint8Array => {
      checkRange('zstd', 'input', src, srcStart, srcEnd);
      if (!Number.isInteger(level) || level < 1 || level > 22) throw badArgument('zstd', `level ${level} not in 1..22`);
      try {
        return wasm.compress(src.subarray(srcStart, srcEnd), level);
      } catch (e) {
        throw new ErofsError('EIO', `zstd: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    return {
      version: '1.5.x (zstd-wasm 0.0.27)',
      compress,
      compressDestSize(src, srcStart, srcEnd, dst, dstCapacity, level = 3, search) {
        checkRange('zstd', 'input', src, srcStart, srcEnd);
        checkRange('zstd', 'output', dst, 0, dstCapacity);
        const r = searchDestSize(srcEnd - srcStart, dstCapacity, (n) => compress(src, srcStart, srcStart + n, level), search);
        dst.set(r.data, 0);
        return { consumed: r.consumed, written: r.data.length };
      },
    };
  })();
  return encoder;
}
