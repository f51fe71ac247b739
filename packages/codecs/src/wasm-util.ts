/**
 * Loading of the WebAssembly modules embedded in this package (base64 in
 * generated *-wasm-binary.ts files, built from wasm/*.c by wasm/build.sh).
 * No `node:` imports: works wherever WebAssembly does.
 */

/**
 * The few WebAssembly globals used here, typed locally: the package compiles
 * against ES2022 without DOM typings, and @types/node does not declare them.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}

export const WASM_PAGE = 65536;

/** Decodes standard base64 (no atob: not every runtime has it). */
export function base64Bytes(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const value = new Uint8Array(128);
  for (let i = 0; i < 64; i++) value[alphabet.charCodeAt(i)] = i;
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array((clean.length * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    acc = ((acc << 6) | value[clean.charCodeAt(i)]!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 255;
    }
  }
  return out;
}

/**
 * Compiles and instantiates a module synchronously; null when WebAssembly is
 * missing, refuses the module (CSP without 'wasm-unsafe-eval', an engine
 * without bulk memory, Chrome's 4 KiB limit on synchronous compilation on the
 * main thread) or the module lacks `required` functions or its memory.
 */
export function instantiateWasm<T extends { memory: WasmMemory }>(base64: string, required: readonly string[]): T | null {
  try {
    const wa = wasmApi();
    if (!wa) return null;
    const module = new wa.Module(base64Bytes(base64));
    return checkExports<T>(wa, new wa.Instance(module, {}).exports, required);
  } catch {
    return null;
  }
}

/**
 * The same, compiled asynchronously: for browsers, where synchronous
 * compilation of modules over 4 KiB is refused on the main thread.
 */
export async function instantiateWasmAsync<T extends { memory: WasmMemory }>(
  base64: string,
  required: readonly string[],
): Promise<T | null> {
  try {
    const wa = wasmApi();
    if (!wa || typeof wa.instantiate !== 'function') return null;
    const { instance } = await wa.instantiate(base64Bytes(base64), {});
    return checkExports<T>(wa, instance.exports, required);
  } catch {
    return null;
  }
}

function wasmApi(): WasmApi | undefined {
  const wa = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return wa && typeof wa.Module === 'function' ? wa : undefined;
}

function checkExports<T>(wa: WasmApi, exports: Record<string, unknown>, required: readonly string[]): T | null {
  if (!(exports['memory'] instanceof wa.Memory)) return null;
  for (const name of required) if (typeof exports[name] !== 'function') return null;
  return exports as unknown as T;
}

/** Grows `memory` to at least `bytes`; false when it cannot. */
export function ensureWasmMemory(memory: WasmMemory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
    return true;
  } catch {
    return false;
  }
}

/** A live module instance: its exports, the first free byte above its static data, and a view of its memory. */
export interface WasmInstance<E extends { memory: WasmMemory }> {
  exports: E;
  base: number;
  bytes: Uint8Array;
}

/**
 * One lazily created instance of an embedded module, shared by every call:
 * compiled synchronously on first use (or ahead of time with `load()` where
 * synchronous compilation is refused), null when WebAssembly is unavailable.
 */
export class WasmSlot<E extends { memory: WasmMemory }> {
  /** undefined: not tried yet; null: unavailable. */
  private inst: WasmInstance<E> | null | undefined;

  constructor(
    private readonly base64: string,
    private readonly required: readonly string[],
    private readonly heapBase: (exports: E) => number,
  ) {}

  private wrap(exports: E | null): WasmInstance<E> | null {
    if (!exports) return null;
    return { exports, base: (this.heapBase(exports) + 15) & ~15, bytes: new Uint8Array(exports.memory.buffer) };
  }

  /** The instance, instantiating it synchronously on the first call. */
  get(): WasmInstance<E> | null {
    if (this.inst === undefined) this.inst = this.wrap(instantiateWasm<E>(this.base64, this.required));
    return this.inst;
  }

  /** The instance if one was created already (never compiles). */
  current(): WasmInstance<E> | null | undefined {
    return this.inst;
  }

  /** Instantiates asynchronously unless already loaded; resolves to whether the module is in use. */
  async load(): Promise<boolean> {
    if (!this.inst) {
      const loaded = this.wrap(await instantiateWasmAsync<E>(this.base64, this.required));
      if (!this.inst) this.inst = loaded;
    }
    return this.inst !== null;
  }

  /** Forgets the instance (tests): the next call instantiates a fresh one. */
  reset(): void {
    this.inst = undefined;
  }
}

/** `inst`'s memory as bytes, grown to at least `need`; null when it cannot grow. */
export function wasmBytes<E extends { memory: WasmMemory }>(inst: WasmInstance<E>, need: number): Uint8Array | null {
  if (need > inst.bytes.length || inst.bytes.length === 0) {
    if (!ensureWasmMemory(inst.exports.memory, need)) return null;
    inst.bytes = new Uint8Array(inst.exports.memory.buffer);
  }
  return inst.bytes;
}
