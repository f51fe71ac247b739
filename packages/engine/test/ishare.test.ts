/**
 * Inode page cache sharing with the Linux 7.0 rules (fs/erofs/ishare.c),
 * against in-memory images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErofsError } from '@erofs/format';
import { IshareRegistry, PageCache, mount, type EngineWarning } from '@erofs/engine';
import { FakeImage, bytes } from './fake-image.js';

const A = bytes(4096 * 5 + 123, 1); // 6 pages
const B = bytes(4096 * 2, 2);
const enc = new TextEncoder();

function images(extra: Record<string, unknown> = {}) {
  const i1 = new FakeImage({ files: { '/a': { data: A }, '/b': { data: B }, '/only1': { data: bytes(100, 3) } }, ...extra });
  const i2 = new FakeImage({ files: { '/x/a': { data: A }, '/b': { data: B }, '/only2': { data: bytes(100, 4) } }, ...extra });
  return [i1, i2] as const;
}

const newCache = (maxBytes = 1 << 24) => new PageCache({ maxBytes, readaheadPages: 0 });

test('identical fingerprinted files of two images share one address space', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  assert.deepEqual(await m1.readFile('/a'), A);
  assert.deepEqual(await m2.readFile('/x/a'), A);
  assert.equal(i1.readsByPath.get('/a'), 1);
  assert.equal(i2.readsByPath.get('/x/a'), undefined, 'second image hits, never reads its backing');
  assert.equal(cache.stats().residentPages, 6, 'pages of /a counted once');
  const s1 = await m1.sharing('/a');
  const s2 = await m2.sharing('/x/a');
  assert.equal(s1.mode, 'shared');
  assert.equal(s1.spaceId, s2.spaceId);
  assert.equal(s2.members, 2);
  assert.equal((await m1.sharing('/only1')).mode, 'shared', 'a unique fingerprinted file has a shared inode of one member');
  assert.equal(m2.stats().hits, 6);
  assert.equal(m2.stats().misses, 0);
  assert.equal(m1.stats().sharedBytes, 6 * 4096);
  assert.equal(m1.stats().privateBytes, 0);
  assert.equal(cache.stats().sharedBytes, 6 * 4096);
});

test('without inodeShare nothing is shared: each mount caches its own copy', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache });
  const m2 = await mount(i2, { cache, domainId: 'd' });
  await m1.readFile('/a');
  await m2.readFile('/x/a');
  assert.equal(cache.stats().residentPages, 12);
  assert.equal((await m1.sharing('/a')).mode, 'private');
  assert.equal(i2.readsByPath.get('/x/a'), 1);
  assert.equal(m1.stats().privateBytes, 6 * 4096);
});

test('one mount with sharing and one without do not share', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache });
  await m1.readFile('/a');
  await m2.readFile('/x/a');
  assert.equal(cache.stats().residentPages, 12);
});

test('different domains never share', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd1' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd2' });
  await m1.readFile('/a');
  await m2.readFile('/x/a');
  assert.equal(cache.stats().residentPages, 12);
  assert.notEqual((await m1.sharing('/a')).spaceId, (await m2.sharing('/x/a')).spaceId);
  assert.equal(i2.readsByPath.get('/x/a'), 1);
});

test('the key is value bytes + domain bytes, and the domain is compared on its own too', async () => {
  // The kernel's key for (value "...ab", domain "c") equals (value "...a", domain "bc").
  const cache = newCache();
  const fp1 = enc.encode('key-ab');
  const fp2 = enc.encode('key-a');
  const i1 = new FakeImage({ files: { '/f': { data: A, fingerprint: fp1 } } });
  const i2 = new FakeImage({ files: { '/f': { data: A, fingerprint: fp2 } } });
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'c' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'bc' });
  assert.notEqual((await m1.sharing('/f')).spaceId, (await m2.sharing('/f')).spaceId);
  // Same value, same domain: shared even though the value is no sha256.
  const m3 = await mount(new FakeImage({ files: { '/g': { data: A, fingerprint: fp1 } } }), { cache, inodeShare: true, domainId: 'c' });
  assert.equal((await m1.sharing('/f')).spaceId, (await m3.sharing('/g')).spaceId);
});

test('inodeShare without domainId fails the mount with EINVAL', async () => {
  const cache = newCache();
  const [i1] = images();
  await assert.rejects(mount(i1, { cache, inodeShare: true }), (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL');
  await assert.rejects(mount(i1, { cache, inodeShare: true, domainId: '' }), (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL');
  await assert.rejects(mount(i1, { cache, blobShare: true }), (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL');
});

test('an image without COMPAT_ISHARE_XATTRS mounts with sharing off and one warning', async () => {
  const cache = newCache();
  const [i1, i2] = images({ compatIshare: false });
  const seen: EngineWarning[] = [];
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd', onWarning: (w) => seen.push(w) });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  assert.deepEqual(seen.map((w) => w.code), ['ISHARE_NO_COMPAT']);
  assert.deepEqual(m1.warnings, seen);
  assert.equal(m1.inodeShare, false);
  await m1.readFile('/a');
  await m2.readFile('/x/a');
  assert.equal(cache.stats().residentPages, 12);
  assert.equal((await m1.sharing('/a')).mode, 'private');
});

test('a size different from the shared inode\'s: warning, not shared', async () => {
  const cache = newCache();
  const fp = enc.encode('sha256:same-claimed-fingerprint');
  const i1 = new FakeImage({ files: { '/f': { data: A, fingerprint: fp } } });
  const i2 = new FakeImage({ files: { '/f': { data: A.subarray(0, 5000), fingerprint: fp } } });
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  assert.equal((await m1.sharing('/f')).mode, 'shared');
  const s2 = await m2.sharing('/f');
  assert.equal(s2.mode, 'private');
  assert.equal(s2.reason, 'size-mismatch');
  assert.deepEqual(m2.warnings.map((w) => w.code), ['ISHARE_NOT_SHARED']);
  assert.deepEqual(await m2.readFile('/f'), A.subarray(0, 5000));
  assert.deepEqual(await m1.readFile('/f'), A);
});

test('plain and compressed files with the same fingerprint do not share', async () => {
  const cache = newCache();
  const i1 = new FakeImage({ files: { '/f': { data: A, readPath: 'plain' } } });
  const i2 = new FakeImage({ files: { '/f': { data: A, readPath: 'compressed' } } });
  const i3 = new FakeImage({ files: { '/f': { data: A, readPath: 'compressed' } } });
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  const m3 = await mount(i3, { cache, inodeShare: true, domainId: 'd' });
  // Inodes join when first used (as iget runs on lookup): the plain one first.
  assert.equal((await m1.sharing('/f')).mode, 'shared');
  assert.equal((await m2.sharing('/f')).reason, 'read-path-mismatch');
  assert.equal((await m3.sharing('/f')).reason, 'read-path-mismatch', 'the plain file created the shared inode first');
  // Reversed order: a compressed one first, then another compressed one shares.
  const c2 = newCache();
  const n2 = await mount(i2, { cache: c2, inodeShare: true, domainId: 'd' });
  const n3 = await mount(i3, { cache: c2, inodeShare: true, domainId: 'd' });
  const n1 = await mount(i1, { cache: c2, inodeShare: true, domainId: 'd' });
  assert.equal((await n2.sharing('/f')).spaceId, (await n3.sharing('/f')).spaceId);
  assert.equal((await n1.sharing('/f')).reason, 'read-path-mismatch');
  assert.deepEqual(await n1.readFile('/f'), A);
  assert.deepEqual(await n3.readFile('/f'), A);
  assert.equal(i2.reads + i3.reads, 1);
});

test('a fingerprint of length 0 or longer than the block size is not shared', async () => {
  const cache = newCache();
  const mk = (fp: Uint8Array) => new FakeImage({ blockSize: 512, files: { '/f': { data: A, fingerprint: fp } } });
  for (const fp of [new Uint8Array(0), new Uint8Array(513).fill(7)]) {
    const m1 = await mount(mk(fp), { cache, inodeShare: true, domainId: 'd' });
    const m2 = await mount(mk(fp), { cache, inodeShare: true, domainId: 'd' });
    assert.equal((await m1.sharing('/f')).reason, 'bad-fingerprint-length');
    assert.notEqual((await m1.sharing('/f')).spaceId, (await m2.sharing('/f')).spaceId);
  }
  // Exactly the block size is fine.
  const fp = new Uint8Array(512).fill(7);
  const m1 = await mount(mk(fp), { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(mk(fp), { cache, inodeShare: true, domainId: 'd' });
  assert.equal((await m1.sharing('/f')).spaceId, (await m2.sharing('/f')).spaceId);
});

test('files without a fingerprint read privately, silently', async () => {
  const cache = newCache();
  const m = await mount(new FakeImage({ files: { '/f': { data: A, fingerprint: null } } }), { cache, inodeShare: true, domainId: 'd' });
  const s = await m.sharing('/f');
  assert.equal(s.mode, 'private');
  assert.equal(s.reason, 'no-fingerprint');
  assert.deepEqual(m.warnings, []);
});

test('hard links are one inode: one membership, one space', async () => {
  const cache = newCache();
  const img = new FakeImage({ files: { '/f': { data: A }, '/g': { linkOf: '/f' } } });
  const m = await mount(img, { cache, inodeShare: true, domainId: 'd' });
  assert.equal((await m.sharing('/f')).members, 1);
  assert.equal((await m.sharing('/g')).members, 1);
  await m.readFile('/f');
  await m.readFile('/g');
  assert.equal(img.reads, 1);
});

test('concurrent misses from two mounts on one shared page decompress once', async () => {
  const cache = newCache();
  const i1 = new FakeImage({ latencyMs: 5, files: { '/a': { data: A, readPath: 'compressed' } } });
  const i2 = new FakeImage({ latencyMs: 5, files: { '/a': { data: A, readPath: 'compressed' } } });
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  const hs = await Promise.all([m1.open('/a'), m2.open('/a')]);
  const reads = [];
  for (let k = 0; k < 10; k++) {
    for (const h of hs) reads.push(h.read(new Uint8Array(4096 * 6), 0, 4096 * 6, 0));
  }
  const got = await Promise.all(reads);
  for (const g of got) assert.deepEqual(g.buffer.subarray(0, g.bytesRead), A);
  assert.equal(i1.reads + i2.reads, 1, 'one backing read (one decompression) for all 20 readers');
  assert.equal(cache.stats().fills, 1);
  assert.equal(cache.stats().fillPages, 6);
});

test('a member unmounted while another still reads: the other goes on, filling through itself', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  const h1 = await m1.open('/a');
  const h2 = await m2.open('/x/a');
  const buf = new Uint8Array(4096);
  await h1.read(buf, 0, 4096, 0); // page 0 filled through m1
  const inflight = h1.read(new Uint8Array(4096), 0, 4096, 4096); // page 1 in flight through m1
  await m1.unmount();
  assert.deepEqual((await inflight).buffer, A.subarray(4096, 8192), 'a read in flight finishes');
  await assert.rejects(h1.read(buf, 0, 10, 0), (e: any) => e.code === 'EINVAL');
  await assert.rejects(m1.readFile('/a'), (e: any) => e.code === 'EINVAL');
  assert.equal((await h2.read(buf, 0, 4096, 0)).bytesRead, 4096);
  assert.deepEqual(buf, A.subarray(0, 4096));
  assert.equal(i2.reads, 0, 'pages filled through the gone member stay');
  const out = new Uint8Array(A.length);
  await h2.read(out, 0, A.length, 0);
  assert.deepEqual(out, A);
  assert.equal(i2.readsByPath.get('/x/a'), 1, 'the rest was filled through the remaining member');
  assert.equal((await m2.sharing('/x/a')).members, 1);
});

test('the last member leaving frees the shared inode and its pages', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  await m1.readFile('/a');
  await m2.readFile('/x/a');
  await m2.readFile('/only2');
  const reg = IshareRegistry.of(cache);
  assert.equal(reg.size, 2);
  await m1.unmount();
  assert.equal(cache.stats().residentPages, 7, 'pages stay while m2 is a member');
  assert.equal(reg.size, 2);
  await m2.unmount();
  assert.equal(cache.stats().residentPages, 0);
  assert.equal(cache.stats().residentBytes, 0);
  assert.equal(cache.stats().spaces, 0);
  assert.equal(reg.size, 0);
  assert.equal(cache.frameBytes(), 0, 'no page frame leaked');
  // A new mount starts from an empty shared inode.
  const m3 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  assert.equal((await m3.sharing('/a')).members, 1);
  await m3.readFile('/a');
  assert.equal(i1.readsByPath.get('/a'), 2);
});

test('unmount frees private spaces too', async () => {
  const cache = newCache();
  const [i1] = images();
  const m1 = await mount(i1, { cache });
  await m1.readFile('/a');
  await m1.readFile('/b');
  assert.equal(cache.stats().residentPages, 8);
  await m1.unmount();
  assert.equal(cache.stats().residentPages, 0);
  assert.equal(cache.stats().spaces, 0);
});

test('eviction under a small budget counts shared pages once', async () => {
  // Budget of 8 pages; two images with the same 6-page file plus a 2-page file each.
  const cache = new PageCache({ maxBytes: 8 * 4096, readaheadPages: 0 });
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  await m1.readFile('/a');
  await m2.readFile('/x/a');
  await m1.readFile('/b');
  await m2.readFile('/b');
  assert.equal(cache.stats().residentPages, 8, 'a + b shared: 8 pages fit');
  assert.equal(cache.stats().evictions, 0);
  // Without sharing the same reads overflow the budget.
  const c2 = new PageCache({ maxBytes: 8 * 4096, readaheadPages: 0 });
  const n1 = await mount(i1, { cache: c2 });
  const n2 = await mount(i2, { cache: c2 });
  for (const [m, p] of [[n1, '/a'], [n2, '/x/a'], [n1, '/b'], [n2, '/b']] as const) assert.ok((await m.readFile(p)).length > 0);
  assert.equal(c2.stats().residentPages, 8);
  assert.equal(c2.stats().evictions, 8);
  // Under pressure, reads remain correct and within budget.
  const c3 = new PageCache({ maxBytes: 3 * 4096, readaheadPages: 2 });
  const k1 = await mount(i1, { cache: c3, inodeShare: true, domainId: 'd' });
  const k2 = await mount(i2, { cache: c3, inodeShare: true, domainId: 'd' });
  for (let r = 0; r < 3; r++) {
    assert.deepEqual(await k1.readFile('/a'), A);
    assert.deepEqual(await k2.readFile('/x/a'), A);
    assert.deepEqual(await k2.readFile('/b'), B);
  }
  assert.ok(c3.stats().residentBytes <= 3 * 4096);
  assert.ok(c3.stats().evictions > 0);
});

test('fadvise DONTNEED drops the file\'s pages through the shared space', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd' });
  const m2 = await mount(i2, { cache, inodeShare: true, domainId: 'd' });
  await m1.readFile('/a');
  await m1.readFile('/b');
  assert.equal(cache.stats().residentPages, 8);
  const h = await m2.open('/x/a');
  await h.fadvise('DONTNEED');
  assert.equal(cache.stats().residentPages, 2, 'the shared /a pages are gone for everyone');
  assert.equal(cache.stats().drops, 6);
  await m1.readFile('/a');
  assert.equal(i1.readsByPath.get('/a'), 2);
  // Private file, partial range.
  const m3 = await mount(new FakeImage({ files: { '/p': { data: A, fingerprint: null } } }), { cache });
  await m3.readFile('/p');
  await m3.fadvise('/p', 'DONTNEED', 4096, 8192);
  assert.equal(m3.stats().privatePages, 4);
  assert.equal(m3.stats().drops, 2);
  // WILLNEED reads ahead.
  await m3.fadvise('/p', 'WILLNEED');
  assert.equal(m3.stats().privatePages, 6);
});

test('stats per mount and per address space', async () => {
  const cache = newCache();
  const [i1, i2] = images();
  const m1 = await mount(i1, { cache, inodeShare: true, domainId: 'd', name: 'one' });
  const m2 = await mount(i2, { cache, name: 'two' });
  await m1.readFile('/a');
  await m1.readFile('/a');
  await m2.readFile('/b');
  const s1 = m1.stats();
  assert.equal(s1.name, 'one');
  assert.equal(s1.misses, 6);
  assert.equal(s1.hits, 6);
  assert.equal(s1.fills, 1);
  assert.equal(s1.sharedSpaces, 1);
  const sp = m1.spaceStats();
  assert.equal(sp.length, 1);
  assert.equal(sp[0]!.kind, 'inode-share');
  assert.equal(sp[0]!.residentPages, 6);
  assert.equal(sp[0]!.hits, 6);
  assert.equal(m2.stats().privateBytes, 8192);
  const t = cache.stats();
  assert.equal(t.hits, 6);
  assert.equal(t.misses, 8);
  assert.equal(t.residentBytes, 8 * 4096);
});

test('the reader-like API passes metadata through; data goes through the cache', async () => {
  const cache = newCache();
  const [i1] = images();
  const m = await mount(i1, { cache });
  assert.deepEqual((await m.readdir('/')).sort(), ['a', 'b', 'only1']);
  const ents = await m.readdir('/', { withFileTypes: true });
  assert.ok(ents.every((e) => e.type === 'file'));
  assert.equal((await m.stat('/a')).size, A.length);
  const all = [];
  for await (const e of m.walk()) all.push(e.path);
  assert.deepEqual(all.sort(), ['/a', '/b', '/only1']);
  assert.deepEqual(await m.listxattr('/a'), ['trusted.erofs.fingerprint']);
  const h = await m.open('/a');
  const buf = new Uint8Array(1000);
  let got = 0;
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { bytesRead } = await h.read(buf);
    if (bytesRead === 0) break;
    chunks.push(buf.slice(0, bytesRead));
    got += bytesRead;
  }
  assert.equal(got, A.length);
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(A));
  assert.equal(h.readCached(buf, 0, 1000, 0), 1000);
  await h.close();
  await assert.rejects(h.read(buf), (e: any) => e.code === 'EINVAL');
  await assert.rejects(m.readFile('/'), (e: any) => e.code === 'EISDIR');
  await assert.rejects(m.readFile('/nope'), (e: any) => e.code === 'ENOENT');
});
