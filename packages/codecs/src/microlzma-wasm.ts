/**
 * MicroLZMA decoding in WebAssembly: the same contract as
 * {@link microLzmaDecompressJs}, several times faster (see README).
 *
 * wasm/microlzma.c is a C translation of our TypeScript decoder, embedded as
 * base64 in microlzma-wasm-binary.ts. Same loading and memory scheme as the
 * LZ4 module (lz4-wasm.ts): one instance, compiled synchronously on first
 * use, memory holding the output window (which is also the dictionary) and
 * the input, grown on demand; input copied in, output copied out, nothing
 * written to `dst` on malformed input. When WebAssembly is unavailable or
 * refuses the module (it is over Chrome's 4 KiB limit for synchronous
 * compilation on a page's main thread), the TypeScript decoder is used;
 * {@link loadMicroLzmaWasm} (or loadWasmDecoders) instantiates it
 * asynchronously, which such pages can await once.
 */
import { corruptInput } from './errors.js';
import { MICROLZMA_WASM_BASE64 } from './microlzma-wasm-binary.js';
import { WasmSlot, wasmBytes, type WasmMemory } from './wasm-util.js';

/** Windows and inputs above this go to the TypeScript decoder. */
export const MICROLZMA_WASM_MAX_BYTES = 64 << 20;

interface MicroLzmaWasmExports {
  memory: WasmMemory;
  mlzma_decode(src: number, srcLen: number, dst: number, dstLen: number, dictSize: number, partial: number): number;
  mlzma_err_detail(): number;
  mlzma_heap_base(): number;
}

const slot = new WasmSlot<MicroLzmaWasmExports>(MICROLZMA_WASM_BASE64, ['mlzma_decode', 'mlzma_err_detail', 'mlzma_heap_base'], (e) => e.mlzma_heap_base());

/**
 * Instantiates the module asynchronously unless it is loaded already, for
 * pages where synchronous compilation is refused. Resolves to whether the
 * wasm decoder is now in use.
 */
export async function loadMicroLzmaWasm(): Promise<boolean> {
  return slot.load();
}

/** Whether the wasm decoder can be used (instantiating it on the first call). */
export function microLzmaWasmAvailable(): boolean {
  return slot.get() !== null;
}

/** For tests: forget the instance. */
export function resetMicroLzmaWasm(): void {
  slot.reset();
}

function errorMessage(code: number, detail: number): string {
  switch (code) {
    case 1:
      return 'stream shorter than its 5-byte header';
    case 2:
      return `bad properties byte 0x${detail.toString(16)}`;
    case 3:
      return `lc ${detail >>> 8} + lp ${detail & 255} exceeds 4`;
    case 4:
      return 'bad range coder start';
    case 5:
      return 'compressed data ends early';
    case 6:
      return 'literal predictor reaches before the data';
    case 7:
      return 'end marker in a MicroLZMA stream';
    case 8:
      return 'match distance reaches before the data';
    case 9:
      return `match distance ${detail} reaches before the data or past the dictionary`;
    case 10:
      return 'match runs past the end of the output';
    case 11:
      return `${detail} compressed bytes left over`;
    case 12:
      return 'range coder does not end clean';
    default:
      return `decoder error ${code}`;
  }
}

/**
 * Decodes with the wasm module. Ranges must be validated and `dictSize` a
 * positive number (Infinity for no limit); returns undefined when the module
 * is unavailable or the sizes are beyond {@link MICROLZMA_WASM_MAX_BYTES}.
 */
export function microLzmaDecompressWasm(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  dictSize: number,
  partial: boolean,
  where: string | undefined,
): number | undefined {
  const inst = slot.current();
  if (!inst) return undefined;
  const srcLen = srcEnd - srcStart;
  const dstLen = dstEnd - dstStart;
  if (srcLen > MICROLZMA_WASM_MAX_BYTES || dstLen > MICROLZMA_WASM_MAX_BYTES) return undefined;
  const dstPtr = inst.base;
  const srcPtr = dstPtr + ((dstLen + 15) & ~15);
  const need = srcPtr + srcLen;
  const bytes = wasmBytes(inst, need);
  if (!bytes) return undefined;
  bytes.set(src.subarray(srcStart, srcEnd), srcPtr);
  // Distances are below 2^32, so a dictionary of 2^32 - 1 or more is no limit.
  const dict = dictSize >= 0xffffffff ? 0xffffffff : Math.ceil(dictSize);
  const r = inst.exports.mlzma_decode(srcPtr, srcLen, dstPtr, dstLen, dict, partial ? 1 : 0);
  if (r < 0) throw corruptInput('microlzma', errorMessage(-r, inst.exports.mlzma_err_detail() >>> 0), where);
  dst.set(bytes.subarray(dstPtr, dstPtr + r), dstStart);
  return r;
}
