import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as F from '@erofs/format';

// EROFS_SHARED is set by scripts/test.mjs; else ../shared beside the repository
const FIX = process.env['EROFS_SHARED']
  ? `${process.env['EROFS_SHARED']}/fixtures/images/`
  : fileURLToPath(new URL('../../../../shared/fixtures/images/', import.meta.url));
const images = JSON.parse(readFileSync(FIX + 'images.json', 'utf8')).images as Array<{
  file: string; superblock: Record<string, unknown>;
}>;

test('crc32c and xxh32 match published check values', () => {
  const nine = new TextEncoder().encode('123456789');
  assert.equal(F.crc32c(nine), 0xe3069283);
  assert.equal(F.xxh32(new Uint8Array(0), 0), 0x02cc5d05);
  assert.equal(F.xxh32(nine, 0), 0x937bad67);
  // longer than 16 bytes exercises the four-lane loop
  assert.equal(F.xxh32(new TextEncoder().encode('Nobody inspects the spammish repetition'), 0), 0xe2293b2f);
});

test('structure sizes', () => {
  assert.equal(F.SUPERBLOCK_SIZE, 144);
  assert.equal(F.INODE_COMPACT_SIZE, 32);
  assert.equal(F.INODE_EXTENDED_SIZE, 64);
  assert.equal(F.DIRENT_SIZE, 12);
  assert.equal(F.XATTR_IBODY_HEADER_SIZE, 12);
  assert.equal(F.XATTR_ENTRY_SIZE, 4);
  assert.equal(F.CHUNK_INDEX_SIZE, 8);
  assert.equal(F.DEVICE_SLOT_SIZE, 128);
  assert.equal(F.MAP_HEADER_SIZE, 8);
  assert.equal(F.LCLUSTER_INDEX_SIZE, 8);
});

test('every fixture superblock decodes to the fields dump.erofs reported, and its checksum verifies', () => {
  for (const im of images) {
    const img = readFileSync(FIX + im.file);
    const region = img.subarray(F.EROFS_SUPER_OFFSET);
    const sb = F.decodeSuperblock(region);
    const exp = im.superblock;
    assert.equal(sb.magic, F.EROFS_SUPER_MAGIC_V1, im.file);
    assert.equal(sb.blkszbits, exp.blkszbits, im.file);
    assert.equal(sb.featureCompat, exp.feature_compat, im.file);
    assert.equal(sb.featureIncompat, exp.feature_incompat, im.file);
    assert.equal(F.rootNid(sb).toString(), exp.root_nid, im.file);
    assert.equal(Number(sb.inos), exp.inos, im.file);
    assert.equal(F.totalBlocks(sb), exp.blocks, im.file);
    assert.equal(sb.xattrPrefixCount, exp.xattr_prefix_count, im.file);
    assert.equal(sb.ishareXattrPrefixId, exp.ishare_xattr_prefix_id, im.file);
    assert.equal(sb.packedNid.toString(), exp.packed_nid, im.file);
    if (sb.featureCompat & F.FeatureCompat.SB_CHKSUM) {
      assert.equal(F.superblockChecksum(region, sb.blkszbits), sb.checksum, im.file);
    }
    // round trip: the meaningful 128 + sb_extslots * 16 bytes come back the same
    const out = new Uint8Array(F.SUPERBLOCK_SIZE);
    F.encodeSuperblock(sb, out);
    const n = F.superblockSize(sb);
    assert.deepEqual(out.subarray(0, n), new Uint8Array(region.subarray(0, n)), im.file);
  }
});

test('a flipped superblock byte changes the checksum', () => {
  const img = new Uint8Array(readFileSync(FIX + 'plain.erofs'));
  const region = img.subarray(F.EROFS_SUPER_OFFSET);
  const sb = F.decodeSuperblock(region);
  region[200] = region[200]! ^ 1;
  assert.notEqual(F.superblockChecksum(region, sb.blkszbits), sb.checksum);
});

test('inodes round-trip in both forms', () => {
  const compact: F.DiskInode = {
    version: 0, format: 0, datalayout: F.DataLayout.FLAT_INLINE, xattrIcount: 3, mode: 0o100644,
    nb: 2, size: 4097, mtime: 12n, mtimeNsec: 0, iu: 77, ino: 5, uid: 1000, gid: 65535, nlink: 2,
  };
  const b = new Uint8Array(64);
  F.encodeInode(compact, b, 0);
  assert.equal(F.inodeSize(b[0]! | (b[1]! << 8)), 32);
  assert.deepEqual(F.decodeInode(b, 0), { ...compact, format: F.DataLayout.FLAT_INLINE << 1 });
  const ext: F.DiskInode = {
    version: 1, format: 1, datalayout: F.DataLayout.CHUNK_BASED, xattrIcount: 0, mode: 0o100600,
    nb: 0, size: 2 ** 33 + 5, mtime: -5n, mtimeNsec: 999999999, iu: 0x23, ino: 9,
    uid: 100000, gid: 4294967294, nlink: 70000,
  };
  F.encodeInode(ext, b, 0);
  assert.equal(F.inodeSize(b[0]! | (b[1]! << 8)), 64);
  assert.deepEqual(F.decodeInode(b, 0), { ...ext, format: 1 | (F.DataLayout.CHUNK_BASED << 1) });
});

test('compact NLINK_1 bit means nlink 1 for non-directories only', () => {
  const b = new Uint8Array(32);
  const base: F.DiskInode = {
    version: 0, format: 1 << F.EROFS_I_NLINK_1_BIT, datalayout: 0, xattrIcount: 0, mode: 0o100644,
    nb: 7, size: 0, mtime: 0n, mtimeNsec: 0, iu: 0, ino: 0, uid: 0, gid: 0, nlink: 1,
  };
  F.encodeInode(base, b, 0);
  assert.equal(F.decodeInode(b, 0).nlink, 1);
  assert.equal(F.decodeInode(b, 0).nb, 7);
  F.encodeInode({ ...base, mode: 0o40755 }, b, 0);
  assert.equal(F.decodeInode(b, 0).nlink, 7);
});

test('device numbers use the kernel new_encode_dev layout', () => {
  assert.equal(F.encodeDev(1, 3), 0x103);
  assert.deepEqual(F.decodeDev(F.encodeDev(511, 70000)), { major: 511, minor: 70000 });
  assert.deepEqual(F.decodeDev(F.encodeDev(8, 1)), { major: 8, minor: 1 });
});

test('dirent, chunk index, device slot, xattr, map header and lcluster index round-trip', () => {
  const b = new Uint8Array(256);
  const d: F.Dirent = { nid: (1n << 63n) | 12345n, nameoff: 36, fileType: F.FileType.SYMLINK };
  F.encodeDirent(d, b, 0);
  assert.deepEqual(F.decodeDirent(b, 0), d);
  const c: F.ChunkIndex = { startblkHi: 3, deviceId: 2, startblkLo: F.EROFS_NULL_ADDR };
  F.encodeChunkIndex(c, b, 0);
  assert.deepEqual(F.decodeChunkIndex(b, 0), c);
  const tag = new Uint8Array(64).fill(0x61);
  const s: F.DeviceSlot = { tag, blocks: 2 ** 40 + 3, uniaddr: 2 ** 33 + 1 };
  F.encodeDeviceSlot(s, b, 0);
  assert.deepEqual(F.decodeDeviceSlot(b, 0), s);
  const h: F.XattrIbodyHeader = { nameFilter: 0xfffffffe, sharedCount: 5 };
  F.encodeXattrIbodyHeader(h, b, 0);
  assert.deepEqual(F.decodeXattrIbodyHeader(b, 0), h);
  const e: F.XattrEntryHeader = { nameLen: 7, nameIndex: 0x81, valueSize: 39 };
  F.encodeXattrEntry(e, b, 0);
  assert.deepEqual(F.decodeXattrEntry(b, 0), e);
  assert.equal(F.xattrEntrySize(7, 39), 52);
  assert.equal(F.xattrIbodySize(F.xattrIcount(12 + 52)), 64);
  const m: F.MapHeader = { word0: 0x00400000, advise: 0x0b, algorithmtype: 0x30, clusterbits: 0x80 };
  F.encodeMapHeader(m, b, 0);
  assert.deepEqual(F.decodeMapHeader(b, 0), m);
  assert.equal(F.mapHeaderIdataSize(m), 0x40);
  const l: F.LclusterIndex = { advise: 2 | F.Z_EROFS_LI_D0_CBLKCNT, clusterofs: 100, u: (5 << 16) | 9 };
  F.encodeLclusterIndex(l, b, 0);
  assert.deepEqual(F.decodeLclusterIndex(b, 0), l);
  const p: F.LongPrefix = { baseIndex: 0, infix: new TextEncoder().encode('erofs.fingerprint.v1') };
  assert.equal(F.encodeLongPrefix(p, b, 0), 24);
  assert.equal(b[0]! | (b[1]! << 8), 21);
});

test('xattr names split into the kernel short prefixes', () => {
  assert.deepEqual(F.splitXattrName('user.foo'), { index: 1, suffix: 'foo' });
  assert.deepEqual(F.splitXattrName('trusted.overlay.opaque'), { index: 4, suffix: 'overlay.opaque' });
  assert.deepEqual(F.splitXattrName('security.selinux'), { index: 6, suffix: 'selinux' });
  assert.deepEqual(F.splitXattrName('system.posix_acl_access'), { index: 2, suffix: '' });
  assert.deepEqual(F.splitXattrName('system.posix_acl_default'), { index: 3, suffix: '' });
  assert.deepEqual(F.splitXattrName('erofs.fingerprint.v1'), { index: 0, suffix: 'erofs.fingerprint.v1' });
});

test('ACLs round-trip and print like getfacl', () => {
  const acl: F.AclEntry[] = [
    { tag: F.AclTag.USER_OBJ, perm: 6 }, { tag: F.AclTag.USER, perm: 4, id: 1000 },
    { tag: F.AclTag.GROUP_OBJ, perm: 4 }, { tag: F.AclTag.MASK, perm: 6 }, { tag: F.AclTag.OTHER, perm: 0 },
  ];
  assert.deepEqual(F.decodeAcl(F.encodeAcl(acl)), acl);
  assert.equal(F.aclToText(acl), 'user::rw-,user:1000:r--,group::r--,mask::rw-,other::---');
  assert.equal(F.decodeAcl(new Uint8Array(5)), null);
});
