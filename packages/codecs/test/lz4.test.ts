import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErofsError } from '@erofs/format';
import {
  lz4Compress,
  lz4CompressBound,
  lz4CompressDestSize,
  lz4Decompress,
  lz4hcCompress,
  lz4hcCompressDestSize,
  skipZeroPadding,
} from '../src/index.js';
import { buildLz4Frame, parseLz4Frame, type FrameBlock } from './lz4-frame.js';
import { random, rng, sample } from './lz4-vectors.js';


function decode(block: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  assert.equal(lz4Decompress(block, 0, block.length, out, 0, size), size);
  return out;
}

const hasLz4 = spawnSync('lz4', ['--version']).status === 0;
const inputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['1 byte', new Uint8Array([42])],
  ['12 bytes', sample(12)],
  ['13 zeros', new Uint8Array(13)],
  ['text 4 KiB', sample(4096, 2)],
  ['text 64 KiB', sample(65536, 3)],
  ['text 300 KiB', sample(300_000, 4)],
  ['random 5000', random(5000)],
  ['zeros 100 KiB', new Uint8Array(100_000)],
];

test('lz4: fast and HC blocks round-trip through our decoder', () => {
  for (const [name, data] of inputs) {
    for (const level of [0, 1, 3, 9, 12]) {
      const dst = new Uint8Array(lz4CompressBound(data.length));
      const n =
        level === 0
          ? lz4Compress(data, 0, data.length, dst, 0, dst.length)
          : lz4hcCompress(data, 0, data.length, dst, 0, dst.length, level);
      assert.ok(n > 0, `${name} level ${level} fits the bound`);
      assert.deepEqual(decode(dst.subarray(0, n), data.length), data, `${name} level ${level}`);
    }
  }
});

test('lz4: ordinary compress returns 0 when the output is too small', () => {
  const data = random(1000);
  const dst = new Uint8Array(500);
  assert.equal(lz4Compress(data, 0, data.length, dst, 0, dst.length), 0);
  assert.equal(lz4hcCompress(data, 0, data.length, dst, 0, dst.length, 9), 0);
});

test('lz4: destSize fills at most the capacity and decodes to exactly what it consumed', () => {
  const data = sample(200_000, 5);
  for (const cap of [1, 2, 5, 13, 14, 20, 100, 4096, 16384, 65536, 300_000]) {
    for (const mode of ['fast', 'hc4', 'hc12'] as const) {
      const dst = new Uint8Array(cap + 16).fill(0xee);
      const r =
        mode === 'fast'
          ? lz4CompressDestSize(data, 1000, data.length, dst, cap)
          : lz4hcCompressDestSize(data, 1000, data.length, dst, cap, mode === 'hc4' ? 4 : 12);
      assert.ok(r.written <= cap, `${mode} cap ${cap}: wrote ${r.written}`);
      assert.ok(dst.subarray(cap).every((b) => b === 0xee), 'nothing written past the capacity');
      const out = decode(dst.subarray(0, r.written), r.consumed);
      assert.deepEqual(out, data.subarray(1000, 1000 + r.consumed), `${mode} cap ${cap}`);
      if (cap >= 4096 && cap < 100_000) assert.ok(r.consumed > cap, `${mode} cap ${cap} compresses (${r.consumed})`);
    }
  }
  // Incompressible input: about as many bytes as fit, and all of it when it fits.
  const rnd = random(10_000);
  const dst = new Uint8Array(4096);
  const r = lz4CompressDestSize(rnd, 0, rnd.length, dst, 4096);
  assert.ok(r.consumed > 4000 && r.consumed < 4096, `consumed ${r.consumed}`);
  const all = lz4CompressDestSize(rnd, 0, 100, dst, 4096);
  assert.equal(all.consumed, 100);
});

test('lz4: destSize blocks respect the end-of-block rules', () => {
  // Walk the sequences: last one is literals only and >= 5 bytes; the last
  // match starts >= 12 bytes before the end; offsets within 65535.
  const data = sample(150_000, 6);
  for (const cap of [64, 333, 4096, 12345]) {
    let pos = 0;
    while (pos < data.length) {
      const dst = new Uint8Array(cap);
      const r = lz4hcCompressDestSize(data, pos, data.length, dst, cap, 9);
      checkRules(dst.subarray(0, r.written), r.consumed);
      pos += r.consumed;
      assert.ok(r.consumed > 0);
    }
  }
});

function checkRules(block: Uint8Array, size: number): void {
  let s = 0;
  let d = 0;
  let lastMatchStart = -1;
  for (;;) {
    const t = block[s++]!;
    let l = t >> 4;
    if (l === 15) for (let b = 255; b === 255; ) l += b = block[s++]!;
    s += l;
    d += l;
    if (s === block.length) break;
    const off = block[s]! | (block[s + 1]! << 8);
    s += 2;
    assert.ok(off >= 1 && off <= d);
    let m = t & 15;
    if (m === 15) for (let b = 255; b === 255; ) m += b = block[s++]!;
    lastMatchStart = d;
    d += m + 4;
  }
  assert.equal(d, size);
  if (lastMatchStart >= 0) {
    assert.ok(size - lastMatchStart >= 12, `last match starts ${size - lastMatchStart} bytes before the end`);
  }
}

test('lz4: decodes blocks made by the real lz4 CLI (liblz4)', { skip: !hasLz4 && 'skipped: lz4 CLI missing' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lz4t-'));
  try {
    const data = new Uint8Array(Buffer.concat([Buffer.from(sample(400_000, 8)), Buffer.from(random(70_000)), Buffer.alloc(90_000, 7)]));
    writeFileSync(join(dir, 'in'), data);
    for (const level of [1, 3, 9, 12]) {
      execFileSync('lz4', [`-${level}`, '-f', '-q', '-B4', '-BI', join(dir, 'in'), join(dir, 'out.lz4')]);
      const { blockMaxSize, blocks } = parseLz4Frame(new Uint8Array(readFileSync(join(dir, 'out.lz4'))));
      const out = new Uint8Array(data.length);
      let d = 0;
      let compressed = 0;
      for (const b of blocks) {
        const n = Math.min(blockMaxSize, data.length - d);
        if (b.compressed) {
          compressed++;
          assert.equal(lz4Decompress(b.data, 0, b.data.length, out, d, d + n), n);
        } else {
          out.set(b.data, d);
        }
        d += n;
      }
      assert.ok(compressed > 0);
      assert.equal(d, data.length);
      assert.deepEqual(out, data, `lz4 -${level}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lz4: real liblz4 (lz4 -d) accepts our blocks, destSize ones included', { skip: !hasLz4 && 'skipped: lz4 CLI missing' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lz4t-'));
  try {
    const data = new Uint8Array(Buffer.concat([Buffer.from(sample(300_000, 9)), Buffer.from(random(20_000)), Buffer.alloc(50_000)]));
    const blocks: FrameBlock[] = [];
    const expected: Uint8Array[] = [];
    const add = (block: Uint8Array, plain: Uint8Array) => {
      blocks.push({ data: block.slice(), compressed: true });
      expected.push(plain);
    };
    for (let i = 0; i < data.length; i += 65536) {
      const end = Math.min(data.length, i + 65536);
      const dst = new Uint8Array(lz4CompressBound(end - i));
      add(dst.subarray(0, lz4Compress(data, i, end, dst, 0, dst.length)), data.subarray(i, end));
      add(dst.subarray(0, lz4hcCompress(data, i, end, dst, 0, dst.length, 9)), data.subarray(i, end));
      add(dst.subarray(0, lz4hcCompress(data, i, end, dst, 0, dst.length, 12)), data.subarray(i, end));
    }
    for (const cap of [4096, 777, 30]) {
      for (const hc of [false, true]) {
        for (let pos = 0; pos < data.length; ) {
          const dst = new Uint8Array(cap);
          const r = hc
            ? lz4hcCompressDestSize(data, pos, data.length, dst, cap, 6)
            : lz4CompressDestSize(data, pos, data.length, dst, cap);
          add(dst.subarray(0, r.written), data.subarray(pos, pos + r.consumed));
          pos += r.consumed;
          if (cap !== 4096 && pos > 60_000) break; // small clusters: a sample is enough
        }
      }
    }
    writeFileSync(join(dir, 'ours.lz4'), buildLz4Frame(blocks));
    const r = spawnSync('lz4', ['-d', '-c', join(dir, 'ours.lz4')], { maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(new Uint8Array(r.stdout), new Uint8Array(Buffer.concat(expected)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lz4: partial decoding stops when the output is full', () => {
  const data = sample(20_000, 10);
  const dst = new Uint8Array(lz4CompressBound(data.length));
  const n = lz4Compress(data, 0, data.length, dst, 0, dst.length);
  for (const want of [0, 1, 7, 100, 4096, 19_999, 20_000]) {
    const out = new Uint8Array(want);
    assert.equal(lz4Decompress(dst, 0, n, out, 0, want, { partial: true }), want);
    assert.deepEqual(out, data.subarray(0, want));
  }
  // Without partial, a prefix is corruption; with trailing garbage too.
  assert.throws(() => lz4Decompress(dst, 0, n, new Uint8Array(100), 0, 100), (e) => isErofsError(e, 'EFSCORRUPTED'));
  // Partial tolerates trailing garbage (no 0padding: the exact length is unknown).
  const padded = new Uint8Array(n + 50).fill(0xa5);
  padded.set(dst.subarray(0, n));
  const out = new Uint8Array(data.length);
  assert.equal(lz4Decompress(padded, 0, padded.length, out, 0, out.length, { partial: true }), data.length);
  assert.deepEqual(out, data);
  // The block ending early reports a short count in partial mode.
  const big = new Uint8Array(data.length + 10);
  assert.equal(lz4Decompress(dst, 0, n, big, 0, big.length, { partial: true }), data.length);
});

test('lz4: in-place decoding with the input at the tail of the output buffer', () => {
  const data = sample(65536, 11);
  const tmp = new Uint8Array(lz4CompressBound(data.length));
  const n = lz4hcCompress(data, 0, data.length, tmp, 0, tmp.length, 9);
  const margin = 256;
  const buf = new Uint8Array(data.length + margin);
  buf.set(tmp.subarray(0, n), buf.length - n);
  lz4Decompress(buf, buf.length - n, buf.length, buf, 0, data.length);
  assert.deepEqual(buf.subarray(0, data.length), data);
});

test('lz4: decoding at an offset inside larger buffers leaves the rest untouched', () => {
  const data = sample(10_000, 12);
  const tmp = new Uint8Array(lz4CompressBound(data.length) + 30);
  const n = lz4Compress(data, 0, data.length, tmp, 30, tmp.length);
  const out = new Uint8Array(data.length + 200).fill(0x77);
  lz4Decompress(tmp, 30, 30 + n, out, 100, 100 + data.length);
  assert.deepEqual(out.subarray(100, 100 + data.length), data);
  assert.ok(out.subarray(0, 100).every((b) => b === 0x77));
  assert.ok(out.subarray(100 + data.length).every((b) => b === 0x77));
});

test('lz4: malformed blocks fail with EFSCORRUPTED, never another error or a write outside the window', () => {
  const data = sample(30_000, 13);
  const dst = new Uint8Array(lz4CompressBound(data.length));
  const n = lz4hcCompress(data, 0, data.length, dst, 0, dst.length, 5);
  const good = dst.slice(0, n);
  const r = rng(99);
  const out = new Uint8Array(data.length + 64);
  let failures = 0;
  for (let iter = 0; iter < 1200; iter++) {
    const bad = good.slice();
    const kind = iter % 3;
    if (kind === 0) for (let k = 0; k < 1 + (iter % 4); k++) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
    else if (kind === 1) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
    const len = kind === 2 ? Math.floor(r() * bad.length) : bad.length;
    out.fill(0x5a);
    const size = kind === 2 && iter % 2 ? data.length : Math.floor(r() * data.length);
    for (const partial of [false, true]) {
      try {
        lz4Decompress(bad, 0, len, out, 32, 32 + size, { partial });
      } catch (e) {
        assert.ok(isErofsError(e, 'EFSCORRUPTED'), `iteration ${iter}: ${String(e)}`);
        failures++;
      }
      assert.ok(out.subarray(0, 32).every((b) => b === 0x5a), 'no write before the window');
      assert.ok(out.subarray(32 + size).every((b) => b === 0x5a), 'no write after the window');
    }
  }
  assert.ok(failures > 400);
  // Specific shapes.
  const cases: [string, number[], number][] = [
    ['empty input', [], 10],
    ['zero offset', [0x14, 65, 0, 0, 0x50, 1, 2, 3, 4, 5], 20],
    ['offset before start', [0x14, 65, 9, 0, 0x50, 1, 2, 3, 4, 5], 20],
    ['truncated length', [0xf0, 255], 300],
    ['literals overrun', [0x50, 1, 2, 3, 4, 5], 3],
    ['ends on match', [0x14, 65, 1, 0], 9],
  ];
  for (const [name, bytes, size] of cases) {
    assert.throws(() => lz4Decompress(new Uint8Array(bytes), 0, bytes.length, new Uint8Array(size), 0, size), (e) => isErofsError(e, 'EFSCORRUPTED'), name);
  }
});

test('0padding: finds the start of a right-aligned stream', () => {
  const buf = new Uint8Array([0, 0, 0, 0x42, 0, 7]);
  assert.equal(skipZeroPadding(buf, 0, buf.length), 3);
  assert.equal(skipZeroPadding(buf, 3, buf.length), 3);
  assert.throws(() => skipZeroPadding(new Uint8Array(8), 0, 8), (e) => isErofsError(e, 'EFSCORRUPTED'));
  assert.throws(() => skipZeroPadding(buf, 0, buf.length, 2), (e) => isErofsError(e, 'EFSCORRUPTED'));
});
