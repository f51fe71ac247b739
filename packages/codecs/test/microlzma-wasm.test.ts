// The WebAssembly MicroLZMA decoder (wasm/microlzma.c) against the
// TypeScript one: liblzma's streams decode the same through both, and both
// agree (same result, same bytes, same message) on damaged streams, wrong
// sizes, small dictionaries and garbage; microLzmaDecompress falls back to
// TypeScript without WebAssembly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErofsError } from '@erofs/format';
import {
  loadWasmDecoders,
  microLzmaDecompress,
  microLzmaDecompressJs,
  microLzmaDecompressWasm,
  microLzmaWasmAvailable,
} from '../src/index.js';
import { resetMicroLzmaWasm } from '../src/microlzma-wasm.js';
import { MICROLZMA_WASM_BASE64, MICROLZMA_WASM_SIZE } from '../src/microlzma-wasm-binary.js';
import { random, rng, sample } from './lz4-vectors.js';

const encoder = join(import.meta.dirname, 'tools', 'microlzma-encode.py');
const probe = spawnSync('python3', ['-c', 'import ctypes.util,ctypes,sys; sys.exit(0 if hasattr(ctypes.CDLL(ctypes.util.find_library("lzma")), "lzma_microlzma_encoder") else 2)']);
const skipEncoder = probe.status !== 0 && 'skipped: python3 with liblzma >= 5.4 (MicroLZMA encoder) missing';

interface Stream {
  stream: Uint8Array;
  plain: Uint8Array;
  dictSize: number;
  name: string;
}

/** liblzma's MicroLZMA streams of a few shapes (the encoder mkfs.erofs uses). */
function streams(): Stream[] {
  if (skipEncoder) return [];
  const dir = mkdtempSync(join(tmpdir(), 'mlzw-'));
  try {
    const out: Stream[] = [];
    const inputs: [string, Uint8Array][] = [
      ['text', sample(200_000, 41)],
      ['zeros', new Uint8Array(50_000)],
      ['random', random(20_000, 42)],
      ['tiny', new Uint8Array([1, 2, 3])],
    ];
    for (const [name, data] of inputs) {
      for (const [preset, dictSize, cap] of [
        [6, 65536, 4096],
        [9, 1 << 20, 16384],
        [1, 8192, 65536],
        [6 | 0x80000000, 32768, 8192],
      ] as const) {
        writeFileSync(join(dir, 'in'), data);
        const r = spawnSync('python3', [encoder, String(preset), String(dictSize), String(cap), join(dir, 'in'), join(dir, 'out')], {
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, r.stderr);
        const consumed = Number(r.stdout.trim());
        out.push({
          stream: new Uint8Array(readFileSync(join(dir, 'out'))),
          plain: data.subarray(0, consumed),
          dictSize,
          name: `${name} preset ${preset} cap ${cap}`,
        });
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Decode = (
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: { partial?: boolean; dictSize?: number; where?: string },
) => number;

function wasmDecode(...args: Parameters<Decode>): number {
  const [src, srcStart, srcEnd, dst, dstStart, dstEnd, options] = args;
  assert.ok(microLzmaWasmAvailable(), 'the wasm decoder loads under Node');
  const n = microLzmaDecompressWasm(src, srcStart, srcEnd, dst, dstStart, dstEnd, options?.dictSize ?? Infinity, options?.partial === true, options?.where);
  assert.ok(n !== undefined);
  return n;
}

const all = streams();

test('microlzma wasm: the module loads', () => {
  assert.ok(microLzmaWasmAvailable());
  assert.equal(Buffer.from(MICROLZMA_WASM_BASE64, 'base64').length, MICROLZMA_WASM_SIZE);
});

for (const [impl, decode] of [
  ['ts', microLzmaDecompressJs],
  ['wasm', wasmDecode],
] as const) {
  test(`microlzma ${impl}: liblzma streams decode exactly and partially, nothing written outside the window`, { skip: skipEncoder }, () => {
    for (const { stream, plain, dictSize, name } of all) {
      const out = new Uint8Array(plain.length + 64).fill(0x77);
      assert.equal(decode(stream, 0, stream.length, out, 32, 32 + plain.length, { dictSize }), plain.length, name);
      assert.ok(Buffer.from(out.subarray(32, 32 + plain.length)).equals(plain), name);
      assert.ok(out.subarray(0, 32).every((b) => b === 0x77) && out.subarray(32 + plain.length).every((b) => b === 0x77), name);
      const half = plain.length >> 1;
      const part = new Uint8Array(half);
      assert.equal(decode(stream, 0, stream.length, part, 0, half, { dictSize, partial: true }), half);
      assert.ok(Buffer.from(part).equals(plain.subarray(0, half)), `${name} partial`);
    }
  });
}

function outcome(decode: Decode, src: Uint8Array, len: number, size: number, partial: boolean, dictSize: number | undefined, out: Uint8Array) {
  out.fill(0x5a, 0, size + 32);
  try {
    return { ok: true as const, n: decode(src, 0, len, out, 16, 16 + size, { partial, ...(dictSize ? { dictSize } : {}) }) };
  } catch (e) {
    assert.ok(isErofsError(e, 'EFSCORRUPTED'), String(e));
    return { ok: false as const, message: e.message };
  }
}

test('microlzma ts vs wasm: same result on valid, damaged and garbage streams', () => {
  const r = rng(777);
  const outJs = new Uint8Array(300_000);
  const outWasm = new Uint8Array(300_000);
  let cases = 0;
  let rejected = 0;
  const compare = (src: Uint8Array, len: number, size: number, partial: boolean, dictSize: number | undefined, what: string) => {
    const a = outcome(microLzmaDecompressJs, src, len, size, partial, dictSize, outJs);
    const b = outcome(wasmDecode, src, len, size, partial, dictSize, outWasm);
    cases++;
    assert.deepEqual(b, a, what);
    if (a.ok) assert.ok(Buffer.from(outJs.subarray(0, size + 32)).equals(outWasm.subarray(0, size + 32)), `${what}: same bytes`);
    else {
      rejected++;
      assert.ok(outWasm.subarray(0, size + 32).every((x) => x === 0x5a), `${what}: wasm writes nothing on error`);
    }
  };
  for (const { stream, plain, dictSize, name } of all) {
    for (const partial of [false, true]) {
      for (const size of [plain.length, plain.length + 1, plain.length - 1, plain.length >> 1, 0]) {
        if (size >= 0) for (const dict of [dictSize, 16, undefined]) compare(stream, stream.length, size, partial, dict, `${name} size ${size}`);
      }
      compare(stream, stream.length - 1, plain.length, partial, dictSize, `${name} truncated`);
    }
    for (let i = 0; i < 40; i++) {
      const bad = stream.slice();
      const kind = i % 3;
      if (kind === 0) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
      else if (kind === 1) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      else for (let k = 0; k < 3; k++) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
      for (const partial of [false, true]) compare(bad, bad.length, plain.length, partial, dictSize, `${name} mutation ${i}`);
    }
  }
  // Garbage, with valid-looking property bytes half of the time.
  for (let i = 0; i < 400; i++) {
    const bad = random(1 + Math.floor(r() * 400), 5000 + i);
    if (i % 2) bad[0] = ~(Math.floor(r() * 5) * 9 * 5 + Math.floor(r() * 3) * 9 + Math.floor(r() * 4)) & 0xff;
    const size = Math.floor(r() * 5000);
    for (const partial of [false, true]) compare(bad, bad.length, size, partial, i % 3 ? undefined : 4096, `garbage ${i}`);
  }
  assert.ok(cases > 1000 && rejected > 500, `${cases} cases, ${rejected} rejected`);
});

test('microlzma: falls back to TypeScript without WebAssembly; async loading works', { skip: skipEncoder }, async () => {
  const { stream, plain, dictSize } = all[0]!;
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')!;
  try {
    resetMicroLzmaWasm();
    delete (globalThis as { WebAssembly?: unknown }).WebAssembly;
    assert.equal(microLzmaWasmAvailable(), false);
    const out = new Uint8Array(plain.length);
    assert.equal(microLzmaDecompress(stream, 0, stream.length, out, 0, out.length, { dictSize }), plain.length);
    assert.ok(Buffer.from(out).equals(plain));
  } finally {
    Object.defineProperty(globalThis, 'WebAssembly', saved);
    resetMicroLzmaWasm();
  }
  assert.deepEqual(await loadWasmDecoders(), { lz4: true, microLzma: true });
  const out = new Uint8Array(plain.length);
  assert.equal(wasmDecode(stream, 0, stream.length, out, 0, out.length, { dictSize }), plain.length);
  assert.ok(Buffer.from(out).equals(plain));
});
