/**
 * decodeExtent on hand-made pclusters: the plain (shifted and interlaced)
 * copies no fixture image exercises, 0padding, and codec failures turned
 * into the library's error type.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErofsError, FeatureIncompat } from '@erofs/format';
import { decodeExtent } from '../src/z/decompress.js';
import {
  ENCODED, FULL_MAPPED, MAPPED, PARTIAL_REF, Z_EROFS_COMPRESSION_INTERLACED, Z_EROFS_COMPRESSION_SHIFTED, type ZExtent, type ZImage,
} from '../src/z/index.js';

const image = (over: Partial<ZImage> = {}): ZImage => ({
  blkszbits: 12, featureIncompat: FeatureIncompat.ZERO_PADDING, u1: 1, cfgs: {},
  readData: () => Promise.reject(new Error('unused')), readPacked: () => Promise.reject(new Error('unused')),
  ...over,
});
const extent = (over: Partial<ZExtent>): ZExtent => ({
  la: 0, llen: 0, pa: 0, plen: 4096, flags: MAPPED | ENCODED | FULL_MAPPED, algorithm: 0, ...over,
});
const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

test('z: shifted pclusters are the data itself', async () => {
  const raw = pattern(4096);
  const dst = new Uint8Array(3000);
  await decodeExtent(image(), extent({ llen: 3000, algorithm: Z_EROFS_COMPRESSION_SHIFTED }), raw, dst, 'here');
  assert.deepEqual(dst, raw.subarray(0, 3000));
});

test('z: interlaced pclusters are rotated by the block offset of la', async () => {
  const data = pattern(4096);
  // la at block offset 1000: the first 3096 bytes sit at the pcluster's end.
  const raw = new Uint8Array(4096);
  raw.set(data.subarray(0, 3096), 1000);
  raw.set(data.subarray(3096), 0);
  for (const n of [4096, 3096, 100]) {
    const dst = new Uint8Array(n);
    await decodeExtent(image(), extent({ la: 8192 + 1000, llen: n, algorithm: Z_EROFS_COMPRESSION_INTERLACED }), raw, dst, 'here');
    assert.deepEqual(dst, data.subarray(0, n), `${n} bytes`);
  }
  // Block-aligned la: no rotation.
  const dst = new Uint8Array(4096);
  await decodeExtent(image(), extent({ la: 4096, llen: 4096, algorithm: Z_EROFS_COMPRESSION_INTERLACED }), data, dst, 'here');
  assert.deepEqual(dst, data);
});

test('z: a plain extent longer than its pcluster is corruption', async () => {
  await assert.rejects(
    decodeExtent(image(), extent({ llen: 5000, algorithm: Z_EROFS_COMPRESSION_SHIFTED }), pattern(4096), new Uint8Array(5000), 'here'),
    (e: unknown) => e instanceof ErofsError && e.code === 'EFSCORRUPTED',
  );
});

test('z: 0padding is stripped before the codec sees the stream, and partial follows PARTIAL_REF', async () => {
  const raw = new Uint8Array(4096);
  raw.set([9, 8, 7], 4093);
  let seen: { src: Uint8Array; partial: boolean } | undefined;
  const img = image({ codecs: { lz4: (r) => { seen = { src: r.src, partial: r.partial }; r.dst.fill(1); } } });
  await decodeExtent(img, extent({ llen: 10 }), raw, new Uint8Array(10), 'here');
  assert.deepEqual([...seen!.src], [9, 8, 7]);
  assert.equal(seen!.partial, false);
  await decodeExtent(img, extent({ llen: 10, flags: MAPPED | ENCODED | FULL_MAPPED | PARTIAL_REF }), raw, new Uint8Array(10), 'here');
  assert.equal(seen!.partial, true);
  // Without the ZERO_PADDING feature, LZ4 input is left-aligned with an unknown end: no stripping, partial decoding.
  const old = image({ featureIncompat: 0, codecs: img.codecs! });
  await decodeExtent(old, extent({ llen: 10 }), raw, new Uint8Array(10), 'here');
  assert.equal(seen!.src.length, 4096);
  assert.equal(seen!.partial, true);
});

test('z: an all-zero pcluster and codec exceptions become EFSCORRUPTED', async () => {
  const isCorrupt = (e: unknown): boolean => e instanceof ErofsError && e.code === 'EFSCORRUPTED' && /here/.test(e.message);
  const img = image({ codecs: { lz4: () => { throw new RangeError('offset is out of bounds'); } } });
  await assert.rejects(decodeExtent(img, extent({ llen: 10 }), new Uint8Array(4096), new Uint8Array(10), 'here'), isCorrupt);
  const raw = new Uint8Array(4096);
  raw[4095] = 1;
  await assert.rejects(decodeExtent(img, extent({ llen: 10 }), raw, new Uint8Array(10), 'here'), isCorrupt);
});

test('z: algorithms without a decoder are EOPNOTSUPP', async () => {
  const raw = new Uint8Array(4096);
  raw[4095] = 1;
  await assert.rejects(
    decodeExtent(image({ codecs: {} }), extent({ llen: 10, algorithm: 7 }), raw, new Uint8Array(10), 'here'),
    (e: unknown) => e instanceof ErofsError && e.code === 'EOPNOTSUPP',
  );
});
