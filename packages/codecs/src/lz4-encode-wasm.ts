/**
 * LZ4 and LZ4HC block compression in WebAssembly (wasm/lz4enc.c, our own
 * compressors), used by the compressors of lz4-encode.ts whenever the module
 * loads; the TypeScript compressors there remain the fallback.
 *
 * One instance serves every call. Its memory holds, from the heap base, the
 * output window (capacity + SLACK) and then the input (+ SLACK): the
 * compressors copy literals in 16-byte chunks, which may read and write a
 * little past either region.
 *
 * destSize calls rarely need the whole rest of the input (a 4 KiB pcluster
 * typically takes 8-16 KiB), so only a window of it is copied in: the module
 * reports NEED_MORE as soon as it would look past the window, and the call is
 * retried with a window twice as large. The result is the same as with the
 * whole input; only the copying is saved.
 *
 * A caller making many destSize calls over one buffer (mkfs: every pcluster
 * of a segment) can pin it ({@link lz4PinInput}): it is copied in once, at
 * the heap base, and calls on that same array then read it in place, with no
 * copy and no retry. The output window follows it.
 */
import { LZ4ENC_WASM_BASE64 } from './lz4enc-wasm-binary.js';
import { ensureWasmMemory, instantiateWasm, instantiateWasmAsync, type WasmMemory } from './wasm-util.js';

const SLACK = 64;
/** Inputs or outputs above this use the TypeScript compressors. */
export const LZ4ENC_WASM_MAX_BYTES = 64 << 20;
const NEED_MORE = -1;

interface Lz4EncExports {
  memory: WasmMemory;
  lz4e_fast(src: number, len: number, avail: number, dst: number, cap: number, dest: number): number;
  lz4e_hc(src: number, len: number, avail: number, dst: number, cap: number, dest: number, level: number): number;
  lz4e_consumed(): number;
  lz4e_heap_base(): number;
}

interface Instance {
  exports: Lz4EncExports;
  base: number;
  bytes: Uint8Array;
}

let instance: Instance | null | undefined;
/** The pinned input: the caller's array and the length copied (at inst.base). */
let pinned: { src: Uint8Array; len: number } | null = null;
/** For tests: when false, the wasm compressors are not used. */
let enabled = true;

const REQUIRED = ['lz4e_fast', 'lz4e_hc', 'lz4e_consumed', 'lz4e_heap_base'] as const;

function fromExports(exports: Lz4EncExports | null): Instance | null {
  if (!exports) return null;
  const base = (exports.lz4e_heap_base() + 15) & ~15;
  return { exports, base, bytes: new Uint8Array(exports.memory.buffer) };
}

/** Whether the wasm compressors can be used (instantiating them on the first call). */
export function lz4EncodeWasmAvailable(): boolean {
  if (!enabled) return false;
  if (instance === undefined) instance = fromExports(instantiateWasm<Lz4EncExports>(LZ4ENC_WASM_BASE64, REQUIRED));
  return instance !== null;
}

/** Instantiates the module asynchronously (for browser main threads); resolves to whether it is in use. */
export async function loadLz4EncodeWasm(): Promise<boolean> {
  if (!instance) {
    const loaded = fromExports(await instantiateWasmAsync<Lz4EncExports>(LZ4ENC_WASM_BASE64, REQUIRED));
    if (!instance) instance = loaded;
  }
  return enabled && instance !== null;
}

/** For tests: turn the wasm compressors off (false) or back on, forgetting the instance. */
export function setLz4EncodeWasm(on: boolean): void {
  enabled = on;
  instance = undefined;
  pinned = null;
}

/**
 * Pins `src` (null: unpins): it is copied into the compressor's memory now,
 * and later calls whose input is this same array read that copy, so `src`
 * must not change until it is unpinned. Any call on another array unpins
 * it. Returns whether it is pinned (false without the module or beyond
 * {@link LZ4ENC_WASM_MAX_BYTES}: calls then copy as usual).
 */
export function lz4PinInput(src: Uint8Array | null): boolean {
  pinned = null;
  if (!src || !lz4EncodeWasmAvailable() || src.length > LZ4ENC_WASM_MAX_BYTES) return false;
  const inst = instance!;
  const need = inst.base + src.length + SLACK;
  if (need > inst.bytes.length || inst.bytes.length === 0) {
    if (!ensureWasmMemory(inst.exports.memory, need)) return false;
    inst.bytes = new Uint8Array(inst.exports.memory.buffer);
  }
  inst.bytes.set(src, inst.base);
  inst.bytes.fill(0, inst.base + src.length, inst.base + src.length + SLACK);
  pinned = { src, len: src.length };
  return true;
}

/**
 * Compresses with the module. `level` 0 is the fast compressor, 1..12 HC.
 * Ranges must be validated by the caller. Returns undefined when the module
 * is unavailable or the sizes are beyond its limits (use TypeScript), else
 * `{ consumed, written }` (written 0: an ordinary block did not fit).
 */
export function lz4CompressWasm(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  cap: number,
  destSize: boolean,
  level: number,
): { consumed: number; written: number } | undefined {
  if (!lz4EncodeWasmAvailable()) return undefined;
  const inst = instance!;
  const len = srcEnd - srcStart;
  if (len > LZ4ENC_WASM_MAX_BYTES || cap > LZ4ENC_WASM_MAX_BYTES) return undefined;
  if (pinned && pinned.src === src && pinned.len === src.length) {
    // in place: the whole rest of the input is there
    const dstPtr = (inst.base + pinned.len + SLACK + 15) & ~15;
    const need = dstPtr + cap + SLACK;
    if (need > inst.bytes.length || inst.bytes.length === 0) {
      if (!ensureWasmMemory(inst.exports.memory, need)) return undefined;
      inst.bytes = new Uint8Array(inst.exports.memory.buffer);
    }
    const p = inst.base + srcStart;
    const d = destSize ? 1 : 0;
    const r =
      level === 0
        ? inst.exports.lz4e_fast(p, len, len, dstPtr, cap, d)
        : inst.exports.lz4e_hc(p, len, len, dstPtr, cap, d, level);
    if (r <= 0) return { consumed: 0, written: 0 };
    dst.set(inst.bytes.subarray(dstPtr, dstPtr + r), dstStart);
    return { consumed: inst.exports.lz4e_consumed() >>> 0, written: r };
  }
  pinned = null;
  const dstPtr = inst.base;
  const srcPtr = dstPtr + ((cap + SLACK + 15) & ~15);
  // destSize: start with a window a few times the capacity.
  let avail = destSize ? Math.min(len, cap * 4 + 4096) : len;
  let copied = 0;
  for (;;) {
    const need = srcPtr + avail + SLACK;
    let bytes = inst.bytes;
    if (need > bytes.length || bytes.length === 0) {
      if (!ensureWasmMemory(inst.exports.memory, need)) return undefined;
      bytes = inst.bytes = new Uint8Array(inst.exports.memory.buffer);
      copied = Math.min(copied, avail);
    }
    if (avail > copied) {
      bytes.set(src.subarray(srcStart + copied, srcStart + avail), srcPtr + copied);
      copied = avail;
    }
    const d = destSize ? 1 : 0;
    const r =
      level === 0
        ? inst.exports.lz4e_fast(srcPtr, len, avail, dstPtr, cap, d)
        : inst.exports.lz4e_hc(srcPtr, len, avail, dstPtr, cap, d, level);
    if (r === NEED_MORE) {
      if (avail >= len) throw new Error('lz4enc: NEED_MORE with the whole input');
      avail = Math.min(len, avail * 2);
      continue;
    }
    if (r <= 0) return { consumed: 0, written: 0 };
    dst.set(bytes.subarray(dstPtr, dstPtr + r), dstStart);
    return { consumed: inst.exports.lz4e_consumed() >>> 0, written: r };
  }
}
