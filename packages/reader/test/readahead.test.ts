/**
 * The readahead of file data (ReadAhead) and the clustered misses of the
 * metadata cache (BlockCache): same bytes and same errors as plain reads,
 * fewer requests to the source, and no request beyond what may be read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErofsError } from '@erofs/format';
import { BlockCache, ReadAhead, readExact, type BlockSource } from '../src/source.js';

const pattern = (n: number, seed = 1): Uint8Array => {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

/** A source over `bytes` that logs its requests and fails those touching `bad` (absolute byte positions). */
function counting(bytes: Uint8Array, bad: (pos: number, len: number) => boolean = () => false) {
  const log: Array<[number, number]> = [];
  const src: BlockSource = {
    size: bytes.length,
    read(offset, length) {
      log.push([offset, length]);
      if (bad(offset, length)) return Promise.reject(new Error('device error'));
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
  };
  return { src, log };
}

test('readahead: sequential reads come from a few large requests, byte for byte', async () => {
  const data = pattern(3 << 20);
  const { src, log } = counting(data);
  const ra = new ReadAhead(src, data.length, 256 * 1024, 2, 8);
  let pos = 0;
  let n = 0;
  while (pos < data.length) {
    const len = Math.min(data.length - pos, 1000 + ((n++ * 7919) % 30000));
    const b = await ra.read(pos, len);
    assert.equal(b.length, len);
    assert.deepEqual(b, data.subarray(pos, pos + len), `read at ${pos}`);
    pos += len;
  }
  assert.ok(log.length < 20, `${log.length} requests for ${n} reads`);
  for (const [o, l] of log) assert.ok(o + l <= data.length);
});

test('readahead: random reads (and reads past the limit) are plain reads, with their errors', async () => {
  const data = pattern(1 << 20, 7);
  const { src } = counting(data);
  const ra = new ReadAhead(src, 900_000, 64 * 1024, 4, 8);
  let x = 5;
  for (let i = 0; i < 500; i++) {
    x = (x * 48271) % 2147483647;
    const pos = x % data.length;
    const len = Math.min(data.length - pos, (x >> 8) % 70000);
    const got = await ra.read(pos, len);
    assert.deepEqual(got, data.subarray(pos, pos + len), `read ${pos}+${len}`);
    const some = await ra.readSome(pos, len, Math.min(len, 100));
    assert.ok(some.length >= Math.min(len, 100) && some.length <= len);
    assert.deepEqual(some, data.subarray(pos, pos + some.length));
    const dst = new Uint8Array(len + 3);
    await ra.readInto(pos, len, dst, 3);
    assert.deepEqual(dst.subarray(3), data.subarray(pos, pos + len));
    const cached = await ra.readCached(pos, len, undefined, i % 2 === 0);
    assert.deepEqual(cached, data.subarray(pos, pos + len));
  }
  const short = new ReadAhead(counting(data.subarray(0, 1000)).src, 1000);
  await assert.rejects(short.read(900, 200, 'here'), (e: unknown) => e instanceof ErofsError && e.code === 'EIO' && /here/.test(e.message));
});

test('readahead: a failing chunk falls back to the plain read and its error', async () => {
  const data = pattern(1 << 20, 3);
  // Requests covering byte 300000 fail: the chunk holding it, and the exact read of it.
  const { src } = counting(data, (o, l) => o <= 300_000 && 300_000 < o + l);
  const ra = new ReadAhead(src, data.length, 128 * 1024, 2, 8);
  for (let pos = 0; pos < 250_000; pos += 10_000) assert.deepEqual(await ra.read(pos, 10_000), data.subarray(pos, pos + 10_000));
  // In the failing chunk but not the failing byte: served by a plain read.
  assert.deepEqual(await ra.read(270_000, 1000), data.subarray(270_000, 271_000));
  await assert.rejects(ra.read(299_000, 2000, 'pcluster'), (e: unknown) => e instanceof ErofsError && e.code === 'EIO' && /pcluster/.test(e.message));
  const plain = await readExact(src, 299_000, 2000, 'pcluster').catch((e: unknown) => e);
  assert.ok(plain instanceof ErofsError && plain.code === 'EIO');
});

test('block cache: a miss reads the blocks after it too, and a failed cluster falls back to single blocks', async () => {
  const bs = 4096;
  const data = pattern(100 * bs + 123, 11);
  const { src, log } = counting(data, (o, l) => l > bs && o <= 40 * bs && 40 * bs < o + l);
  const cache = new BlockCache(bs, data.length, (p, l) => readExact(src, p, l, 'metadata'), 64, 4 * bs);
  for (let b = 0; b < 101; b++) {
    const len = Math.min(bs, data.length - b * bs);
    assert.deepEqual(await cache.read(b * bs, len), data.subarray(b * bs, b * bs + len), `block ${b}`);
  }
  // Across blocks, and the partial last block.
  assert.deepEqual(await cache.read(5 * bs - 10, 3 * bs), data.subarray(5 * bs - 10, 8 * bs - 10));
  assert.deepEqual(await cache.read(100 * bs, 123), data.subarray(100 * bs));
  assert.ok(log.length < 60, `${log.length} requests for 101 blocks`);
  for (const [o, l] of log) assert.ok(o + l <= data.length);
});
