// The WebAssembly LZ4 decoder (wasm/lz4.c) against the TypeScript one: the
// shared decode vectors and the bit-flip fuzz run on both, both must agree
// byte for byte (same accepts, same rejects, same messages), and
// lz4Decompress must fall back to TypeScript when WebAssembly is missing.
// wasm-build.test.ts checks the embedded binary against wasm/build.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErofsError } from '@erofs/format';
import {
  LZ4_WASM_THRESHOLD,
  lz4Compress,
  lz4CompressBound,
  lz4CompressDestSize,
  lz4Decompress,
  lz4DecompressJs,
  lz4DecompressWasm,
  lz4hcCompress,
  lz4hcCompressDestSize,
  lz4WasmAvailable,
} from '../src/index.js';
import { loadLz4Wasm, resetLz4Wasm } from '../src/lz4-wasm.js';
import { LZ4_WASM_BASE64, LZ4_WASM_SIZE } from '../src/lz4-wasm-binary.js';
import { parseLz4Frame } from './lz4-frame.js';
import { random, rng, sample } from './lz4-vectors.js';

type Decode = (
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: { partial?: boolean; where?: string },
) => number;

function wasmDecode(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: { partial?: boolean; where?: string },
): number {
  assert.ok(lz4WasmAvailable(), 'the wasm decoder loads under Node');
  const n = lz4DecompressWasm(src, srcStart, srcEnd, dst, dstStart, dstEnd, options?.partial === true, options?.where);
  assert.ok(n !== undefined, 'the wasm decoder handled the call');
  return n;
}

const impls: [string, Decode][] = [
  ['ts', lz4DecompressJs],
  ['wasm', wasmDecode],
];

const hasLz4 = spawnSync('lz4', ['--version']).status === 0;

/** Blocks of every kind our encoders make, with their decoded contents. */
function validBlocks(): { block: Uint8Array; plain: Uint8Array; name: string }[] {
  const out: { block: Uint8Array; plain: Uint8Array; name: string }[] = [];
  const inputs: [string, Uint8Array][] = [
    ['1 byte', new Uint8Array([42])],
    ['12 bytes', sample(12)],
    ['13 zeros', new Uint8Array(13)],
    ['text 100', sample(100, 21)],
    ['text 4 KiB', sample(4096, 2)],
    ['text 64 KiB', sample(65536, 3)],
    ['text 300 KiB', sample(300_000, 4)],
    ['random 5000', random(5000)],
    ['zeros 100 KiB', new Uint8Array(100_000)],
    ['period 3', Uint8Array.from({ length: 5000 }, (_, i) => [1, 2, 3][i % 3]!)],
    ['period 7', Uint8Array.from({ length: 5000 }, (_, i) => i % 7)],
    ['period 13', Uint8Array.from({ length: 5000 }, (_, i) => (i % 13) * 17)],
  ];
  for (const [name, data] of inputs) {
    for (const level of [0, 1, 9, 12]) {
      const dst = new Uint8Array(lz4CompressBound(data.length));
      const n =
        level === 0
          ? lz4Compress(data, 0, data.length, dst, 0, dst.length)
          : lz4hcCompress(data, 0, data.length, dst, 0, dst.length, level);
      out.push({ block: dst.slice(0, n), plain: data, name: `${name} level ${level}` });
    }
  }
  const data = sample(100_000, 5);
  for (const cap of [5, 13, 14, 20, 100, 4096, 16384]) {
    const dst = new Uint8Array(cap);
    const a = lz4CompressDestSize(data, 0, data.length, dst, cap);
    out.push({ block: dst.slice(0, a.written), plain: data.subarray(0, a.consumed), name: `destSize fast ${cap}` });
    const b = lz4hcCompressDestSize(data, 0, data.length, dst, cap, 9);
    out.push({ block: dst.slice(0, b.written), plain: data.subarray(0, b.consumed), name: `destSize hc ${cap}` });
  }
  return out;
}

/** Blocks made by real liblz4, when the CLI is there. */
function cliBlocks(): { block: Uint8Array; plain: Uint8Array; name: string }[] {
  if (!hasLz4) return [];
  const dir = mkdtempSync(join(tmpdir(), 'lz4w-'));
  try {
    const data = new Uint8Array(Buffer.concat([Buffer.from(sample(200_000, 8)), Buffer.from(random(70_000)), Buffer.alloc(90_000, 7)]));
    writeFileSync(join(dir, 'in'), data);
    const out: { block: Uint8Array; plain: Uint8Array; name: string }[] = [];
    for (const level of [1, 9, 12]) {
      execFileSync('lz4', [`-${level}`, '-f', '-q', '-B4', '-BI', join(dir, 'in'), join(dir, 'out.lz4')]);
      const { blockMaxSize, blocks } = parseLz4Frame(new Uint8Array(readFileSync(join(dir, 'out.lz4'))));
      let d = 0;
      for (const b of blocks) {
        const n = Math.min(blockMaxSize, data.length - d);
        if (b.compressed) out.push({ block: b.data, plain: data.subarray(d, d + n), name: `lz4 -${level} at ${d}` });
        d += n;
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('lz4 wasm: the module loads and stays small enough for synchronous compilation in browsers', () => {
  assert.ok(lz4WasmAvailable());
  // Chrome refuses `new WebAssembly.Module` on the main thread above 4 KiB.
  assert.ok(LZ4_WASM_SIZE < 4096, `module is ${LZ4_WASM_SIZE} bytes`);
  assert.equal(Buffer.from(LZ4_WASM_BASE64, 'base64').length, LZ4_WASM_SIZE);
  assert.ok(LZ4_WASM_THRESHOLD >= 0);
});

test('lz4 wasm: asynchronous loading (for browsers) also works', async () => {
  resetLz4Wasm();
  assert.equal(await loadLz4Wasm(), true);
  const data = sample(5000, 32);
  const dst = new Uint8Array(lz4CompressBound(data.length));
  const n = lz4Compress(data, 0, data.length, dst, 0, dst.length);
  const out = new Uint8Array(data.length);
  assert.equal(wasmDecode(dst, 0, n, out, 0, out.length), data.length);
  assert.deepEqual(out, data);
});

const vectors = [...validBlocks(), ...cliBlocks()];

for (const [impl, decode] of impls) {
  test(`lz4 ${impl}: shared vectors decode exactly, at an offset, leaving the rest of the buffer alone`, () => {
    for (const { block, plain, name } of vectors) {
      const src = new Uint8Array(block.length + 40).fill(0xcc);
      src.set(block, 17);
      const out = new Uint8Array(plain.length + 200).fill(0x77);
      assert.equal(decode(src, 17, 17 + block.length, out, 100, 100 + plain.length), plain.length, name);
      assert.ok(Buffer.from(out.subarray(100, 100 + plain.length)).equals(plain), name);
      assert.ok(out.subarray(0, 100).every((b) => b === 0x77), `${name}: before the window`);
      assert.ok(out.subarray(100 + plain.length).every((b) => b === 0x77), `${name}: after the window`);
    }
  });

  test(`lz4 ${impl}: partial decoding, trailing garbage, short blocks`, () => {
    const data = sample(20_000, 10);
    const dst = new Uint8Array(lz4CompressBound(data.length));
    const n = lz4Compress(data, 0, data.length, dst, 0, dst.length);
    for (const want of [0, 1, 7, 100, 4096, 19_999, 20_000]) {
      const out = new Uint8Array(want + 32).fill(0x33);
      assert.equal(decode(dst, 0, n, out, 0, want, { partial: true }), want);
      assert.deepEqual(out.subarray(0, want), data.subarray(0, want));
      assert.ok(out.subarray(want).every((b) => b === 0x33), `partial ${want}: nothing past the window`);
    }
    assert.throws(() => decode(dst, 0, n, new Uint8Array(100), 0, 100), (e) => isErofsError(e, 'EFSCORRUPTED'));
    const padded = new Uint8Array(n + 50).fill(0xa5);
    padded.set(dst.subarray(0, n));
    const out = new Uint8Array(data.length);
    assert.equal(decode(padded, 0, padded.length, out, 0, out.length, { partial: true }), data.length);
    assert.deepEqual(out, data);
    assert.throws(() => decode(padded, 0, padded.length, out, 0, out.length), (e) => isErofsError(e, 'EFSCORRUPTED'));
    const big = new Uint8Array(data.length + 10);
    assert.equal(decode(dst, 0, n, big, 0, big.length, { partial: true }), data.length);
    assert.throws(() => decode(dst, 0, n, big, 0, big.length), (e) => isErofsError(e, 'EFSCORRUPTED'));
  });

  test(`lz4 ${impl}: in-place decoding with the input at the tail of the output buffer`, () => {
    const data = sample(65536, 11);
    const tmp = new Uint8Array(lz4CompressBound(data.length));
    const n = lz4hcCompress(data, 0, data.length, tmp, 0, tmp.length, 9);
    const buf = new Uint8Array(data.length + 256);
    buf.set(tmp.subarray(0, n), buf.length - n);
    decode(buf, buf.length - n, buf.length, buf, 0, data.length);
    assert.deepEqual(buf.subarray(0, data.length), data);
  });

  test(`lz4 ${impl}: malformed shapes and bit flips end in EFSCORRUPTED, with nothing written outside the window`, () => {
    const cases: [string, number[], number, RegExp][] = [
      ['empty input', [], 10, /empty input/],
      ['zero offset', [0x14, 65, 0, 0, 0x50, 1, 2, 3, 4, 5], 20, /zero match offset/],
      ['offset before start', [0x14, 65, 9, 0, 0x50, 1, 2, 3, 4, 5], 20, /reaches before the output start/],
      ['truncated length', [0xf0, 255], 300, /truncated literal length/],
      ['truncated match length', [0x1f, 65, 1, 0, 255], 300, /truncated match length/],
      ['truncated offset', [0x10, 65, 1], 300, /truncated match offset/],
      ['literals overrun', [0x50, 1, 2, 3, 4, 5], 3, /literals overrun the output by 2 bytes/],
      ['match overrun', [0x14, 65, 1, 0, 0x50, 1, 2, 3, 4, 5], 5, /match overruns the output by 4 bytes/],
      ['ends on match', [0x14, 65, 1, 0], 9, /block ends with a match/],
      ['short block', [0x50, 1, 2, 3, 4, 5], 9, /decoded 5 bytes, expected 9/],
      ['huge literal length', [0xf0, ...new Array<number>(40).fill(255), 0], 100, /literals overrun/],
    ];
    for (const [name, bytes, size, message] of cases) {
      assert.throws(
        () => decode(new Uint8Array(bytes), 0, bytes.length, new Uint8Array(size), 0, size, { where: 'here' }),
        (e) => isErofsError(e, 'EFSCORRUPTED') && message.test(e.message) && e.where === 'here',
        name,
      );
    }
    const data = sample(30_000, 13);
    const dst = new Uint8Array(lz4CompressBound(data.length));
    const good = dst.slice(0, lz4hcCompress(data, 0, data.length, dst, 0, dst.length, 5));
    const r = rng(99);
    const out = new Uint8Array(data.length + 64);
    let failures = 0;
    for (let iter = 0; iter < 1200; iter++) {
      const bad = good.slice();
      const kind = iter % 3;
      if (kind === 0) for (let k = 0; k < 1 + (iter % 4); k++) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
      else if (kind === 1) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      const len = kind === 2 ? Math.floor(r() * bad.length) : bad.length;
      const size = kind === 2 && iter % 2 ? data.length : Math.floor(r() * data.length);
      for (const partial of [false, true]) {
        out.fill(0x5a);
        try {
          decode(bad, 0, len, out, 32, 32 + size, { partial });
        } catch (e) {
          assert.ok(isErofsError(e, 'EFSCORRUPTED'), `iteration ${iter}: ${String(e)}`);
          failures++;
        }
        assert.ok(out.subarray(0, 32).every((b) => b === 0x5a), 'no write before the window');
        assert.ok(out.subarray(32 + size).every((b) => b === 0x5a), 'no write after the window');
      }
    }
    assert.ok(failures > 400);
  });
}

/** Runs one decoder; the outcome to compare. */
function outcome(decode: Decode, src: Uint8Array, len: number, size: number, partial: boolean, out: Uint8Array) {
  out.fill(0x5a, 0, 16 + size + 64);
  try {
    const n = decode(src, 0, len, out, 16, 16 + size, { partial });
    return { ok: true as const, n };
  } catch (e) {
    assert.ok(isErofsError(e, 'EFSCORRUPTED'), String(e));
    return { ok: false as const, message: e.message };
  }
}

test('lz4 ts vs wasm: same result on valid blocks and on every mutation of them', () => {
  const r = rng(4242);
  const outJs = new Uint8Array(400_000);
  const outWasm = new Uint8Array(400_000);
  let cases = 0;
  let rejected = 0;
  const compare = (src: Uint8Array, len: number, size: number, partial: boolean, what: string) => {
    const a = outcome(lz4DecompressJs, src, len, size, partial, outJs);
    const b = outcome(wasmDecode, src, len, size, partial, outWasm);
    cases++;
    assert.deepEqual(b, a, `${what}: ts and wasm agree`);
    if (a.ok) {
      assert.ok(Buffer.from(outJs.subarray(0, 16 + size + 64)).equals(outWasm.subarray(0, 16 + size + 64)), `${what}: same bytes`);
    } else {
      rejected++;
      assert.ok(outWasm.subarray(0, 16 + size + 64).every((x) => x === 0x5a), `${what}: wasm writes nothing on error`);
    }
  };
  for (const { block, plain, name } of vectors) {
    for (const partial of [false, true]) {
      for (const size of [plain.length, plain.length - 1, plain.length + 1, Math.floor(plain.length / 2), 0]) {
        if (size >= 0) compare(block, block.length, size, partial, `${name} size ${size} partial ${partial}`);
      }
    }
    // Mutations: bit flips, random bytes, truncation, random window sizes.
    const n = block.length > 1000 ? 60 : 20;
    for (let i = 0; i < n; i++) {
      const bad = block.slice();
      const kind = i % 4;
      if (kind === 0) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
      else if (kind === 1) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      else if (kind === 2) for (let k = 0; k < 4; k++) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
      const len = kind === 3 ? Math.floor(r() * bad.length) : bad.length;
      const size = r() < 0.5 ? plain.length : Math.floor(r() * (plain.length + 100));
      for (const partial of [false, true]) compare(bad, len, size, partial, `${name} mutation ${i} partial ${partial}`);
    }
  }
  // Random garbage.
  for (let i = 0; i < 500; i++) {
    const bad = random(1 + Math.floor(r() * 300), 1000 + i);
    const size = Math.floor(r() * 3000);
    for (const partial of [false, true]) compare(bad, bad.length, size, partial, `garbage ${i} partial ${partial}`);
  }
  assert.ok(cases > 5000 && rejected > 1000, `${cases} cases, ${rejected} rejected`);
});

test('lz4 wasm: memory grows for big windows and keeps working for small ones', () => {
  for (const size of [3_000_000, 1000, 9_000_000, 65536]) {
    const data = sample(size, size);
    const dst = new Uint8Array(lz4CompressBound(size));
    const n = lz4Compress(data, 0, size, dst, 0, dst.length);
    const out = new Uint8Array(size);
    assert.equal(wasmDecode(dst, 0, n, out, 0, size), size);
    assert.ok(Buffer.from(out).equals(data), `size ${size}`);
  }
});

test('lz4: lz4Decompress falls back to TypeScript without WebAssembly', () => {
  const data = sample(50_000, 31);
  const dst = new Uint8Array(lz4CompressBound(data.length));
  const n = lz4Compress(data, 0, data.length, dst, 0, dst.length);
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')!;
  try {
    resetLz4Wasm();
    delete (globalThis as { WebAssembly?: unknown }).WebAssembly;
    assert.equal(lz4WasmAvailable(), false);
    const out = new Uint8Array(data.length);
    assert.equal(lz4Decompress(dst, 0, n, out, 0, out.length), data.length);
    assert.deepEqual(out, data);
    assert.equal(lz4DecompressWasm(dst, 0, n, out, 0, out.length, false, undefined), undefined);
  } finally {
    Object.defineProperty(globalThis, 'WebAssembly', saved);
    resetLz4Wasm();
  }
  // A module the engine refuses also means TypeScript, not an exception.
  const wa = (globalThis as unknown as { WebAssembly: { Module: unknown } }).WebAssembly;
  const realModule = wa.Module;
  try {
    wa.Module = function () {
      throw new Error('CompileError: refused');
    };
    assert.equal(lz4WasmAvailable(), false);
    const out = new Uint8Array(data.length);
    assert.equal(lz4Decompress(dst, 0, n, out, 0, out.length), data.length);
    assert.deepEqual(out, data);
  } finally {
    wa.Module = realModule;
    resetLz4Wasm();
  }
  assert.ok(lz4WasmAvailable());
});
