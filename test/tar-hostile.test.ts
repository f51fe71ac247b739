/**
 * Hostile tar and OCI input through the mkfs-erofs CLI. Every case must end
 * either with ONE stderr line and exit 1 and an empty output directory (no
 * IMAGE, no temporary file, no per-layer image), or with the entry
 * contained inside the image (checked through the kernel) -- and never with
 * anything written outside the output directory.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar, type MemberSpec } from '../packages/oci/test/lib.js';
import { canDescribe } from './lib/describe.js';
import { canMount, describeImage } from './lib/mount.js';
import { cliMissing, describeRun, runCli, skipIf, tmpDir, type RunResult } from './lib/tools.js';

const enc = new TextEncoder();

function expectFailure(r: RunResult, pattern: RegExp, outDir: string): void {
  assert.equal(r.code, 1, describeRun('mkfs-erofs', r));
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one stderr line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^mkfs-erofs: /);
  assert.match(lines[0]!, pattern);
  assert.deepEqual(readdirSync(outDir), [], 'nothing may be left in the output directory');
}

/** A directory with `in/` (inputs) and `out/` (outputs) so leftovers are easy to see. */
function dirs(t: TestContext): { inp: string; out: string } {
  const d = tmpDir('tar-hostile', t);
  mkdirSync(join(d, 'in'));
  mkdirSync(join(d, 'out'));
  return { inp: join(d, 'in'), out: join(d, 'out') };
}

async function tarCase(t: TestContext, members: MemberSpec[] | Uint8Array, extra: string[] = []): Promise<{ r: RunResult; out: string; img: string }> {
  const { inp, out } = dirs(t);
  const tar = join(inp, 'x.tar');
  writeFileSync(tar, members instanceof Uint8Array ? members : makeTar(members));
  const img = join(out, 'x.erofs');
  const r = await runCli('mkfs-erofs', ['--quiet', '-T0', ...extra, '--tar=f', img, tar]);
  return { r, out, img };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A one-manifest OCI layout with the given layer tars (gzip) in `dir`; returns the layer digests. */
function ociLayout(dir: string, layerTars: Uint8Array[]): string[] {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Uint8Array): string => {
    const h = sha(b);
    writeFileSync(join(dir, 'blobs', 'sha256', h), b);
    return `sha256:${h}`;
  };
  const layers = layerTars.map((tar) => ({ gz: gzipSync(tar), diffId: `sha256:${sha(tar)}` }));
  const config = enc.encode(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const layerDescs = layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: put(l.gz), size: l.gz.length }));
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
    layers: layerDescs,
  }));
  const md = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 't' } }],
  }));
  return layerDescs.map((d) => d.digest);
}

describe('mkfs-erofs on hostile tar and OCI input', { concurrency: 2 }, () => {
  const missing = cliMissing('mkfs-erofs');

  it("a '..' component is refused", async (t) => {
    if (skipIf(t, missing)) return;
    const { r, out } = await tarCase(t, [{ name: 'a/../../evil', body: 'x' }]);
    expectFailure(r, /'\.\.' component.*a\/\.\.\/\.\.\/evil/, out);
    assert.ok(!existsSync(join(out, '..', 'evil')) && !existsSync(join(out, 'evil')));
  });

  it('a hard link to ../../etc/passwd is refused', async (t) => {
    if (skipIf(t, missing)) return;
    const { r, out } = await tarCase(t, [{ name: 'pw', type: '1', linkname: '../../etc/passwd' }]);
    expectFailure(r, /'\.\.' component/, out);
  });

  it('a NUL byte in a pax path is refused', async (t) => {
    if (skipIf(t, missing)) return;
    const { r, out } = await tarCase(t, [{ name: 'ok', body: 'x', pax: { path: new Uint8Array([0x61, 0, 0x62]) } }]);
    expectFailure(r, /NUL byte/, out);
  });

  it('a size beyond the end of the stream is a truncated tar', async (t) => {
    if (skipIf(t, missing)) return;
    const { r, out } = await tarCase(t, makeTar([{ name: 'big', body: 'only a few bytes', size: 1 << 20 }], { end: false }));
    expectFailure(r, /truncated tar/, out);
  });

  it('a tar cut in the middle (plain and gzip) fails, leaving nothing', async (t) => {
    if (skipIf(t, missing)) return;
    const whole = makeTar(Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, body: Buffer.alloc(5000 + i, i) })));
    for (const bytes of [whole.subarray(0, 70_000), gzipSync(whole).subarray(0, 300), whole.subarray(0, 512 * 11 + 100)]) {
      const { r, out } = await tarCase(t, bytes);
      expectFailure(r, /truncated|unexpected end|bad gzip/i, out);
    }
  });

  it('a missing end-of-archive marker is refused (it is how a cut tar looks)', async (t) => {
    if (skipIf(t, missing)) return;
    const { r, out } = await tarCase(t, makeTar([{ name: 'f', body: 'x' }], { end: false }));
    expectFailure(r, /end-of-archive/, out);
  });

  it('not a tar at all: bad header checksum', async (t) => {
    if (skipIf(t, missing)) return;
    const { r, out } = await tarCase(t, makeTar([{ name: 'f', body: 'x', badChecksum: true }]));
    expectFailure(r, /checksum/i, out);
  });

  it('a whiteout that escapes its directory is refused (--aufs and --oci)', async (t) => {
    if (skipIf(t, missing)) return;
    for (const name of ['d/.wh..', 'd/.wh.', 'd/.wh...']) {
      const { r, out } = await tarCase(t, [{ name: 'd/', type: '5' }, { name }], ['--aufs']);
      expectFailure(r, /whiteout escapes its directory/, out);
    }
    const { inp, out } = dirs(t);
    const layout = join(inp, 'layout');
    ociLayout(layout, [makeTar([{ name: 'd/', type: '5' }, { name: 'd/f', body: 'x' }]), makeTar([{ name: 'd/.wh..' }])]);
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci', join(out, 'x.erofs'), `${layout}:t`]);
    expectFailure(r, /whiteout escapes its directory.*sha256:/, out);
  });

  it('a digest mismatch is refused, naming the blob; no per-layer image is left', async (t) => {
    if (skipIf(t, missing)) return;
    const { inp, out } = dirs(t);
    const layout = join(inp, 'layout');
    const [l1, l2] = ociLayout(layout, [makeTar([{ name: 'a', body: 'one' }]), makeTar([{ name: 'b', body: 'two' }])]);
    // Same size, one bit flipped in the second layer's gzip trailer (CRC), so gzip may even pass.
    const p = join(layout, 'blobs', 'sha256', l2!.slice(7));
    const b = readFileSync(p);
    b[b.length - 6] ^= 1;
    writeFileSync(p, b);
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci', `--per-layer=${join(out, 'layers')}`, join(out, 'flat.erofs'), `${layout}:t`]);
    assert.equal(r.code, 1, describeRun('mkfs-erofs', r));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`(digest mismatch|bad gzip).*${l2!.slice(0, 20)}`));
    // The per-layer directory may have been created, but holds nothing.
    for (const n of readdirSync(out)) {
      assert.equal(n, 'layers');
      assert.deepEqual(readdirSync(join(out, n)), []);
    }
    void l1;
  });

  it('an unsupported layer media type and a missing blob fail cleanly', async (t) => {
    if (skipIf(t, missing)) return;
    const { inp, out } = dirs(t);
    const layout = join(inp, 'layout');
    const [l1] = ociLayout(layout, [makeTar([{ name: 'a', body: 'one' }])]);
    const blob = join(layout, 'blobs', 'sha256', l1!.slice(7));
    writeFileSync(blob + '.moved', readFileSync(blob));
    await import('node:fs/promises').then((fs) => fs.rm(blob));
    const r = await runCli('mkfs-erofs', ['--quiet', '--oci', join(out, 'x.erofs'), layout]);
    expectFailure(r, /missing blob|no such/i, out);
  });

  describe('contained cases (through the kernel)', () => {
    const skipMount = async (): Promise<string | null> => missing ?? canDescribe() ?? (await canMount());

    it('absolute paths, ./ prefixes and duplicate slashes stay inside the image', async (t) => {
      if (skipIf(t, await skipMount())) return;
      const marker = `erofs-ts-hostile-${process.pid}`;
      const { r, img } = await tarCase(t, [
        { name: `/tmp/${marker}`, body: 'abs\n' },
        { name: `.//./tmp//${marker}-2`, body: 'dots\n' },
      ]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
      const paths = (await describeImage(img)).map((e) => e.path);
      assert.ok(paths.includes(`/tmp/${marker}`) && paths.includes(`/tmp/${marker}-2`), paths.join(' '));
      assert.ok(!existsSync(`/tmp/${marker}`) && !existsSync(`/tmp/${marker}-2`), 'nothing is written on the host');
    });

    it('duplicates: the later entry wins (file over file, dir over file, file over dir)', async (t) => {
      if (skipIf(t, await skipMount())) return;
      const { r, img } = await tarCase(t, [
        { name: 'a', body: 'first\n' },
        { name: 'a', body: 'second, longer\n', mode: 0o600 },
        { name: 'b', body: 'a file first' },
        { name: 'b/', type: '5', mode: 0o700 },
        { name: 'b/inner', body: 'in\n' },
        { name: 'c/', type: '5' },
        { name: 'c/x', body: 'gone with c' },
        { name: 'c', body: 'file now\n' },
      ]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
      const e = new Map((await describeImage(img)).map((x) => [x.path, x]));
      assert.equal(e.get('/a')?.sha256, sha(enc.encode('second, longer\n')));
      assert.equal(e.get('/a')?.mode, '0600');
      assert.equal(e.get('/b')?.type, 'dir');
      assert.equal(e.get('/b/inner')?.size, 3);
      assert.equal(e.get('/c')?.type, 'file');
      assert.ok(!e.has('/c/x'));
    });

    it('a symlink to the outside followed by a member through it is contained', async (t) => {
      if (skipIf(t, await skipMount())) return;
      const marker = `erofs-ts-hostile-link-${process.pid}`;
      const { r, img } = await tarCase(t, [
        { name: 'esc', type: '2', linkname: '/tmp' },
        { name: `esc/${marker}`, body: 'through the link\n' },
      ]);
      assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
      const e = new Map((await describeImage(img)).map((x) => [x.path, x]));
      assert.equal(e.get('/esc')?.type, 'dir', 'the member replaces the symlink by a directory, as extraction would');
      assert.ok(e.has(`/esc/${marker}`));
      assert.ok(!existsSync(`/tmp/${marker}`));
    });
  });
});
