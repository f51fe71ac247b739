/**
 * Self-test of the integration harness (test/lib): the kernel's view of
 * three fixture images must equal expectedFor(image) exactly, and the
 * comparator must report deliberate differences (negative controls), so a
 * harness that compares nothing cannot pass.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareTrees, formatMismatches } from './lib/compare.js';
import { canDescribe } from './lib/describe.js';
import { expectedFor, expectedForTree, imageEntry, imagePath, loadManifest, type ManifestEntry } from './lib/fixtures.js';
import { canMount, describeImage, withMount } from './lib/mount.js';
import { debianErofsUtils, describeRun, mountsBelow, run, skipIf, tmpDir } from './lib/tools.js';

/** Loop devices still backed by any of `files` ("" when none), waiting briefly for auto-clear. */
async function loopsOf(files: string[]): Promise<string> {
  let left = '';
  for (let i = 0; i < 20; i++) {
    left = '';
    for (const f of files) left += (await run('losetup', ['-j', f])).stdout.trim();
    if (left === '') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return left;
}

const IMAGES = ['plain.erofs', 'lz4.erofs', 'chunk-8k.erofs'] as const;
const described = new Map<string, ManifestEntry[]>();

for (const file of IMAGES) {
  test(`kernel view of ${file} equals expectedFor(images.json entry)`, async (t) => {
    if (skipIf(t, await canMount('loop'), canDescribe())) return;
    const entry = imageEntry(file);
    const actual = await describeImage(imagePath(file), { mode: 'loop' });
    described.set(file, actual);
    const expected = expectedFor(entry);
    assert.equal(expected.length, entry.paths, 'expectedFor() path count vs images.json "paths"');
    assert.equal(actual.length, entry.paths, 'paths in the mounted image');
    const bad = compareTrees(expected, actual);
    assert.equal(bad.length, 0, formatMismatches(bad));
  });
}

test('negative control: an altered expectation of plain.erofs is reported', async (t) => {
  if (skipIf(t, await canMount('loop'), canDescribe())) return;
  const actual = described.get('plain.erofs') ?? (await describeImage(imagePath('plain.erofs')));
  const expected = expectedFor('plain.erofs');
  const at = (p: string): ManifestEntry => {
    const e = expected.find((x) => x.path === p);
    assert.ok(e, p);
    return e;
  };
  at('/README.txt').sha256 = '0'.repeat(64);
  at('/empty').mode = '0600';
  at('/times/nsec-1').mtime = { sec: 1600000000, nsec: 0 };
  at('/xattr/user-basic').xattrs['user.comment'] = '00';
  delete at('/xattr/namespaces').xattrs['trusted.ns'];
  at('/special/chardev').rdev = { major: 1, minor: 5 };
  at('/links/sym-short').target = '../nope';
  delete at('/links/hard-2').hardlink_group; // /links/hard-2 no longer expected to share an inode
  expected.splice(expected.findIndex((x) => x.path === '/names/a'), 1);
  const bad = compareTrees(expected, actual);
  const want = [
    /^\/README\.txt: sha256 expected/,
    /^\/empty: mode expected "0600", got "0644"/,
    /^\/times\/nsec-1: mtime expected/,
    /^\/xattr\/user-basic: xattr user\.comment expected "00"/,
    /^\/xattr\/namespaces: xattr trusted\.ns expected \(absent\)/,
    /^\/special\/chardev: rdev expected/,
    /^\/links\/sym-short: target expected "\.\.\/nope"/,
    /^\/links\/hard-2: hard links: expected one inode with \[\/links\/hard-2\]/,
    /^\/names\/a: unexpected file/,
  ];
  for (const re of want) assert.ok(bad.some((m) => re.test(m)), `no mismatch matching ${re}; got:\n${formatMismatches(bad)}`);
  // hard-1 and hard-3 still share an inode with hard-2 in the image: reported, nothing else
  const unexplained = bad.filter((m) => !want.some((re) => re.test(m)) && !/^\/(dedupe\/hard-3|links\/hard-1): hard links/.test(m));
  assert.deepEqual(unexplained, []);
});

test('comparator options: fixed mtime, digest xattr, ignore (no mount needed)', () => {
  const base = expectedForTree({ tree: 'lite' });
  assert.equal(base.length, 2146);
  assert.deepEqual(compareTrees(base, base), []);
  // fixed mtime: the manifest has non-fixed mtimes under /times
  const fixed = compareTrees(base, base, { mtime: 'fixed', fixedTime: 1700000000 });
  assert.ok(fixed.some((m) => m.startsWith('/times/nsec-1: mtime expected {"nsec":0,"sec":1700000000}')), formatMismatches(fixed));
  assert.deepEqual(compareTrees(expectedForTree({ tree: 'lite', mtime: 'fixed' }), base, { ignore: ['mtime'] }), []);
  // digest xattr: expected on every non-empty regular file, on nothing else
  const withDigest = expectedForTree({ tree: 'lite', digestXattr: 'trusted.erofs.fingerprint' });
  const readme = withDigest.find((e) => e.path === '/README.txt')!;
  assert.equal(
    readme.xattrs['trusted.erofs.fingerprint'],
    Buffer.concat([Buffer.from('sha256:'), Buffer.from(readme.sha256!, 'hex')]).toString('hex'),
  );
  assert.equal(withDigest.find((e) => e.path === '/empty')!.xattrs['trusted.erofs.fingerprint'], undefined);
  assert.deepEqual(compareTrees(base, withDigest, { digestXattr: 'trusted.erofs.fingerprint' }), []);
  const missing = compareTrees(base, base, { digestXattr: 'trusted.erofs.fingerprint' });
  const nonEmptyFiles = base.filter((e) => e.type === 'file' && e.size).length;
  assert.equal(missing.length, nonEmptyFiles);
  // overrides with null remove a field; excluded paths disappear
  const tar = expectedFor('tar.erofs');
  assert.equal(tar.find((e) => e.path === '/special/fifo')!.hardlink_group, undefined);
  assert.equal(tar.find((e) => e.path === '/special/fifo')!.nlink, 1);
  assert.equal(expectedFor('debian-1.5-lz4hc.erofs').length, 2149);
  assert.ok(expectedFor('debian-1.5-lz4hc.erofs').every((e) => e.mtime.sec === 1700000000 && e.mtime.nsec === 0));
  // lite: /bulk present, nothing below it
  assert.ok(base.some((e) => e.path === '/bulk'));
  assert.ok(!base.some((e) => e.path.startsWith('/bulk/')));
  // the manifest itself is never modified by expectedFor
  assert.ok(Object.isFrozen(loadManifest()[0]));
});

test('withMount: extra devices in loop and file mode, options, cleanup after a failing callback', async (t) => {
  const utils = debianErofsUtils();
  if (skipIf(t, await canMount('loop'), typeof utils === 'string' && utils)) return;
  if (typeof utils === 'string') return;
  // a two-device image: metadata in meta.img, chunk data in blob.img
  const dir = tmpDir('multidev', t);
  const src = join(dir, 'src');
  mkdirSync(src);
  const data = randomBytes(20000);
  writeFileSync(join(src, 'a.bin'), data);
  const meta = join(dir, 'meta.img');
  const blob = join(dir, 'blob.img');
  const r = await run(utils.mkfs, ['--chunksize=4096', `--blobdev=${blob}`, meta, src]);
  assert.equal(r.code, 0, describeRun('mkfs.erofs --blobdev', r));
  for (const mode of ['loop', 'file'] as const) {
    await t.test(`${mode} mode`, async (st) => {
      if (skipIf(st, await canMount(mode))) return;
      const got = await withMount(meta, { mode, devices: [blob], options: ['noacl'] }, (mnt, info) => {
        assert.match(info.options, /^ro,device=[^,]+,noacl$/);
        return readFileSync(join(mnt, 'a.bin'));
      });
      assert.ok(got.equals(data), `${mode}: content read through the extra device`);
      assert.equal(await loopsOf([meta, blob]), '', `${mode}: loop devices released`);
    });
  }
  // the callback fails: the error propagates and the mount is gone
  let seen = '';
  await assert.rejects(
    withMount(imagePath('plain.erofs'), {}, (mnt) => {
      seen = mnt;
      assert.ok(mountsBelow(mnt).includes(mnt), 'mounted while the callback runs');
      throw new Error('deliberate');
    }),
    /deliberate/,
  );
  assert.ok(seen !== '' && mountsBelow(seen).length === 0 && !existsSync(seen), 'unmounted and removed after a throw');
  // a bad image: the mount error propagates, nothing is left behind
  const junk = join(dir, 'junk.img');
  writeFileSync(junk, Buffer.alloc(8192));
  await assert.rejects(withMount(junk, {}, () => 'mounted'), /mount of .*junk\.img .* failed/);
});
