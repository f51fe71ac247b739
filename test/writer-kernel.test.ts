/**
 * @erofs/writer against the Linux kernel: the fixture source tree is
 * scanned once, built with each option set, mounted read-only and compared
 * path by path with source.manifest.json (type, mode, owner, nlink, size,
 * mtime, content, symlink target, rdev, hard links, xattrs and ACLs).
 * Images that use no feature Debian's fsck.erofs 1.5 predates must also pass
 * it (with --extract, so every file's data is read).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildImage, defaultWriterOptions, scanDirectory, type InodeNode, type WriterOptions } from '@erofs/writer';
import { fileSource, openImageFile } from '@erofs/reader/node';
import { compareTrees, formatMismatches } from './lib/compare.js';
import { describeWithLibrary } from './reader-helpers.js';
import { expectedForTree, FIX_IMAGES, loadManifest } from './lib/fixtures.js';
import { canMount, describeImage, withMount } from './lib/mount.js';
import { fixtureSourceTree } from './lib/source-tree.js';
import { debianErofsUtils, run, skipIf, tmpDir, which } from './lib/tools.js';

const FP = 'trusted.erofs.fingerprint';

interface Case {
  name: string;
  opts: Partial<WriterOptions>;
  /** Debian's fsck.erofs 1.5 knows every feature the image uses. */
  fsck15: boolean;
}

const CASES: Case[] = [
  { name: '-b 4096', opts: {}, fsck15: true },
  { name: '-b 512', opts: { blkszbits: 9 }, fsck15: false /* 1.5: "blksize 512 isn't supported" */ },
  { name: `-b 4096 --ishare_key=${FP}`, opts: { ishareKey: FP }, fsck15: false /* long xattr prefixes */ },
  { name: `-b 512 --ishare_key=${FP}`, opts: { blkszbits: 9, ishareKey: FP }, fsck15: false },
  { name: '--chunksize=8192', opts: { chunkSize: 8192 }, fsck15: true },
  { name: '--chunksize=65536 -Eforce-chunk-indexes', opts: { chunkSize: 65536, forceChunkIndexes: true }, fsck15: true },
  { name: '--chunksize=8192 --blobdev', opts: { chunkSize: 8192, blobdev: 'BLOB' }, fsck15: false },
  { name: '-E^inline_data', opts: { inlineData: false }, fsck15: true },
  { name: '-E48bit', opts: { is48bit: true }, fsck15: false },
  { name: '-Edot-omitted', opts: { dotOmitted: true }, fsck15: false },
  { name: '-Eforce-inode-extended', opts: { forceInodeVersion: 'extended' }, fsck15: true },
  {
    name: '--xattr-prefix x2 -E nosbcrc, -x1',
    opts: { xattrPrefixes: ['trusted.overlay.', 'user.erofs-fixture.'], sbChecksum: false, xattrTolerance: 1 },
    fsck15: false,
  },
];

describe('writer: images of the fixture tree through the kernel', { concurrency: 1 }, () => {
  let src: string | undefined;
  let skip: string | undefined;
  let root: InodeNode | undefined;

  before(async () => {
    const t = await fixtureSourceTree();
    if ('skip' in t) {
      skip = t.skip;
      return;
    }
    src = t.path;
    root = await scanDirectory(src);
  });

  for (const c of CASES) {
    test(c.name, async (t) => {
      if (skipIf(t, skip)) return;
      const blob = c.opts.blobdev !== undefined;
      if (skipIf(t, await canMount(blob ? 'file' : 'loop'))) return;
      const dir = tmpDir('writer-kernel', t);
      const img = join(dir, 'img.erofs');
      const opts: WriterOptions = { ...defaultWriterOptions(), ...c.opts };
      if (blob) opts.blobdev = join(dir, 'blob.img');
      const summary = await buildImage(root!, opts, img);
      assert.equal(summary.inodes, 2146);
      if (c.opts.ishareKey) assert.ok(summary.fingerprinted > 0);

      const expected = expectedForTree({ tree: 'full', mtime: 'source', ...(c.opts.ishareKey ? { digestXattr: c.opts.ishareKey } : {}) });
      // our own reader, which needs no root, sees the same tree as the kernel
      const blobSrc = blob ? await fileSource(opts.blobdev!) : undefined;
      const image = await openImageFile(img, blobSrc ? { devices: [blobSrc] } : {});
      try {
        const viaReader = compareTrees(expected, await describeWithLibrary(image));
        assert.equal(viaReader.length, 0, 'our reader: ' + formatMismatches(viaReader));
      } finally {
        await image.close?.();
        await blobSrc?.close?.();
      }

      const actual = await describeImage(img, blob ? { mode: 'file', devices: [opts.blobdev!] } : {});
      const mism = compareTrees(expected, actual);
      assert.equal(mism.length, 0, formatMismatches(mism));

      if (c.fsck15) {
        const u = debianErofsUtils();
        if (typeof u === 'string') {
          t.diagnostic(`fsck.erofs 1.5 not run: ${u}`);
        } else {
          const out = join(dir, 'extract');
          const r = await run(u.fsck, [`--extract=${out}`, img]);
          assert.equal(r.code, 0, `fsck.erofs ${u.version}: ${r.stderr}${r.stdout}`);
        }
      }
    });
  }

  test('fingerprints read back with getfattr are "sha256:" + the content digest', async (t) => {
    if (skipIf(t, skip, await canMount('loop'), !which('getfattr') && 'getfattr not found')) return;
    const dir = tmpDir('writer-fp', t);
    const img = join(dir, 'img.erofs');
    await buildImage(root!, { ...defaultWriterOptions(), ishareKey: FP }, img);
    const files = loadManifest().filter((e) => e.type === 'file' && e.size && e.hardlink_group === undefined).slice(0, 40);
    await withMount(img, {}, (mnt) => {
      for (const e of files) {
        const r = spawnSync('getfattr', ['--absolute-names', '-n', FP, '-e', 'hex', join(mnt, e.path)], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const m = /=0x([0-9a-f]+)/.exec(r.stdout);
        assert.equal(m?.[1], Buffer.from('sha256:').toString('hex') + e.sha256, e.path);
      }
      // empty files carry none
      const r = spawnSync('getfattr', ['--absolute-names', '-n', FP, join(mnt, 'empty')], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
    });
  });

  test('fingerprint xattr bytes equal mkfs.erofs 1.9.3 --xattr-inode-digest', async (t) => {
    if (skipIf(t, skip)) return;
    const dir = tmpDir('writer-fp-bytes', t);
    const img = join(dir, 'img.erofs');
    await buildImage(root!, { ...defaultWriterOptions(), ishareKey: FP }, img);
    const ours = readFileSync(img);
    const theirs = readFileSync(join(FIX_IMAGES, 'digest-fingerprint.erofs'));
    // the ibody of /README.txt (its only xattr is the fingerprint): header + entry
    const readme = loadManifest().find((e) => e.path === '/README.txt')!;
    const value = Buffer.concat([Buffer.from('sha256:'), Buffer.from(readme.sha256!, 'hex')]);
    const ibody = (b: Buffer): string => {
      const i = b.indexOf(value);
      assert.ok(i > 16, 'fingerprint value not found');
      return b.subarray(i - 16, i + value.length + 1).toString('hex');
    };
    assert.equal(ibody(ours), ibody(theirs));
    // superblock: prefix table record, ishare_xattr_prefix_id, feature bits
    const sb = (b: Buffer) => {
      const start = b.readUInt32LE(1024 + 92) * 4;
      return {
        compat: b.readUInt32LE(1024 + 8) & 0x30,
        incompat: b.readUInt32LE(1024 + 80),
        count: b[1024 + 91],
        ishareId: b[1024 + 105],
        record: b.subarray(start, start + 20).toString('hex'),
      };
    };
    assert.deepEqual(sb(ours), sb(theirs));
  });
});
