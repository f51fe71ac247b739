/**
 * `mkfs-erofs --oci` against real tools: an image built with umoci from a
 * test tree in three layers (layer 2 deletes a file and a directory tree,
 * made by `umoci repack`; layer 3 is a hand-made tar with an opaque
 * directory and a file whiteout, added with `umoci raw add-layer`), exported
 * with skopeo as an oci-archive (gzip layers), an oci-archive with zstd
 * layers and a docker-archive, plus the OCI layout directory itself.
 *
 * Each conversion, mounted by the kernel, must equal the tree `umoci unpack`
 * produces (paths, types, modes, uids/gids, nlink, sizes, mtimes, content,
 * symlink targets, device numbers, hard links, xattrs). The rootfs
 * directory's own metadata is left out: umoci creates it itself (mode 0755,
 * the unpack time), while layer tars may or may not describe '.'.
 *
 * `--per-layer` images must mount, and stacked as overlayfs lower dirs they
 * must give the same tree (overlayfs reports nlink 1 for merged directories,
 * so directory nlink is not compared there).
 *
 * `--oci=i` (index mode) on the same image with uncompressed layers (a copy
 * of the layout with each gzip blob decompressed, digests recomputed; that
 * layout tarred as an oci-archive; the docker-archive): mounted file-backed with the layer
 * blobs (layout) or the archive as `device=`, it must equal `umoci unpack`;
 * gzip layers are refused with one clear line and no image.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeTar } from '../packages/oci/test/lib.js';
import { compareTrees, formatMismatches } from './lib/compare.js';
import { canDescribe, describeTree } from './lib/describe.js';
import type { ManifestEntry } from './lib/fixtures.js';
import { canMount, describeImage, withMount, type MountOptions } from './lib/mount.js';
import { cliMissing, describeRun, mountsBelow, run, runCli, skipIf, tmpDir, which } from './lib/tools.js';

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, describeRun(`${cmd} ${args.join(' ')}`, r));
  return r.stdout;
}

/** Everything but the root directory itself (see the file comment). */
function withoutRoot(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.filter((e) => e.path !== '/');
}

/** Builds the test image in OCI layout `layout` with tag `t`; returns the layer-3 tar's path. */
/**
 * Mounts the three per-layer images (lowest first), stacks them with
 * overlayfs at `merged` (lowerdir=L3:L2:L1, the leftmost is the top) and
 * asserts the merged tree equals `expected` (directory link counts aside:
 * overlayfs reports 1).
 */
async function assertStackedEquals(files: string[], o: MountOptions, merged: string, expected: ManifestEntry[]): Promise<void> {
  const got = await withMount(files[0]!, o, (d1) => withMount(files[1]!, o, (d2) => withMount(files[2]!, o, async (d3) => {
    mkdirSync(merged);
    await sh('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${d3}:${d2}:${d1}`, merged]);
    try {
      return await describeTree(merged);
    } finally {
      await run('umount', [merged]);
      if (mountsBelow(merged).length) await run('umount', ['-l', merged]);
    }
  })));
  const nlink1 = (e: ManifestEntry): ManifestEntry => (e.type === 'dir' ? { ...e, nlink: 1 } : e);
  const mism = compareTrees(expected.map(nlink1), withoutRoot(got).map(nlink1));
  assert.deepEqual(mism, [], formatMismatches(mism));
}

async function buildImage(work: string): Promise<string> {
  const layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  await sh('umoci', ['init', '--layout', layout]);
  await sh('umoci', ['new', '--image', `${layout}:t`]);
  await sh('umoci', ['unpack', '--image', `${layout}:t`, bundle]);
  const r = join(bundle, 'rootfs');
  const t0 = new Date('2022-03-04T05:06:07Z');
  // layer 1
  for (const d of ['etc', 'gone-dir/sub', 'opq/old', 'keep', 'bin', 'deep/a/b']) mkdirSync(join(r, d), { recursive: true });
  writeFileSync(join(r, 'etc/hello'), 'hello\n');
  writeFileSync(join(r, 'etc/bye'), 'bye\n');
  writeFileSync(join(r, 'gone-dir/sub/f'), 'doomed\n');
  writeFileSync(join(r, 'opq/old/f'), 'hidden by the opaque dir\n');
  writeFileSync(join(r, 'opq/top'), 'also hidden\n');
  writeFileSync(join(r, 'keep/big'), Buffer.alloc(300_000, 'erofs-'));
  writeFileSync(join(r, 'deep/a/b/leaf'), 'leaf\n');
  writeFileSync(join(r, 'keep/empty'), '');
  linkSync(join(r, 'keep/big'), join(r, 'keep/big-link'));
  symlinkSync('../etc/hello', join(r, 'bin/sym'));
  chmodSync(join(r, 'keep/big'), 0o4755);
  chmodSync(join(r, 'deep'), 0o700);
  chownSync(join(r, 'etc/hello'), 1000, 2000);
  chownSync(join(r, 'deep/a'), 33, 44);
  await sh('setfattr', ['-n', 'user.note', '-v', 'layer1', join(r, 'etc/hello')]);
  await sh('setfattr', ['-n', 'user.dir', '-v', '0x00ff10', join(r, 'keep')]);
  await sh('mkfifo', [join(r, 'keep/fifo')]);
  await sh('mknod', [join(r, 'keep/cdev'), 'c', '1', '3']);
  utimesSync(join(r, 'etc/bye'), t0, t0);
  await sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:t`, bundle]);
  // layer 2: deletions and changes
  rmSync(join(r, 'gone-dir'), { recursive: true });
  rmSync(join(r, 'etc/bye'));
  writeFileSync(join(r, 'etc/hello'), 'changed in layer 2\n');
  mkdirSync(join(r, 'newdir'));
  writeFileSync(join(r, 'newdir/n'), 'new\n');
  chmodSync(join(r, 'keep/big'), 0o755);
  await sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:t`, bundle]);
  // layer 3: an opaque directory and a whiteout, as other tools write them
  const mtime = Math.floor(t0.getTime() / 1000);
  const l3 = join(work, 'layer3.tar');
  writeFileSync(l3, makeTar([
    { name: './opq/', type: '5', mode: 0o751, mtime },
    { name: './opq/.wh..wh..opq', mtime },
    { name: './opq/fresh', body: 'fresh in layer 3\n', mtime, uid: 7, gid: 8 },
    { name: './keep/.wh.fifo', mtime },
    { name: './newdir/.wh.n', mtime },
    { name: './newdir/n2', body: 'replaces n\n', mtime },
  ]));
  await sh('umoci', ['raw', 'add-layer', '--image', `${layout}:t`, l3]);
  return layout;
}

/**
 * Copies the single-image OCI layout `src` to `dst` with every gzip layer
 * blob decompressed (media type ...layer.v1.tar, digest and size recomputed);
 * the config (whose diff_ids name the uncompressed tars) is kept. Returns the
 * layer blob paths in manifest order.
 */
function uncompressedLayout(src: string, dst: string): string[] {
  const blob = (dir: string, digest: string): string => join(dir, 'blobs', ...digest.split(':'));
  const put = (bytes: Uint8Array): { digest: string; size: number } => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(blob(dst, digest), bytes);
    return { digest, size: bytes.length };
  };
  mkdirSync(join(dst, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dst, 'oci-layout'), readFileSync(join(src, 'oci-layout')));
  type Desc = { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  const index = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8')) as { manifests: Desc[] };
  assert.equal(index.manifests.length, 1);
  const mdesc = index.manifests[0]!;
  const manifest = JSON.parse(readFileSync(blob(src, mdesc.digest), 'utf8')) as { config: Desc; layers: Desc[] };
  put(readFileSync(blob(src, manifest.config.digest)));
  const paths: string[] = [];
  manifest.layers = manifest.layers.map((l) => {
    const raw = readFileSync(blob(src, l.digest));
    const d = put(l.mediaType.endsWith('+gzip') ? gunzipSync(raw) : raw);
    paths.push(blob(dst, d.digest));
    return { ...l, mediaType: 'application/vnd.oci.image.layer.v1.tar', ...d };
  });
  const m = put(new TextEncoder().encode(JSON.stringify(manifest)));
  writeFileSync(join(dst, 'index.json'), JSON.stringify({ ...index, manifests: [{ ...mdesc, ...m }] }));
  return paths;
}

describe('mkfs-erofs --oci: umoci/skopeo images through the kernel', { concurrency: 2 }, () => {
  let skip: string | null = null;
  let work = '';
  let expected: ManifestEntry[] = [];
  const sources: Record<string, string> = {};
  let indexSkip: string | null = null;
  /** Layer blobs of the uncompressed layout, in manifest order. */
  let blobs: string[] = [];

  before(async () => {
    skip = cliMissing('mkfs-erofs') ?? canDescribe() ?? (await canMount())
      ?? (['umoci', 'skopeo', 'setfattr', 'mkfifo', 'mknod'].map((c) => (which(c) ? null : `${c} not found`)).find(Boolean) ?? null);
    if (skip) return;
    work = tmpDir('oci-cli');
    const layout = await buildImage(work);
    await sh('umoci', ['unpack', '--image', `${layout}:t`, join(work, 'unpacked')]);
    expected = withoutRoot(await describeTree(join(work, 'unpacked', 'rootfs')));
    sources['oci layout DIR:REF'] = `${layout}:t`;
    sources['oci-archive (gzip)'] = join(work, 'gz.tar');
    sources['oci-archive (zstd)'] = join(work, 'zst.tar');
    sources['docker-archive'] = join(work, 'docker.tar');
    await sh('skopeo', ['copy', '-q', `oci:${layout}:t`, `oci-archive:${sources['oci-archive (gzip)']}`]);
    await sh('skopeo', ['copy', '-q', '--dest-compress-format', 'zstd', `oci:${layout}:t`, `oci-archive:${sources['oci-archive (zstd)']}`]);
    await sh('skopeo', ['copy', '-q', `oci:${layout}:t`, `docker-archive:${sources['docker-archive']}:t:latest`]);
    indexSkip = (await canMount('file')) ?? (which('tar') ? null : 'tar not found');
    if (indexSkip) return;
    const plain = join(work, 'plain');
    blobs = uncompressedLayout(layout, plain);
    sources['oci layout (uncompressed)'] = `${plain}:t`;
    sources['oci-archive (uncompressed)'] = join(work, 'plain.tar');
    // skopeo would compress the layers again: the archive is the layout, tarred.
    await sh('tar', ['-C', plain, '-cf', sources['oci-archive (uncompressed)'], 'oci-layout', 'index.json', 'blobs']);
  });

  it('the test image really has deletions and an opaque directory', (t) => {
    if (skipIf(t, skip)) return;
    const paths = new Set(expected.map((e) => e.path));
    for (const gone of ['/gone-dir', '/etc/bye', '/opq/old', '/opq/top', '/keep/fifo', '/newdir/n']) assert.ok(!paths.has(gone), gone);
    for (const kept of ['/opq/fresh', '/keep/big-link', '/keep/cdev', '/bin/sym', '/newdir/n2', '/deep/a/b/leaf']) assert.ok(paths.has(kept), kept);
  });

  for (const kind of ['oci layout DIR:REF', 'oci-archive (gzip)', 'oci-archive (zstd)', 'docker-archive']) {
    it(`${kind}: flattened image equals umoci unpack`, async (t) => {
      if (skipIf(t, skip)) return;
      const img = join(tmpDir('oci-img', t), 'flat.erofs');
      const r = await runCli('mkfs-erofs', ['--quiet', '--oci', img, sources[kind]!]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
      const mism = compareTrees(expected, withoutRoot(await describeImage(img)));
      assert.deepEqual(mism, [], formatMismatches(mism));
    });
  }

  it('--per-layer images mount and, stacked with overlayfs, equal umoci unpack', async (t) => {
    if (skipIf(t, skip)) return;
    const dir = tmpDir('oci-per-layer', t);
    const layers = join(dir, 'layers');
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci', `--per-layer=${layers}`, sources['oci-archive (gzip)']!]);
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    const manifest = JSON.parse(await sh('skopeo', ['inspect', '--raw', `oci-archive:${sources['oci-archive (gzip)']}`])) as { layers: Array<{ digest: string }> };
    const names = manifest.layers.map((l) => `${l.digest.replace(':', '-')}.erofs`);
    assert.deepEqual(readdirSync(layers).sort(), [...names].sort());
    const files = names.map((n) => join(layers, n));
    // mount L1, L2, L3 and stack them: lowerdir=L3:L2:L1 (leftmost is the top)
    await assertStackedEquals(files, {}, join(dir, 'merged'), expected);
  });

  it('--per-layer keeps overlayfs-native whiteouts (0:0 char devices, trusted.overlay.opaque=y)', async (t) => {
    if (skipIf(t, skip)) return;
    const dir = tmpDir('oci-l3', t);
    const img = join(dir, 'l3.erofs');
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci=f,layer=2', img, sources['oci-archive (zstd)']!]);
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    const e = new Map((await describeImage(img)).map((x) => [x.path, x]));
    assert.equal(e.get('/keep/fifo')?.type, 'chardev');
    assert.deepEqual(e.get('/keep/fifo')?.rdev, { major: 0, minor: 0 });
    assert.equal(e.get('/newdir/n')?.type, 'chardev');
    assert.equal(e.get('/opq')?.xattrs['trusted.overlay.opaque'], Buffer.from('y').toString('hex'));
    assert.equal(e.get('/opq/fresh')?.uid, 7);
    assert.ok(!e.has('/opq/.wh..wh..opq') && !e.has('/keep/.wh.fifo'));
  });

  /** The extra devices of an index-mode image of `kind`: the layer blobs (layout) or the archive. */
  const devicesFor = (kind: string, layers = blobs): string[] =>
    kind === 'oci layout (uncompressed)' ? layers : [sources[kind]!];

  for (const kind of ['oci layout (uncompressed)', 'oci-archive (uncompressed)', 'docker-archive']) {
    it(`--oci=i -b512, ${kind}: metadata-only image, mounted with device=, equals umoci unpack`, async (t) => {
      if (skipIf(t, skip ?? indexSkip)) return;
      const img = join(tmpDir('oci-index', t), 'index.erofs');
      const r = await runCli('mkfs-erofs', ['--quiet', '-b512', '--oci=i', img, sources[kind]!]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
      assert.ok(statSync(img).size < 64 * 1024, `the image holds metadata only (${statSync(img).size} bytes)`);
      const mism = compareTrees(expected, withoutRoot(await describeImage(img, { mode: 'file', devices: devicesFor(kind) })));
      assert.deepEqual(mism, [], formatMismatches(mism));
    });
  }

  it('--oci=i,layer=2 (one blob as the device) keeps overlayfs whiteouts', async (t) => {
    if (skipIf(t, skip ?? indexSkip)) return;
    const img = join(tmpDir('oci-index-l3', t), 'l3.erofs');
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci=i,layer=2', img, sources['oci layout (uncompressed)']!]);
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    const e = new Map((await describeImage(img, { mode: 'file', devices: [blobs[2]!] })).map((x) => [x.path, x]));
    assert.equal(e.get('/keep/fifo')?.type, 'chardev');
    assert.equal(e.get('/opq')?.xattrs['trusted.overlay.opaque'], Buffer.from('y').toString('hex'));
    assert.equal(e.get('/opq/fresh')?.uid, 7);
    assert.equal(e.get('/newdir/n2')?.size, 'replaces n\n'.length);
  });

  it('--oci=i --per-layer (oci-archive, the archive as every image\'s device): stacked with overlayfs, equals umoci unpack', async (t) => {
    if (skipIf(t, skip ?? indexSkip)) return;
    const dir = tmpDir('oci-index-per-layer', t);
    const layers = join(dir, 'layers');
    const src = sources['oci-archive (uncompressed)']!;
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci=i', `--per-layer=${layers}`, src]);
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    const manifest = JSON.parse(await sh('skopeo', ['inspect', '--raw', `oci-archive:${src}`])) as { layers: Array<{ digest: string }> };
    const files = manifest.layers.map((l) => join(layers, `${l.digest.replace(':', '-')}.erofs`));
    assert.equal(files.length, 3);
    const o = { mode: 'file' as const, devices: [src] };
    await assertStackedEquals(files, o, join(dir, 'merged'), expected);
  });

  for (const kind of ['oci-archive (gzip)', 'oci layout DIR:REF']) {
    it(`--oci=i on gzip layers (${kind}): one clear error line, no image`, async (t) => {
      if (skipIf(t, skip)) return;
      const img = join(tmpDir('oci-index-gz', t), 'never.erofs');
      const r = await runCli('mkfs-erofs', ['--oci=i', img, sources[kind]!]);
      assert.ok(r.code === 1 || r.code === 2, describeRun('mkfs-erofs', r));
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /--oci=i .*uncompressed layers.*gzip-compressed/);
      assert.ok(!existsSync(img), 'no image left behind');
      assert.deepEqual(readdirSync(join(img, '..')), [], 'no temporary file left behind');
    });
  }
});
