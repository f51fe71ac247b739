/**
 * Asynchronous loading of the WebAssembly decoders, for browsers.
 *
 * The decoders load synchronously on first use, which works in Node, in
 * workers and, for the LZ4 module (2 KB), everywhere. Chrome refuses
 * synchronous compilation of modules over 4 KiB on a page's main thread, so
 * there the MicroLZMA module (9 KB) falls back to the TypeScript decoder
 * unless the page has awaited this once.
 */
import { loadLz4Wasm } from './lz4-wasm.js';
import { loadMicroLzmaWasm } from './microlzma-wasm.js';

/** Which wasm decoders are in use after loading. */
export interface WasmDecoders {
  lz4: boolean;
  microLzma: boolean;
}

/** Instantiates every wasm decoder asynchronously (a no-op for those already loaded). */
export async function loadWasmDecoders(): Promise<WasmDecoders> {
  const [lz4, microLzma] = await Promise.all([loadLz4Wasm(), loadMicroLzmaWasm()]);
  return { lz4, microLzma };
}
