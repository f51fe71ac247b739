/**
 * LZ4 block decoding in WebAssembly: the same contract as
 * {@link lz4DecompressJs}, about 2.5 times as fast on real data (see README).
 *
 * The module (wasm/lz4.c, our own decoder, 2 KB) is embedded as base64 in
 * lz4-wasm-binary.ts, so there is nothing to fetch and no `node:` import: it
 * runs wherever WebAssembly does. It is compiled and instantiated
 * synchronously on first use; when WebAssembly is missing or refuses the
 * module (a locked-down page, an old engine without bulk memory),
 * {@link lz4WasmAvailable} is false and callers stay on the TypeScript
 * decoder. {@link loadLz4Wasm} instantiates asynchronously instead.
 *
 * One instance serves every call. Its memory holds the output window and the
 * input side by side, each followed by SLACK bytes the decoder may scribble
 * on; it grows on demand and never shrinks. The input is copied in, the
 * decoded bytes copied out: on 64 KiB blocks the copy out costs 12-15% of
 * the decode time and the copy in about 5% (README).
 */
import { corruptInput } from './errors.js';
import { LZ4_WASM_BASE64 } from './lz4-wasm-binary.js';
import { WasmSlot, wasmBytes, type WasmMemory } from './wasm-util.js';

/** Bytes after each region that the decoder's 16-byte wild copies may touch. */
const SLACK = 64;
/**
 * Windows and inputs above this go to the TypeScript decoder, so that one
 * huge call does not pin that much memory in the instance for good.
 */
export const LZ4_WASM_MAX_BYTES = 64 << 20;

interface Lz4WasmExports {
  memory: WasmMemory;
  lz4_decode(src: number, srcLen: number, dst: number, dstLen: number, partial: number): number;
  lz4_err_detail(): number;
  lz4_heap_base(): number;
}

const slot = new WasmSlot<Lz4WasmExports>(LZ4_WASM_BASE64, ['lz4_decode', 'lz4_err_detail', 'lz4_heap_base'], (e) => e.lz4_heap_base());

/**
 * Instantiates the module asynchronously unless it is loaded already, for
 * pages where synchronous compilation is refused. Resolves to whether the
 * wasm decoder is now in use.
 */
export async function loadLz4Wasm(): Promise<boolean> {
  return slot.load();
}

/** Whether the wasm decoder can be used (instantiating it on the first call). */
export function lz4WasmAvailable(): boolean {
  return slot.get() !== null;
}

/** For tests: forget the instance (the next call instantiates a fresh one). */
export function resetLz4Wasm(): void {
  slot.reset();
}

const messages: Record<number, string> = {
  1: 'empty input',
  2: 'truncated literal length',
  3: 'truncated literals',
  5: 'truncated match offset',
  6: 'zero match offset',
  8: 'truncated match length',
  10: 'input continues past a full output',
  11: 'block ends with a match instead of literals',
};

function errorMessage(code: number, detail: number, expected: number): string {
  switch (code) {
    case 4:
      return `literals overrun the output by ${detail} bytes`;
    case 7:
      return `match offset ${detail} reaches before the output start`;
    case 9:
      return `match overruns the output by ${detail} bytes`;
    case 12:
      return `decoded ${detail} bytes, expected ${expected}`;
    default:
      return messages[code] ?? `decoder error ${code}`;
  }
}

/**
 * Decodes with the wasm module. Arguments must already be validated (the
 * ranges inside their arrays) and `lz4WasmAvailable()` must be true; `where`
 * (for the error message) may be an options object whose `where` is read only
 * on failure. Returns undefined when the sizes are beyond
 * {@link LZ4_WASM_MAX_BYTES} or memory cannot grow, so the caller falls back
 * to the TypeScript decoder.
 * On malformed input nothing is written to `dst`.
 */
export function lz4DecompressWasm(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  partial: boolean,
  where: string | { readonly where?: string | undefined } | undefined,
): number | undefined {
  const inst = slot.current();
  if (!inst) return undefined;
  const srcLen = srcEnd - srcStart;
  const dstLen = dstEnd - dstStart;
  if (srcLen > LZ4_WASM_MAX_BYTES || dstLen > LZ4_WASM_MAX_BYTES) return undefined;
  const dstPtr = inst.base;
  const srcPtr = dstPtr + ((dstLen + SLACK + 15) & ~15);
  const need = srcPtr + srcLen + SLACK;
  const bytes = wasmBytes(inst, need);
  if (!bytes) return undefined;
  bytes.set(src.subarray(srcStart, srcEnd), srcPtr);
  const r = inst.exports.lz4_decode(srcPtr, srcLen, dstPtr, dstLen, partial ? 1 : 0);
  if (r < 0) {
    const text = typeof where === 'object' ? where.where : where;
    throw corruptInput('lz4', errorMessage(-r, inst.exports.lz4_err_detail() >>> 0, dstLen), text);
  }
  dst.set(bytes.subarray(dstPtr, dstPtr + r), dstStart);
  return r;
}
