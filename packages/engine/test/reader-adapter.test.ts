/**
 * The engine over the real reader: fixture images mounted through
 * fromReaderImage() read back exactly what the reader reads, and fixture
 * images with fingerprints share (and verify) as the rules say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bufferSource, openImage } from '@erofs/reader';
import { PageCache, fromReaderImage, mount } from '@erofs/engine';

// EROFS_SHARED is set by scripts/test.mjs; else ../shared beside the repository
const FIX = process.env['EROFS_SHARED']
  ? `${process.env['EROFS_SHARED']}/fixtures/images/`
  : fileURLToPath(new URL('../../../../shared/fixtures/images/', import.meta.url));

async function open(name: string) {
  const img = await openImage(bufferSource(new Uint8Array(readFileSync(FIX + name))));
  return { img, backing: fromReaderImage(img) };
}

const NAMES = ['plain.erofs', 'lz4.erofs', 'chunk-8k.erofs', 'blk512-lz4.erofs', 'digest-fingerprint.erofs', 'digest-fingerprint-lz4hc.erofs', 'lz4-fragments-dedupe.erofs'];

for (const name of NAMES) {
  test(`engine reads ${name} exactly as the reader does (small cache, sharing on)`, async (t) => {
    if (!existsSync(FIX + name)) return t.skip(`skipped: fixture ${name} missing`);
    const { img, backing } = await open(name);
    const cache = new PageCache({ maxBytes: 64 * 1024 });
    const m = await mount(backing, { cache, inodeShare: true, domainId: 'd', verifyFingerprints: true });
    let files = 0;
    for await (const e of m.walk('/')) {
      if (e.type !== 'file') continue;
      const want = await img.readFile(e.path);
      assert.deepEqual(await m.readFile(e.path), want, e.path);
      files++;
    }
    assert.ok(files > 0);
    assert.deepEqual(m.warnings.filter((w) => w.code === 'ISHARE_REFUSED'), [], 'real fingerprints verify');
    await m.unmount();
    assert.equal(cache.stats().residentBytes, 0);
  });
}

test('two mounts of a fingerprinted fixture share every fingerprinted file', async (t) => {
  const name = 'digest-fingerprint.erofs';
  if (!existsSync(FIX + name)) return t.skip(`skipped: fixture ${name} missing`);
  const a = await open(name);
  const b = await open(name);
  if (!a.backing.compatIshare) return t.skip('skipped: fixture has no COMPAT_ISHARE_XATTRS');
  const one = new PageCache({ maxBytes: 1 << 28 });
  const two = new PageCache({ maxBytes: 1 << 28 });
  const m0 = await mount(a.backing, { cache: one, inodeShare: true, domainId: 'd' });
  const m1 = await mount(a.backing, { cache: two, inodeShare: true, domainId: 'd', verifyFingerprints: true });
  const m2 = await mount(b.backing, { cache: two, inodeShare: true, domainId: 'd', verifyFingerprints: true });
  let shared = 0;
  for await (const e of m0.walk('/')) {
    if (e.type !== 'file') continue;
    await m0.readFile(e.path);
    assert.deepEqual(await m1.readFile(e.path), await m2.readFile(e.path));
    if ((await m2.sharing(e.path)).mode === 'shared') shared++;
  }
  assert.ok(shared > 0, 'some files carry fingerprints');
  // Unfingerprinted files are cached per mount, so two mounts cost at most
  // one mount plus their private pages.
  const privateBytes = m1.stats().privateBytes + m2.stats().privateBytes;
  assert.equal(two.stats().residentBytes, one.stats().residentBytes + privateBytes / 2);
  assert.deepEqual(m2.warnings, []);
});
