import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { isErofsError } from '@erofs/format';
import * as portable from '../src/index.js';
import * as nodeEntry from '../src/node/index.js';

function text(n: number, seed = 1): Uint8Array {
  let x = seed;
  const out = new Uint8Array(n);
  const words = ['erofs ', 'deflate ', 'zstd ', 'pcluster ', '\n', 'lcluster ', 'blkaddr '];
  let i = 0;
  while (i < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    if (x % 5 === 0) out[i++] = x >>> 24;
    else for (const c of words[x % words.length]!) if (i < n) out[i++] = c.charCodeAt(0);
  }
  return out;
}
const corrupt = (e: unknown) => isErofsError(e, 'EFSCORRUPTED');

for (const [label, api] of [['portable', portable], ['node', nodeEntry]] as const) {
  test(`deflate (${label}): decodes zlib streams into a fixed window, with padding after and partial windows`, () => {
    const data = text(200_000);
    for (const level of [0, 1, 6, 9]) {
      const stream = new Uint8Array(deflateRawSync(data, { level }));
      const padded = new Uint8Array(stream.length + 100).fill(0xcc);
      padded.set(stream);
      const out = new Uint8Array(data.length);
      assert.equal(api.deflateDecompress(padded, 0, padded.length, out, 0, out.length), data.length);
      assert.deepEqual(out, data, `level ${level}`);
      for (const want of [1, 4096, 100_000]) {
        const part = new Uint8Array(want + 10).fill(0xee);
        api.deflateDecompress(stream, 0, stream.length, part, 5, 5 + want);
        assert.deepEqual(part.subarray(5, 5 + want), data.subarray(0, want), `level ${level} prefix ${want}`);
        assert.ok(part.subarray(5 + want).every((b) => b === 0xee));
      }
      assert.throws(() => api.deflateDecompress(stream, 0, stream.length, new Uint8Array(data.length + 1), 0, data.length + 1), corrupt);
    }
    assert.throws(() => api.deflateDecompress(new Uint8Array([0xff, 0xff, 0xff]), 0, 3, new Uint8Array(10), 0, 10), corrupt);
    assert.throws(() => api.deflateDecompress(new Uint8Array(0), 0, 0, new Uint8Array(10), 0, 10), corrupt);
  });

  test(`deflate (${label}): compress and destSize round-trip`, () => {
    const data = text(100_000, 3);
    for (const level of [0, 1, 6, 9]) {
      const c = api.deflateCompress(data, 0, data.length, level);
      const out = new Uint8Array(data.length);
      api.deflateDecompress(c, 0, c.length, out, 0, out.length);
      assert.deepEqual(out, data);
    }
    for (const cap of [4096, 16384]) {
      const dst = new Uint8Array(cap);
      const r = api.deflateCompressDestSize(data, 10, data.length, dst, cap, 9);
      assert.ok(r.written <= cap && r.consumed > cap, `cap ${cap}: ${r.consumed} in ${r.written}`);
      const out = new Uint8Array(r.consumed);
      api.deflateDecompress(dst, 0, r.written, out, 0, out.length);
      assert.deepEqual(out, data.subarray(10, 10 + r.consumed));
      // The search gets close to the capacity.
      assert.ok(r.written > cap * 0.97, `cap ${cap}: only ${r.written} used`);
    }
  });

  test(`deflate (${label}): bit flips end in EFSCORRUPTED or output, never another error`, () => {
    const data = text(20_000, 4);
    const stream = new Uint8Array(deflateRawSync(data, { level: 6 }));
    let x = 9;
    for (let i = 0; i < 300; i++) {
      const bad = stream.slice();
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      bad[x % bad.length] ^= 1 << (x >>> 29);
      try {
        api.deflateDecompress(bad, 0, bad.length, new Uint8Array(data.length), 0, data.length);
      } catch (e) {
        assert.ok(corrupt(e), String(e));
      }
    }
  });
}

const hasZstd = spawnSync('zstd', ['--version']).status === 0;

test('zstd: decodes frames from the zstd CLI and from our encoder, exact and partial', { skip: !hasZstd && 'skipped: zstd CLI missing' }, async () => {
  const data = text(300_000, 5);
  const enc = await nodeEntry.loadZstdEncoder();
  const frames: [string, Uint8Array][] = [];
  for (const level of [1, 3, 19]) {
    const r = spawnSync('zstd', [`-${level}`, '-c', '-q'], { input: data, maxBuffer: 1 << 26 });
    assert.equal(r.status, 0);
    frames.push([`cli -${level}`, new Uint8Array(r.stdout)]);
    frames.push([`wasm ${level}`, enc.compress(data, 0, data.length, level)]);
  }
  // Streamed input: the CLI omits the content size.
  const piped = spawnSync('sh', ['-c', 'cat | zstd -3 -c -q'], { input: data, maxBuffer: 1 << 26 });
  frames.push(['no content size', new Uint8Array(piped.stdout)]);
  for (const [name, frame] of frames) {
    const out = new Uint8Array(data.length);
    assert.equal(portable.zstdDecompress(frame, 0, frame.length, out, 0, out.length), data.length);
    assert.deepEqual(out, data, name);
    const part = new Uint8Array(5000);
    portable.zstdDecompress(frame, 0, frame.length, part, 0, part.length, { partial: true });
    assert.deepEqual(part, data.subarray(0, 5000), name);
    assert.throws(() => portable.zstdDecompress(frame, 0, frame.length, part, 0, part.length), corrupt, `${name}: short window without partial`);
    assert.throws(() => portable.zstdDecompress(frame, 0, frame.length, new Uint8Array(data.length + 1), 0, data.length + 1), corrupt);
  }
  const cli = frames[0]![1];
  let x = 3;
  for (let i = 0; i < 200; i++) {
    const bad = cli.slice();
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bad[x % bad.length] ^= 1 << (x >>> 29);
    try {
      portable.zstdDecompress(bad, 0, bad.length, new Uint8Array(data.length), 0, data.length);
    } catch (e) {
      assert.ok(corrupt(e), String(e));
    }
  }
  assert.throws(() => portable.zstdDecompress(new Uint8Array(10), 0, 10, new Uint8Array(5), 0, 5), corrupt);
});

test('zstd: destSize through the wasm encoder', async () => {
  const enc = await nodeEntry.loadZstdEncoder();
  const data = text(200_000, 6);
  for (const cap of [4096, 65536]) {
    const dst = new Uint8Array(cap);
    const r = enc.compressDestSize(data, 0, data.length, dst, cap, 6);
    assert.ok(r.written <= cap && r.consumed > cap);
    const out = new Uint8Array(r.consumed);
    portable.zstdDecompress(dst, 0, r.written, out, 0, out.length);
    assert.deepEqual(out, data.subarray(0, r.consumed));
  }
});

test('registry: algorithm ids map to decoders', () => {
  assert.equal(portable.getCodec(0).name, 'lz4');
  assert.equal(portable.getCodec(1).name, 'lzma');
  assert.equal(portable.getCodec(2).name, 'deflate');
  assert.equal(portable.getCodec(3).name, 'zstd');
  assert.equal(nodeEntry.getCodec(2).decompress, nodeEntry.deflateDecompress);
  assert.throws(() => portable.getCodec(4), (e) => isErofsError(e, 'EOPNOTSUPP'));
  assert.throws(() => portable.getCodec(-1), (e) => isErofsError(e, 'EOPNOTSUPP'));
  const data = text(5000);
  const lz = new Uint8Array(portable.lz4CompressBound(data.length));
  const n = portable.lz4Compress(data, 0, data.length, lz, 0, lz.length);
  const out = new Uint8Array(data.length);
  portable.getCodec(0).decompress(lz, 0, n, out, 0, out.length);
  assert.deepEqual(out, data);
});
