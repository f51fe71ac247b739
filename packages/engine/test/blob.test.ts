/**
 * Blob sharing (the fscache-era design): chunk-based files whose chunks live
 * in a tagged blob read through one space per (domain, blob tag).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobRegistry, PageCache, mount, newCounters } from '@erofs/engine';
import { FakeImage, bytes } from './fake-image.js';

const CS = 4096;
const BLOB = bytes(CS * 8, 21);
const chunk = (i: number) => BLOB.subarray(i * CS, (i + 1) * CS);

function imgs(tag2 = 'sha256:blobx') {
  const i1 = new FakeImage({
    blobs: [{ tag: 'sha256:blobx', data: BLOB }],
    files: {
      '/f1': { chunks: [[1, 0], [1, CS], [1, 2 * CS]], fingerprint: null },
      '/h1': { chunks: [[1, 5 * CS], 'hole'], fingerprint: null },
    },
  });
  const i2 = new FakeImage({
    blobs: [{ tag: tag2, data: BLOB }],
    files: { '/f2': { chunks: [[1, CS], [1, 2 * CS], [1, 3 * CS]], fingerprint: null } },
  });
  return [i1, i2] as const;
}

const cat = (...xs: Uint8Array[]) => new Uint8Array(Buffer.concat(xs));

test('files that differ but share chunks share the blob\'s pages', async () => {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const [i1, i2] = imgs();
  const m1 = await mount(i1, { cache, blobShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, blobShare: true, domainId: 'd' });
  assert.deepEqual(await m1.readFile('/f1'), cat(chunk(0), chunk(1), chunk(2)));
  assert.deepEqual(await m2.readFile('/f2'), cat(chunk(1), chunk(2), chunk(3)));
  assert.equal((await m2.sharing('/f2')).mode, 'blob');
  assert.equal(cache.stats().residentPages, 4, 'chunks 0..3 cached once');
  assert.equal(i1.blobReads + i2.blobReads, 4);
  assert.equal(i1.reads + i2.reads, 0, 'no file-level backing reads: all through the blob');
  assert.equal(m2.stats().hits, 2);
  assert.equal(BlobRegistry.of(cache).size, 1);
  assert.equal(cache.stats().sharedBytes, 4 * CS);
  // Hot path: a second read is served synchronously from the blob pages.
  const h = await m2.open('/f2');
  const out = new Uint8Array(3 * CS);
  assert.equal((await h.read(out, 0, out.length, 0)).bytesRead, 3 * CS);
  assert.deepEqual(out, cat(chunk(1), chunk(2), chunk(3)));
  // Holes read as zeros (through the file's own space); odd offsets across chunks.
  assert.deepEqual(await m1.readFile('/h1'), cat(chunk(5), new Uint8Array(CS)));
  const part = new Uint8Array(5000);
  const h1 = await m1.open('/f1');
  await h1.read(part, 0, 5000, 3000);
  assert.deepEqual(part, cat(chunk(0), chunk(1), chunk(2)).subarray(3000, 8000));
});

test('without blobShare, or in another domain, or with another tag, blob pages are not shared', async () => {
  for (const [o1, o2, tag] of [
    [{}, {}, 'sha256:blobx'],
    [{ blobShare: true, domainId: 'a' }, { blobShare: true, domainId: 'b' }, 'sha256:blobx'],
    [{ blobShare: true, domainId: 'd' }, { blobShare: true, domainId: 'd' }, 'sha256:other'],
  ] as const) {
    const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
    const [i1, i2] = imgs(tag);
    const m1 = await mount(i1, { cache, ...o1 });
    const m2 = await mount(i2, { cache, ...o2 });
    assert.deepEqual(await m1.readFile('/f1'), cat(chunk(0), chunk(1), chunk(2)));
    assert.deepEqual(await m2.readFile('/f2'), cat(chunk(1), chunk(2), chunk(3)));
    assert.equal(cache.stats().residentPages, 6, JSON.stringify([o1, o2, tag]));
  }
});

test('a blob of a different size under the same tag: warning, cached per mount', async () => {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const [i1] = imgs();
  const i2 = new FakeImage({ blobs: [{ tag: 'sha256:blobx', data: BLOB.subarray(0, 4 * CS) }], files: { '/f2': { chunks: [[1, CS]], fingerprint: null } } });
  await mount(i1, { cache, blobShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, blobShare: true, domainId: 'd' });
  assert.deepEqual(m2.warnings.map((w) => w.code), ['BLOB_NOT_SHARED']);
  assert.deepEqual(await m2.readFile('/f2'), chunk(1));
});

test('blob pages live while any member mount does; the last one frees them; fadvise drops a file\'s blob pages', async () => {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const [i1, i2] = imgs();
  const m1 = await mount(i1, { cache, blobShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, blobShare: true, domainId: 'd' });
  await m1.readFile('/f1');
  await m2.readFile('/f2');
  await m2.fadvise('/f2', 'DONTNEED');
  assert.equal(cache.stats().residentPages, 1, 'chunks 1..3 dropped, chunk 0 stays');
  await m2.readFile('/f2');
  await m1.unmount();
  assert.equal(cache.stats().residentPages, 4);
  assert.deepEqual(await m2.readFile('/f2'), cat(chunk(1), chunk(2), chunk(3)), 'filled through the remaining member');
  await m2.unmount();
  assert.equal(cache.stats().residentPages, 0);
  assert.equal(BlobRegistry.of(cache).size, 0);
});

test('concurrent reads of shared chunks from two mounts fill each blob page once', async () => {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const [i1, i2] = imgs();
  const m1 = await mount(i1, { cache, blobShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, blobShare: true, domainId: 'd' });
  const rs = [];
  for (let k = 0; k < 5; k++) rs.push(m1.readFile('/f1'), m2.readFile('/f2'));
  await Promise.all(rs);
  assert.equal(cache.stats().fillPages, 4);
});

test('a miss in a blob space fills through the reading mount\'s own blob, else through the newest member', async () => {
  // Blobs are trusted by tag: give the two images different bytes under one
  // tag, so the bytes cached tell whose source filled them.
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const OTHER = bytes(CS * 8, 22);
  const i1 = new FakeImage({ blobs: [{ tag: 'sha256:blobx', data: BLOB }], files: { '/f1': { chunks: [[1, 0], [1, CS]], fingerprint: null } } });
  const i2 = new FakeImage({ blobs: [{ tag: 'sha256:blobx', data: OTHER }], files: { '/f2': { chunks: [[1, 2 * CS], [1, 3 * CS]], fingerprint: null } } });
  const m1 = await mount(i1, { cache, blobShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, blobShare: true, domainId: 'd' });
  assert.equal(m1.blobSpaces.get(1), m2.blobSpaces.get(1), 'one shared blob space');
  // m2 joined last (the newest member), yet m1's misses read m1's blob.
  assert.deepEqual(await m1.readFile('/f1'), cat(chunk(0), chunk(1)));
  assert.deepEqual([i1.blobReads, i2.blobReads], [2, 0]);
  assert.deepEqual(await m2.readFile('/f2'), OTHER.subarray(2 * CS, 4 * CS));
  assert.deepEqual([i1.blobReads, i2.blobReads], [2, 2]);
  // A read that names no member mount fills through the newest member.
  const space = m1.blobSpaces.get(1)!;
  const out = new Uint8Array(CS);
  assert.equal(await cache.readInto(space, 5 * CS, CS, out, 0, { counters: newCounters() }), CS);
  assert.deepEqual(out, OTHER.subarray(5 * CS, 6 * CS));
  assert.deepEqual([i1.blobReads, i2.blobReads], [2, 3]);
  // Once m1 is gone, its pages stay and its misses are the remaining member's.
  await m1.unmount();
  const m3 = await mount(new FakeImage({ blobs: [{ tag: 'sha256:blobx', data: BLOB }], files: { '/f3': { chunks: [[1, 6 * CS]], fingerprint: null } } }),
    { cache, blobShare: true, domainId: 'd' });
  assert.deepEqual(await m3.readFile('/f3'), chunk(6), 'the reader m3 fills through its own blob although m2 is older');
  assert.deepEqual([i1.blobReads, i2.blobReads], [2, 3]);
});
