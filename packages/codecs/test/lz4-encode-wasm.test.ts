// The LZ4/LZ4HC compressors exist twice: WebAssembly (wasm/lz4enc.c, used by
// lz4Compress* whenever it loads) and TypeScript (lz4*Js, the fallback). The
// other LZ4 tests (lz4.test.ts: round trips, destSize capacity and
// end-of-block rules, real liblz4 via `lz4 -d`) run through the wasm path;
// this file covers the fallback, the two paths against each other and the
// wrapper's partial-input retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  lz4Compress, lz4CompressBound, lz4CompressDestSize, lz4CompressDestSizeJs, lz4CompressJs, lz4Decompress,
  lz4EncodeWasmAvailable, lz4hcCompress, lz4hcCompressDestSize, lz4hcCompressDestSizeJs, lz4hcCompressJs, lz4PinInput,
} from '../src/index.js';
import { setLz4EncodeWasm } from '../src/lz4-encode-wasm.js';
import { random, sample } from './lz4-vectors.js';

function decode(block: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  assert.equal(lz4Decompress(block, 0, block.length, out, 0, size), size);
  return out;
}

/** Text, then a long run (compresses ~250:1, so destSize needs far more input than its first window), then text. */
function mixed(): Uint8Array {
  const a = sample(50_000, 11);
  const out = new Uint8Array(a.length * 2 + 3_000_000);
  out.set(a, 0);
  out.fill(0x41, a.length, a.length + 3_000_000);
  out.set(a, a.length + 3_000_000);
  return out;
}

test('lz4enc wasm: the module loads', () => {
  assert.equal(lz4EncodeWasmAvailable(), true);
});

test('lz4enc: wasm and TypeScript compressors both round-trip, ratios within 3% of each other', () => {
  const data = sample(300_000, 9);
  for (const level of [0, 1, 4, 9, 12]) {
    const dst = new Uint8Array(lz4CompressBound(data.length));
    const w = level === 0 ? lz4Compress(data, 0, data.length, dst, 0, dst.length) : lz4hcCompress(data, 0, data.length, dst, 0, dst.length, level);
    assert.deepEqual(decode(dst.subarray(0, w), data.length), data);
    const j = level === 0 ? lz4CompressJs(data, 0, data.length, dst, 0, dst.length) : lz4hcCompressJs(data, 0, data.length, dst, 0, dst.length, level);
    assert.deepEqual(decode(dst.subarray(0, j), data.length), data);
    assert.ok(w <= j * 1.03, `level ${level}: wasm ${w} vs ts ${j}`);
  }
});

test('lz4enc: destSize over long runs (partial-input retries) and at every position of a mixed input', () => {
  const data = mixed();
  for (const cap of [13, 100, 4096, 65536]) {
    for (const level of [0, 3, 9]) {
      let pos = 0;
      let calls = 0;
      while (pos < data.length && calls < 400) {
        const dst = new Uint8Array(cap + 32).fill(0xee);
        const r = level === 0
          ? lz4CompressDestSize(data, pos, data.length, dst, cap)
          : lz4hcCompressDestSize(data, pos, data.length, dst, cap, level);
        assert.ok(r.written <= cap && r.consumed > 0, `cap ${cap} level ${level} at ${pos}`);
        assert.ok(dst.subarray(cap).every((b) => b === 0xee), 'nothing written past the capacity');
        assert.deepEqual(decode(dst.subarray(0, r.written), r.consumed), data.subarray(pos, pos + r.consumed));
        pos += r.consumed;
        calls++;
      }
    }
  }
});

test('lz4enc: results depend on the input only (same bytes on repeated and interleaved calls)', () => {
  const a = sample(40_000, 3);
  const b = random(40_000);
  const once = (d: Uint8Array, level: number) => {
    const dst = new Uint8Array(4096);
    const r = level === 0 ? lz4CompressDestSize(d, 0, d.length, dst, 4096) : lz4hcCompressDestSize(d, 0, d.length, dst, 4096, level);
    return { ...r, bytes: Buffer.from(dst.subarray(0, r.written)).toString('hex') };
  };
  for (const level of [0, 9]) {
    const first = once(a, level);
    once(b, level);
    once(a.subarray(7), level);
    assert.deepEqual(once(a, level), first);
  }
});

test('lz4enc: a pinned input gives the same blocks as copied windows, and another input unpins it', () => {
  const data = mixed();
  const other = sample(30_000, 5);
  const run = (pin: boolean, level: number, cap: number) => {
    const dst = new Uint8Array(cap);
    const parts: string[] = [];
    if (pin) assert.equal(lz4PinInput(data), true);
    try {
      for (let pos = 0; pos < data.length; ) {
        const r = level === 0 ? lz4CompressDestSize(data, pos, data.length, dst, cap) : lz4hcCompressDestSize(data, pos, data.length, dst, cap, level);
        assert.ok(r.consumed > 0 && r.written <= cap);
        assert.deepEqual(decode(dst.subarray(0, r.written), r.consumed), data.subarray(pos, pos + r.consumed));
        parts.push(`${r.consumed}:${Buffer.from(dst.subarray(0, r.written)).toString('hex')}`);
        pos += r.consumed;
      }
    } finally {
      if (pin) lz4PinInput(null);
    }
    return parts;
  };
  for (const level of [0, 9]) {
    for (const cap of [4096, 16384]) assert.deepEqual(run(true, level, cap), run(false, level, cap), `level ${level} cap ${cap}`);
  }
  // a call on another array drops the pin: later calls on `data` copy again and see its current bytes
  assert.equal(lz4PinInput(data), true);
  const dst = new Uint8Array(4096);
  lz4CompressDestSize(other, 0, other.length, dst, 4096);
  const saved = data[10]!;
  data[10] = saved ^ 0xff;
  const r = lz4CompressDestSize(data, 0, data.length, dst, 4096);
  assert.equal(decode(dst.subarray(0, r.written), r.consumed)[10], data[10]);
  data[10] = saved;
  lz4PinInput(null);
});

test('lz4enc: without WebAssembly the TypeScript compressors are used', () => {
  const data = sample(20_000, 4);
  const dst = new Uint8Array(4096);
  try {
    setLz4EncodeWasm(false);
    assert.equal(lz4EncodeWasmAvailable(), false);
    const r = lz4hcCompressDestSize(data, 0, data.length, dst, 4096, 9);
    assert.deepEqual(r, lz4hcCompressDestSizeJs(data, 0, data.length, new Uint8Array(4096), 4096, 9));
    const f = lz4CompressDestSize(data, 0, data.length, dst, 4096);
    assert.deepEqual(f, lz4CompressDestSizeJs(data, 0, data.length, new Uint8Array(4096), 4096));
  } finally {
    setLz4EncodeWasm(true);
  }
  assert.equal(lz4EncodeWasmAvailable(), true);
});
