/**
 * A forged fingerprint: image F claims the fingerprint of H's file for
 * different content of the same size. What each image reads, exactly:
 *
 *  - different domains: never shared, each reads its own bytes (with or
 *    without verification);
 *  - same domain, no verification (the kernel's trust-the-image semantics):
 *    whoever fills a page decides its bytes for every member. With the
 *    default sharedFill 'reader' a miss is filled through the inode being
 *    read, so F poisons H exactly when F reads a page first; with 'newest'
 *    (the kernel's choice of the head of the ishare list) a miss is filled
 *    through the most recently mounted member, so F mounted last poisons H
 *    even when H reads first;
 *  - same domain, verifyFingerprints on both: F is hashed at its first fill,
 *    refused, and reads its own bytes privately; H always reads its own bytes.
 *    F's pages that were hits on pages H filled read H's (true) bytes;
 *  - a verifying mount never shares with a non-verifying one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IshareRegistry, PageCache, mount, type MountOptions } from '@erofs/engine';
import { nodeSha256Hasher } from '../src/node/hasher.js';
import { FakeImage, bytes, fingerprintOf } from './fake-image.js';

const HONEST = bytes(4096 * 6, 11);
const EVIL = bytes(4096 * 6, 66);

function pair() {
  const h = new FakeImage({ files: { '/lib.so': { data: HONEST } } });
  const f = new FakeImage({ files: { '/lib.so': { data: EVIL, fingerprint: fingerprintOf(HONEST) } } });
  return { h, f };
}

type Opts = Omit<MountOptions, 'cache'>;

async function setup(hOpts: Opts, fOpts: Opts, sharedFill: 'reader' | 'newest' = 'reader', order: 'hf' | 'fh' = 'hf') {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0, sharedFill });
  const { h, f } = pair();
  let mh, mf;
  if (order === 'hf') {
    mh = await mount(h, { cache, ...hOpts });
    mf = await mount(f, { cache, ...fOpts });
  } else {
    mf = await mount(f, { cache, ...fOpts });
    mh = await mount(h, { cache, ...hOpts });
  }
  // Look the file up in mount order: inodes join their shared inode when
  // instantiated (iget on lookup), which fixes the member order.
  for (const m of order === 'hf' ? [mh, mf] : [mf, mh]) await m.sharing('/lib.so');
  return { cache, h, f, mh, mf };
}

const share = (domainId: string, verify = false): Opts => ({ inodeShare: true, domainId, verifyFingerprints: verify });

test('same domain, no verification, forger reads first: the honest image reads the forged bytes (kernel semantics)', async () => {
  const { mh, mf, h } = await setup(share('d'), share('d'));
  assert.deepEqual(await mf.readFile('/lib.so'), EVIL);
  assert.deepEqual(await mh.readFile('/lib.so'), EVIL, 'poisoned: this is what trusting the image means');
  assert.equal(h.reads, 0);
});

test('same domain, no verification, honest reads first: both read the honest bytes', async () => {
  const { mh, mf, f } = await setup(share('d'), share('d'));
  assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
  assert.deepEqual(await mf.readFile('/lib.so'), HONEST, 'the forger sees the bytes it claimed');
  assert.equal(f.reads, 0);
});

test('same domain, no verification, sharedFill newest (the kernel\'s pick): the forger whose inode joined last poisons even when the honest image reads first', async () => {
  const { mh } = await setup(share('d'), share('d'), 'newest', 'hf');
  assert.deepEqual(await mh.readFile('/lib.so'), EVIL);
  // Mounted the other way round, the honest inode is the newest and fills.
  const r = await setup(share('d'), share('d'), 'newest', 'fh');
  assert.deepEqual(await r.mf.readFile('/lib.so'), HONEST);
  assert.deepEqual(await r.mh.readFile('/lib.so'), HONEST);
});

for (const sharedFill of ['reader', 'newest'] as const) {
  test(`same domain, verification (${sharedFill}): the forger is refused at its first fill and can never change the honest image's bytes`, async () => {
    for (const first of ['forger', 'honest'] as const) {
      for (const order of ['hf', 'fh'] as const) {
        const { mh, mf, cache } = await setup(share('d', true), share('d', true), sharedFill, order);
        // Which member fills: the reader ('reader'), or the newest member ('newest': F when order is hf).
        const forgerFills = sharedFill === 'reader' ? first === 'forger' : order === 'hf';
        if (first === 'forger') {
          assert.deepEqual(await mf.readFile('/lib.so'), forgerFills ? EVIL : HONEST);
          assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
        } else {
          assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
          // 'reader': F's pages are all hits on pages H filled; F is never filled through, never refused.
          // 'newest' hf: H's read already refused F (tried first), so F reads privately.
          assert.deepEqual(await mf.readFile('/lib.so'), forgerFills ? EVIL : HONEST);
        }
        assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
        const refused = mf.warnings.filter((w) => w.code === 'ISHARE_REFUSED').length;
        assert.equal(refused, forgerFills ? 1 : 0);
        assert.equal((await mf.sharing('/lib.so')).mode, forgerFills ? 'private' : 'shared');
        assert.deepEqual(mh.warnings, []);
        await mh.unmount();
        await mf.unmount();
        assert.equal(cache.stats().residentBytes, 0);
      }
    }
  });
}

test('verification: a forger hitting pages the honest image filled reads them; its first miss refuses it and that read is all its own bytes', async () => {
  const { mh, mf } = await setup(share('d', true), share('d', true));
  const hh = await mh.open('/lib.so');
  await hh.read(new Uint8Array(3 * 4096), 0, 3 * 4096, 0); // pages 0..2 filled through H (verified)
  const fh = await mf.open('/lib.so');
  const first = new Uint8Array(3 * 4096);
  await fh.read(first, 0, first.length, 0);
  assert.deepEqual(first, HONEST.subarray(0, 3 * 4096), 'hits: the shared (verified) bytes');
  assert.equal(fh.sharing().mode, 'shared');
  const all = new Uint8Array(HONEST.length);
  await fh.read(all, 0, all.length, 0); // pages 3..5 miss: fill through F -> hash -> refused -> retried privately
  assert.deepEqual(all, EVIL);
  assert.equal(fh.sharing().mode, 'private');
  assert.equal(fh.sharing().reason, 'fingerprint-mismatch');
  assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
  assert.equal((await mh.sharing('/lib.so')).members, 1);
});

test('verification is done once per (member, shared inode), not per page', async () => {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const { h } = pair();
  const h2 = new FakeImage({ files: { '/lib.so': { data: HONEST } } });
  const m1 = await mount(h, { cache, ...share('d', true), hasher: nodeSha256Hasher });
  const m2 = await mount(h2, { cache, ...share('d', true) });
  const f1 = await m1.open('/lib.so');
  const f2 = await m2.open('/lib.so');
  const buf = new Uint8Array(4096);
  // Alternate members page by page: each page a separate miss and fill.
  await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? f2 : f1).read(buf.slice(), 0, 4096, i * 4096)));
  const reg = IshareRegistry.of(cache);
  assert.equal(reg.size, 1);
  const shared = (f1.inode.member!).shared;
  assert.equal(shared.verifications, 2, 'one hash per member');
  // 6 page fills + one whole-file hash read per member (files under 1 MiB are one read).
  assert.equal(h.reads + h2.reads, 6 + 2);
  assert.ok(m1.warnings.length === 0 && m2.warnings.length === 0);
});

test('different domains, with or without verification: never shared, each reads its own bytes', async () => {
  for (const verify of [false, true]) {
    for (const first of ['forger', 'honest']) {
      const { mh, mf, cache } = await setup(share('honest', verify), share('evil', verify));
      const reads = first === 'forger' ? [mf, mh] : [mh, mf];
      for (const m of reads) await m.readFile('/lib.so');
      assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
      assert.deepEqual(await mf.readFile('/lib.so'), EVIL);
      assert.equal(cache.stats().residentPages, 12);
      // Alone in its domain, the forger harms no one; with verification its
      // own shared inode still refuses it (its content does not match).
      assert.deepEqual(mf.warnings.map((w) => w.code), verify ? ['ISHARE_REFUSED'] : []);
    }
  }
});

test('a verifying mount never shares with a non-verifying one, even in the same domain', async () => {
  const { mh, mf } = await setup(share('d', true), share('d', false));
  assert.deepEqual(await mf.readFile('/lib.so'), EVIL);
  assert.deepEqual(await mh.readFile('/lib.so'), HONEST);
  assert.notEqual((await mh.sharing('/lib.so')).spaceId, (await mf.sharing('/lib.so')).spaceId);
});

test('verification refuses values that are not sha256 fingerprints', async () => {
  const cache = new PageCache({ maxBytes: 1 << 24, readaheadPages: 0 });
  const fp = new TextEncoder().encode('custom-key');
  const a = new FakeImage({ files: { '/f': { data: HONEST, fingerprint: fp } } });
  const b = new FakeImage({ files: { '/f': { data: HONEST, fingerprint: fp } } });
  const ma = await mount(a, { cache, ...share('d', true) });
  const mb = await mount(b, { cache, ...share('d', true) });
  assert.deepEqual(await ma.readFile('/f'), HONEST);
  assert.deepEqual(await mb.readFile('/f'), HONEST);
  assert.equal((await ma.sharing('/f')).reason, 'fingerprint-mismatch');
  assert.equal((await mb.sharing('/f')).reason, 'fingerprint-mismatch');
  // Hex spelling of the digest (what the erofs docs describe) is accepted.
  const hex = Array.from(fingerprintOf(HONEST).subarray(7), (x) => x.toString(16).padStart(2, '0')).join('');
  const hfp = new TextEncoder().encode('sha256:' + hex);
  const mc = await mount(new FakeImage({ files: { '/f': { data: HONEST, fingerprint: hfp } } }), { cache, ...share('d', true) });
  assert.deepEqual(await mc.readFile('/f'), HONEST);
  assert.equal((await mc.sharing('/f')).mode, 'shared');
});
