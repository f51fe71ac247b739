/**
 * `mkfs-erofs --tar=f` on a pax tarball of the fixture source tree (GNU tar,
 * `--format=posix --xattrs --xattrs-include='*' --numeric-owner`), from a
 * file and from stdin, plain, gzip and zstd: each image, mounted by the
 * kernel, must equal source.manifest.json (types, modes, owners, nlink,
 * sizes, mtimes with nanoseconds, content, symlink targets, device numbers,
 * hard links, xattrs and ACLs). Also --ishare_key fingerprints computed while
 * streaming, --ungzip=FILE, and --aufs / --ovlfs-strip on a small tarball.
 * `--tar=i` (index mode) on a pax tarball of the lite tree: the image,
 * mounted file-backed with the tar as its extra device, and our reader given
 * the tar, must equal the manifest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compareTrees, formatMismatches } from './lib/compare.js';
import { canDescribe } from './lib/describe.js';
import { expectedForTree } from './lib/fixtures.js';
import { fileSource, openImageFile } from '@erofs/reader/node';
import { canMount, describeImage } from './lib/mount.js';
import { fixtureSourceTree, liteSourceTree } from './lib/source-tree.js';
import { describeWithLibrary } from './reader-helpers.js';
import { cliMissing, describeRun, run, runCli, skipIf, tmpDir, which } from './lib/tools.js';
import { makeTar, type MemberSpec } from '../packages/oci/test/lib.js';

const TAR_ARGS = ['--format=posix', '--xattrs', '--xattrs-include=*', '--numeric-owner'];

/**
 * GNU tar records hard links only for regular files: the two names of the
 * hard-linked FIFO arrive as two separate FIFOs, so the tarball (not the
 * conversion) makes them two inodes.
 */
const TAR_OVERRIDES = {
  '/special/fifo': { nlink: 1, hardlink_group: null },
  '/special/fifo-hardlink': { nlink: 1, hardlink_group: null },
};

describe('mkfs-erofs --tar=f through the kernel', { concurrency: 2 }, () => {
  let work = '';
  let skip: string | null = null;
  const tars: Record<string, string> = {};

  before(async () => {
    skip = cliMissing('mkfs-erofs') ?? canDescribe() ?? (await canMount()) ?? (which('tar') ? null : 'GNU tar not found')
      ?? (which('zstd') ? null : 'zstd not found') ?? (which('gzip') ? null : 'gzip not found');
    if (skip) return;
    const t = await fixtureSourceTree();
    if ('skip' in t) {
      skip = t.skip;
      return;
    }
    work = tmpDir('tar-cli');
    tars['plain'] = join(work, 'src.tar');
    const r = await run('tar', [...TAR_ARGS, '-C', t.path, '-cf', tars['plain'], '.']);
    assert.equal(r.code, 0, describeRun('tar', r));
    const g = await run('gzip', ['-k', '-6', tars['plain']]);
    assert.equal(g.code, 0, describeRun('gzip', g));
    tars['gzip'] = `${tars['plain']}.gz`;
    const z = await run('zstd', ['-q', '-3', tars['plain'], '-o', `${tars['plain']}.zst`]);
    assert.equal(z.code, 0, describeRun('zstd', z));
    tars['zstd'] = `${tars['plain']}.zst`;
  });

  for (const comp of ['plain', 'gzip', 'zstd'] as const) {
    for (const via of ['file', 'stdin'] as const) {
      it(`${comp} tarball from ${via} matches the manifest`, async (t) => {
        if (skipIf(t, skip)) return;
        const img = join(work, `${comp}-${via}.erofs`);
        const r = via === 'file'
          ? await runCli('mkfs-erofs', ['--quiet', '--tar=f', img, tars[comp]!])
          : await runCli('mkfs-erofs', ['--quiet', '--tar=f', img, ...(comp === 'gzip' ? ['-'] : [])], { input: readFileSync(tars[comp]!) });
        assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
        const got = await describeImage(img);
        const mism = compareTrees(expectedForTree({ overrides: TAR_OVERRIDES }), got);
        assert.deepEqual(mism, [], formatMismatches(mism));
      });
    }
  }

  it('--ishare_key fingerprints every file while streaming (gzip, -b 512)', async (t) => {
    if (skipIf(t, skip)) return;
    const key = 'trusted.erofs.fingerprint';
    const img = join(work, 'fp.erofs');
    const r = await runCli('mkfs-erofs', ['--quiet', '-b512', `--ishare_key=${key}`, '--tar=f', img, tars['gzip']!]);
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    const mism = compareTrees(expectedForTree({ digestXattr: key, overrides: TAR_OVERRIDES }), await describeImage(img));
    assert.deepEqual(mism, [], formatMismatches(mism));
  });

  it('--ungzip=FILE keeps the decompressed tar (byte-identical); nothing else is written', async (t) => {
    if (skipIf(t, skip)) return;
    const dir = tmpDir('tar-dump', t);
    const img = join(dir, 'img.erofs');
    const dump = join(dir, 'layer.tar');
    const r = await runCli('mkfs-erofs', ['--quiet', `--ungzip=${dump}`, '--tar=f', img, tars['gzip']!]);
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
    assert.equal(sha(dump), sha(tars['plain']!));
    assert.deepEqual(readdirSync(dir).sort(), ['img.erofs', 'layer.tar']);
  });

  it('--ungzip on a zstd stream fails cleanly (forced codec)', async (t) => {
    if (skipIf(t, skip)) return;
    const dir = tmpDir('tar-force', t);
    const r = await runCli('mkfs-erofs', ['--quiet', '--ungzip', '--tar=f', join(dir, 'x.erofs'), tars['zstd']!]);
    assert.equal(r.code, 1, describeRun('mkfs-erofs', r));
    assert.match(r.stderr, /^mkfs-erofs: bad gzip stream/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('--aufs turns .wh. entries into overlayfs whiteouts; --ovlfs-strip drops them', async (t) => {
    if (skipIf(t, skip)) return;
    const dir = tmpDir('tar-aufs', t);
    const members: MemberSpec[] = [
      { name: 'd/', type: '5', mode: 0o755 },
      { name: 'd/keep', body: 'kept\n' },
      { name: 'd/.wh.gone' },
      { name: 'o/', type: '5', mode: 0o750 },
      { name: 'o/.wh..wh..opq' },
      { name: 'o/new', body: 'new\n' },
    ];
    const tar = join(dir, 'l.tar');
    writeFileSync(tar, makeTar(members));
    const a = join(dir, 'aufs.erofs');
    const s = join(dir, 'strip.erofs');
    const p = join(dir, 'plain.erofs');
    for (const [img, extra] of [[a, ['--aufs']], [s, ['--aufs', '--ovlfs-strip']], [p, []]] as const) {
      const r = await runCli('mkfs-erofs', ['--quiet', '-T0', ...extra, '--tar=f', img, tar]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    }
    const byPath = async (img: string): Promise<Map<string, { type: string; rdev?: unknown; xattrs: Record<string, string> }>> =>
      new Map((await describeImage(img)).map((e) => [e.path, e]));
    const A = await byPath(a);
    assert.equal(A.get('/d/gone')?.type, 'chardev');
    assert.deepEqual(A.get('/d/gone')?.rdev, { major: 0, minor: 0 });
    assert.equal(A.get('/o')?.xattrs['trusted.overlay.opaque'], Buffer.from('y').toString('hex'));
    assert.equal(A.get('/d')?.xattrs['trusted.overlay.origin'], '');
    assert.ok(!A.has('/d/.wh.gone') && !A.has('/o/.wh..wh..opq'));
    const S = await byPath(s);
    assert.ok(!S.has('/d/gone'));
    assert.equal(S.get('/o')?.xattrs['trusted.overlay.opaque'], undefined);
    assert.ok(S.has('/o/new') && S.has('/d/keep'));
    const P = await byPath(p);
    assert.ok(P.has('/d/.wh.gone') && P.has('/o/.wh..wh..opq'), 'without --aufs whiteouts are plain files');
  });

});

describe('mkfs-erofs --tar=i (index mode) through the kernel', () => {
  let work = '';
  let tar = '';
  let skip: string | null = null;

  before(async () => {
    skip = cliMissing('mkfs-erofs') ?? canDescribe() ?? (await canMount('file')) ?? (which('tar') ? null : 'GNU tar not found');
    if (skip) return;
    const t = await liteSourceTree();
    if ('skip' in t) {
      skip = t.skip;
      return;
    }
    work = tmpDir('tar-index');
    tar = join(work, 'lite.tar');
    const r = await run('tar', [...TAR_ARGS, '-C', t.path, '-cf', tar, '.']);
    assert.equal(r.code, 0, describeRun('tar', r));
  });

  for (const fp of [false, true]) {
    it(`--tar=i -b512${fp ? ' --ishare_key' : ''}: kernel (device=TAR) and our reader match the manifest`, async (t) => {
      if (skipIf(t, skip)) return;
      const key = 'trusted.erofs.fingerprint';
      const img = join(work, `index${fp ? '-fp' : ''}.erofs`);
      const r = await runCli('mkfs-erofs', ['--quiet', '-b512', ...(fp ? [`--ishare_key=${key}`] : []), '--tar=i', img, tar]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
      assert.ok(statSync(img).size < statSync(tar).size / 4, 'the image holds metadata only');
      const expected = (): ReturnType<typeof expectedForTree> =>
        expectedForTree({ tree: 'lite', overrides: TAR_OVERRIDES, ...(fp ? { digestXattr: key } : {}) });
      const dev = await fileSource(tar);
      const image = await openImageFile(img, { devices: [dev] });
      try {
        const viaReader = compareTrees(expected(), await describeWithLibrary(image));
        assert.deepEqual(viaReader, [], 'our reader: ' + formatMismatches(viaReader));
      } finally {
        await image.close?.();
        await dev.close?.();
      }
      const mism = compareTrees(expected(), await describeImage(img, { mode: 'file', devices: [tar] }));
      assert.deepEqual(mism, [], formatMismatches(mism));
    });
  }
});
