// OCI sources built with real tools: umoci builds a layout with three layers
// (deletions, an opaque directory, a hard link, xattrs); skopeo exports it as
// oci-archive (gzip and zstd) and docker-archive. Our flattened tree must
// equal what `umoci unpack` extracts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, linkSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ErofsError } from '@erofs/format';
import { openImage, flattenLayers, layerTree } from '../src/index.js';
import { describeTree, hashingWriter, have, run } from './lib.js';

const skip = !have('umoci') || !have('skopeo') || !have('getfattr') ? 'skipped: umoci, skopeo or getfattr missing' : '';
let dir = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'oci-img-'));
  const img = join(dir, 'img');
  run('umoci', ['init', '--layout', img]);
  run('umoci', ['new', '--image', `${img}:t`]);
  const b = join(dir, 'b1');
  run('umoci', ['unpack', '--image', `${img}:t`, b]);
  const r = join(b, 'rootfs');
  mkdirSync(join(r, 'etc'));
  mkdirSync(join(r, 'del', 'sub'), { recursive: true });
  mkdirSync(join(r, 'opq', 'inner'), { recursive: true });
  writeFileSync(join(r, 'etc', 'a'), 'one\n');
  chmodSync(join(r, 'etc', 'a'), 0o4755);
  run('setfattr', ['-n', 'user.k', '-v', 'v1', join(r, 'etc', 'a')]);
  writeFileSync(join(r, 'del', 'sub', 'x'), 'gone\n');
  writeFileSync(join(r, 'opq', 'old'), 'lower\n');
  writeFileSync(join(r, 'opq', 'inner', 'f'), 'lower\n');
  symlinkSync('../etc/a', join(r, 'sl'));
  writeFileSync(join(r, 'big'), Buffer.alloc(300_000, 7));
  linkSync(join(r, 'big'), join(r, 'big-link'));
  utimesSync(join(r, 'etc', 'a'), 1700000000.5, 1700000000.5);
  run('umoci', ['repack', '--image', `${img}:t`, b]);
  // Layer 2: deletions and a modification, as umoci computes them.
  const b2 = join(dir, 'b2');
  run('umoci', ['unpack', '--image', `${img}:t`, b2]);
  rmSync(join(b2, 'rootfs', 'del'), { recursive: true });
  writeFileSync(join(b2, 'rootfs', 'etc', 'a'), 'two\n');
  chmodSync(join(b2, 'rootfs', 'etc', 'a'), 0o640);
  rmSync(join(b2, 'rootfs', 'big'));
  run('umoci', ['repack', '--image', `${img}:t`, b2]);
  // Layer 3: an opaque directory, written by GNU tar (pax) and added verbatim.
  const l3 = join(dir, 'l3');
  mkdirSync(join(l3, 'opq'), { recursive: true });
  writeFileSync(join(l3, 'opq', '.wh..wh..opq'), '');
  writeFileSync(join(l3, 'opq', 'fresh'), 'upper\n');
  run('tar', ['--format=posix', '--xattrs', '--owner=0', '--group=0', '--numeric-owner', '--no-recursion', '-cf', join(dir, 'l3.tar'), '-C', l3, 'opq', 'opq/.wh..wh..opq', 'opq/fresh']);
  run('umoci', ['raw', 'add-layer', '--image', `${img}:t`, join(dir, 'l3.tar')]);
  run('skopeo', ['copy', '-q', `oci:${img}:t`, `oci-archive:${join(dir, 'gz.tar')}:t`]);
  run('skopeo', ['copy', '-q', '--dest-compress-format', 'zstd', `oci:${img}:t`, `oci-archive:${join(dir, 'zst.tar')}:t`]);
  run('skopeo', ['copy', '-q', `oci:${img}:t`, `docker-archive:${join(dir, 'docker.tar')}:t:latest`]);
  run('umoci', ['unpack', '--image', `${img}:t`, join(dir, 'ref')]);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Describes an unpacked rootfs the way describeTree describes ours. */
function describeDir(root: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const visit = (p: string, rel: string): void => {
    const st = lstatSync(p, { bigint: true });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : 'fifo';
    const rec: Record<string, unknown> = {
      type, mode: (Number(st.mode) & 0o7777).toString(8), uid: Number(st.uid), gid: Number(st.gid),
      mtime: `${st.mtimeNs / 1_000_000_000n}.${String(st.mtimeNs % 1_000_000_000n).padStart(9, '0')}`,
    };
    if (type === 'file') rec.sha256 = createHash('sha256').update(readFileSync(p)).digest('hex');
    if (type === 'symlink') rec.target = readlinkSync(p);
    if (type !== 'symlink') {
      const x = spawnSync('getfattr', ['-d', '-e', 'hex', '-m', '^(user|trusted)\\.', '--absolute-names', p]).stdout.toString()
        .split('\n').filter((l) => l.includes('=')).map((l) => l.replace('=0x', '=')).sort();
      if (x.length) rec.xattrs = x.join(',');
    }
    out.set(rel, rec);
    if (type === 'dir') for (const n of readdirSync(p).sort()) visit(join(p, n), rel === '/' ? '/' + n : rel + '/' + n);
  };
  visit(root, '/');
  return out;
}

for (const [name, file] of [['oci layout', 'img:t'], ['oci-archive gzip', 'gz.tar'], ['oci-archive zstd', 'zst.tar'], ['docker-archive', 'docker.tar']] as const) {
  test(`flattened ${name} equals umoci unpack`, { skip: skip || false }, async () => {
    const t0 = performance.now();
    const image = await openImage(join(dir, file), { platform: 'linux/amd64' });
    try {
      assert.equal(image.layers.length, 3);
      if (name.includes('zstd')) assert.match(image.layers[0]!.mediaType, /zstd/);
      const root = await flattenLayers(image.layers, { writeData: hashingWriter() });
      const ours = describeTree(root);
      const ref = describeDir(join(dir, 'ref', 'rootfs'));
      // umoci stamps the rootfs directory itself from the config, not a layer: compare the rest.
      ours.delete('/');
      ref.delete('/');
      assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(ref));
      assert.ok(!ours.has('/del') && !ours.has('/big') && ours.has('/big-link') && ours.has('/opq/fresh') && !ours.has('/opq/old'));
    } finally {
      await image.close();
    }
    console.log(`# ${name}: ${(performance.now() - t0).toFixed(0)} ms`);
  });
}

test('per-layer trees keep overlayfs whiteouts', { skip: skip || false }, async () => {
  const image = await openImage(join(dir, 'gz.tar'));
  try {
    const trees = [];
    for (const l of image.layers) trees.push(describeTree(await layerTree(l, { writeData: hashingWriter() })));
    assert.equal(trees[1]!.get('/del')!.rdev, '0:0');
    assert.match(String(trees[1]!.get('/')!.xattrs), /trusted.overlay.origin/);
    assert.match(String(trees[2]!.get('/opq')!.xattrs), /trusted.overlay.opaque=79/);
  } finally {
    await image.close();
  }
});

test('a digest mismatch fails naming the digest; REF selection', { skip: skip || false }, async () => {
  const bad = join(dir, 'bad');
  run('cp', ['-r', join(dir, 'img'), bad]);
  const image = await openImage(bad + ':t');
  const l = image.layers[0]!;
  const blob = join(bad, 'blobs', 'sha256', l.digest.slice(7));
  const b = readFileSync(blob);
  // Same size, different bytes: only the digest can tell.
  b[b.length - 9] ^= 1;
  writeFileSync(blob, b);
  await assert.rejects(flattenLayers(image.layers, { writeData: hashingWriter() }),
    (e: unknown) => e instanceof ErofsError && e.message.includes(l.digest));
  await image.close();
  await assert.rejects(openImage(join(dir, 'img') + ':nope'), (e: unknown) => e instanceof ErofsError && e.code === 'ENOENT');
  // A corrupted manifest blob is caught before anything is built.
  const bad2 = join(dir, 'bad2');
  run('cp', ['-r', join(dir, 'img'), bad2]);
  const idx = JSON.parse(readFileSync(join(bad2, 'index.json'), 'utf8'));
  const m = join(bad2, 'blobs', 'sha256', idx.manifests[0].digest.slice(7));
  writeFileSync(m, readFileSync(m, 'utf8').replace('"schemaVersion":2', '"schemaVersion":3'));
  await assert.rejects(openImage(bad2), /digest mismatch|larger|bytes/);
});
