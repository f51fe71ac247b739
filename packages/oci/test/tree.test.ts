// Tar -> tree: extraction semantics, whiteouts (--aufs, flatten), --ovlfs-strip
// and hostile paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErofsError } from '@erofs/format';
import { tarToTree, flattenLayers, layerTree, type InodeNode } from '../src/index.js';
import { describeTree, hashingWriter, makeTar, type MemberSpec } from './lib.js';

const tree = (members: MemberSpec[], opts = {}) => tarToTree([makeTar(members)], { writeData: hashingWriter(), ...opts });
const layer = (digest: string, members: MemberSpec[]) => ({ digest, open: async function* () { yield makeTar(members); } });
const get = (root: InodeNode, path: string): InodeNode | undefined => {
  let n: InodeNode | undefined = root;
  for (const c of path.split('/').filter(Boolean)) n = n?.entries?.get(c)?.node;
  return n;
};

test('paths: leading ./ and /, implicit parents inherit like mkfs.erofs', async () => {
  const r = await tree([
    { name: './', type: '5', mode: 0o775, uid: 5, gid: 6, mtime: 123 },
    { name: '/abs/file', body: 'a' },
    { name: './a/b/c', body: 'c', mode: 0o600 },
  ]);
  const d = describeTree(r);
  assert.deepEqual([...d.keys()].sort(), ['/', '/a', '/a/b', '/a/b/c', '/abs', '/abs/file']);
  assert.deepEqual(d.get('/a'), { type: 'dir', mode: '775', uid: 5, gid: 6, mtime: '123.000000000' });
  assert.equal(d.get('/a/b/c')!.mode, '600');
});

test("'..' components: rejected by default, contained at the root on request", async () => {
  await assert.rejects(tree([{ name: 'a/../../etc/passwd', body: 'x' }]), (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL' && /\.\./.test(e.message) && e.where === 'a/../../etc/passwd');
  const r = await tree([{ name: 'a/../../etc/passwd', body: 'x' }, { name: '../../x', body: 'y' }], { dotdot: 'contain' });
  assert.deepEqual([...describeTree(r).keys()].sort(), ['/', '/etc', '/etc/passwd', '/x']);
  await assert.rejects(tree([{ name: 'a', type: '1', linkname: '../../etc/shadow' }]), /\.\./);
});

test('duplicates: later entry wins; dir over dir keeps children; file over dir replaces', async () => {
  const r = await tree([
    { name: 'd/', type: '5', mode: 0o700 },
    { name: 'd/x', body: 'x' },
    { name: 'f', body: 'one' },
    { name: 'f', body: 'two' },
    { name: 'd/', type: '5', mode: 0o711, uid: 9 },
    { name: 'e/', type: '5' },
    { name: 'e/y', body: 'y' },
    { name: 'e', body: 'now a file' },
  ]);
  const d = describeTree(r);
  assert.equal(d.get('/d')!.mode, '711');
  assert.equal(d.get('/d')!.uid, 9);
  assert.ok(d.has('/d/x'));
  assert.equal(get(r, 'e')!.type, 'file');
  assert.ok(!d.has('/e/y'));
  assert.equal(get(r, 'f')!.size, 3);
});

test('hard links share the node; bad targets fail', async () => {
  const r = await tree([{ name: 'a', body: 'data' }, { name: 'dir/b', type: '1', linkname: './a' }]);
  assert.equal(get(r, 'a'), get(r, 'dir/b'));
  await assert.rejects(tree([{ name: 'b', type: '1', linkname: 'nope' }]), (e: unknown) => e instanceof ErofsError && e.code === 'ENOENT');
  await assert.rejects(tree([{ name: 'd/', type: '5' }, { name: 'b', type: '1', linkname: 'd' }]), (e: unknown) => e instanceof ErofsError && e.code === 'EISDIR');
});

test('devices, fifos, symlinks, xattrs, ACL validation', async () => {
  const acl = new Uint8Array([2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, 4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff]);
  const r = await tree([
    { name: 'c', type: '3', devmajor: 1, devminor: 3 },
    { name: 'p', type: '6' },
    { name: 's', type: '2', linkname: '/abs/target' },
    { name: 'f', body: 'x', pax: { 'SCHILY.xattr.system.posix_acl_access': acl, 'SCHILY.xattr.user.a': 'b' } },
  ]);
  assert.deepEqual(get(r, 'c')!.rdev, { major: 1, minor: 3 });
  assert.equal(get(r, 'p')!.type, 'fifo');
  assert.equal(new TextDecoder().decode(get(r, 's')!.target), '/abs/target');
  assert.deepEqual(get(r, 'f')!.xattrs.get('system.posix_acl_access'), acl);
  await assert.rejects(tree([{ name: 'f', pax: { 'SCHILY.xattr.system.posix_acl_access': 'text' } }]), /POSIX ACL/);
});

test('plain mode keeps .wh. files; --aufs converts them; --ovlfs-strip drops them', async () => {
  const members: MemberSpec[] = [
    { name: 'd/', type: '5' },
    { name: 'd/.wh.gone', mode: 0 },
    { name: 'o/', type: '5' },
    { name: 'o/.wh..wh..opq' },
    { name: 'o/keep', body: 'k' },
  ];
  const plain = describeTree(await tree(members));
  assert.ok(plain.has('/d/.wh.gone') && plain.has('/o/.wh..wh..opq'));
  const aufs = describeTree(await tree(members, { aufs: true }));
  assert.equal(aufs.get('/d/gone')!.rdev, '0:0');
  assert.equal(aufs.get('/d/gone')!.type, 'chardev');
  assert.match(String(aufs.get('/d')!.xattrs), /trusted.overlay.origin=/);
  assert.match(String(aufs.get('/o')!.xattrs), /trusted.overlay.opaque=79/);
  assert.ok(aufs.has('/o/keep') && !aufs.has('/o/.wh..wh..opq'));
  const stripped = describeTree(await tree(members, { aufs: true, ovlfsStrip: true }));
  assert.ok(!stripped.has('/d/gone'));
  assert.equal(stripped.get('/o')!.xattrs, undefined);
  await assert.rejects(tree([{ name: 'd/.wh..' }], { aufs: true }), /escapes its directory/);
});

test('flatten: whiteouts delete lower entries only, opaque dirs hide lower contents', async () => {
  const w = hashingWriter();
  const r = await flattenLayers([
    layer('sha256:l1', [
      { name: 'keep', body: 'k' }, { name: 'gone/', type: '5' }, { name: 'gone/x', body: 'never written' },
      { name: 'o/', type: '5' }, { name: 'o/old', body: 'hidden' }, { name: 'o/sub/deep', body: 'hidden too' },
      { name: 'replaced', body: 'old' }, { name: 'hl', type: '1', linkname: 'replaced' },
    ]),
    layer('sha256:l2', [
      { name: '.wh.gone' }, { name: 'o/', type: '5', mode: 0o700 }, { name: 'o/new', body: 'n' }, { name: 'o/.wh..wh..opq' },
      { name: 'replaced', body: 'new' }, { name: 'same', body: 's' }, { name: '.wh.same' },
      { name: 'sub/.wh.nothing' },
    ]),
  ], { writeData: w });
  const d = describeTree(r);
  assert.deepEqual([...d.keys()].sort(), ['/', '/hl', '/keep', '/o', '/o/new', '/replaced', '/same']);
  assert.equal(d.get('/o')!.mode, '700');
  // The old 'replaced' survives through the hard link; 'gone/x' and 'o/old' are never written.
  assert.deepEqual(w.calls.sort(), ['/keep', '/o/new', '/replaced', '/replaced', '/same']);
  assert.notEqual(get(r, 'hl'), get(r, 'replaced'));
});

test('flatten: a whiteout cannot escape its directory; errors name the layer', async () => {
  await assert.rejects(flattenLayers([layer('sha256:bad', [{ name: 'a/.wh...' }])], { writeData: hashingWriter() }),
    (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL' && /escapes/.test(e.message) && /sha256:bad/.test(e.message));
  await assert.rejects(flattenLayers([layer('sha256:bad', [{ name: '../.wh.etc' }])], { writeData: hashingWriter() }), /\.\./);
  const r = await flattenLayers([layer('sha256:a', [{ name: 'etc/passwd', body: 'p' }]), layer('sha256:b', [{ name: 'x/../../.wh.etc' }])],
    { writeData: hashingWriter(), dotdot: 'contain' });
  // Contained: '../..' stops at the root, so this deletes /etc and nothing outside.
  assert.ok(!describeTree(r).has('/etc'));
});

test('one-pass flatten writes everything; per-layer tree keeps overlay whiteouts', async () => {
  const w = hashingWriter();
  await flattenLayers([layer('sha256:1', [{ name: 'a', body: 'x' }]), layer('sha256:2', [{ name: '.wh.a' }])], { writeData: w, passes: 1 });
  assert.deepEqual(w.calls, ['/a']);
  const t = describeTree(await layerTree(layer('sha256:2', [{ name: '.wh.a' }]), { writeData: hashingWriter() }));
  assert.equal(t.get('/a')!.rdev, '0:0');
});
