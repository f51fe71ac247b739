/**
 * Unit tests of -E fragments, -E all-fragments and -E dedupe on small
 * in-memory trees (no kernel: test/compress-kernel.test.ts mounts the
 * fixture tree). Images are read back with @erofs/reader: every file must
 * read back as written, and the layout must show what the options promise:
 * shared pclusters, tails and whole files in the packed inode, shared
 * fragments, smaller images.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DataLayout, EROFS_SUPER_OFFSET, FeatureIncompat, decodeSuperblock } from '@erofs/format';
import { MapFlags, openImage, bufferSource, type Image } from '@erofs/reader';
import {
  buildImage, defaultWriterOptions, nameKey, parseCompressionSpecs, type InodeNode, type WriterOptions,
} from '@erofs/writer';

const enc = new TextEncoder();
const work = mkdtempSync(join(tmpdir(), 'erofs-writer-zfrag-'));
after(() => rmSync(work, { recursive: true, force: true }));

const T = { sec: 1700000000n, nsec: 0 };
function dir(entries: Record<string, InodeNode>): InodeNode {
  const m = new Map<string, { name: Uint8Array; node: InodeNode }>();
  for (const [k, node] of Object.entries(entries)) {
    const name = enc.encode(k);
    m.set(nameKey(name), { name, node });
  }
  return { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: T, xattrs: new Map(), entries: m };
}
function file(b: Uint8Array): InodeNode {
  return { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T, xattrs: new Map(), size: b.length, data: { kind: 'bytes', bytes: b } };
}

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Text-like bytes that compress well but not to nothing (words drawn pseudo-randomly). */
function text(n: number, seed: number): Uint8Array {
  const words = ['erofs', 'pcluster', 'lcluster', 'fragment', 'dedupe', 'kernel', 'image', 'block', 'tail', 'packed'];
  const r = noise(n, seed);
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[r[i % n]! % words.length]! + (r[(i * 7) % n]! & 1 ? ' ' : '\n') + (r[(i * 13) % n]! % 97);
  return enc.encode(s.slice(0, n));
}

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const X = text(100 * 1024, 7);
const Y = text(60 * 1024, 11);
const R = noise(32 * 1024, 3);
const SMALL = text(300, 5);
const CONTENT: Record<string, Uint8Array> = {
  'a.bin': X,
  'b.bin': X.slice(), // a duplicate file
  'c.bin': concat(X, Y), // shares its first half with a.bin
  'rep.bin': concat(R, R, R, R), // incompressible, repeating every 32 KiB
  'small.txt': SMALL,
  'small-copy.txt': SMALL.slice(),
  'tail.bin': text(3 * 4096 + 1000, 13),
};
function tree(): InodeNode {
  const e: Record<string, InodeNode> = {};
  for (const [k, v] of Object.entries(CONTENT)) e[k] = file(v);
  return dir(e);
}

function opts(o: Partial<WriterOptions>): WriterOptions {
  return { ...defaultWriterOptions(), compression: parseCompressionSpecs('lz4hc'), workers: 0, ...o };
}

async function build(name: string, o: Partial<WriterOptions>): Promise<{ path: string; bytes: Uint8Array; img: Image }> {
  const path = join(work, name);
  await buildImage(tree(), opts(o), path);
  const bytes = new Uint8Array(readFileSync(path));
  const img = await openImage(bufferSource(bytes));
  return { path, bytes, img };
}

async function extents(img: Image, path: string): Promise<Array<{ la: number; llen: number; pa: number; flags: number }>> {
  const ino = await img.resolve(path);
  const out: Array<{ la: number; llen: number; pa: number; flags: number }> = [];
  for (let la = 0; la < ino.size;) {
    const m = await img.mapExtent(ino, la);
    out.push({ la: m.la, llen: m.llen, pa: m.pa, flags: m.flags });
    la = m.la + m.llen;
  }
  return out;
}

async function assertContent(img: Image): Promise<void> {
  for (const [k, v] of Object.entries(CONTENT)) {
    const got = (await img.readFile('/' + k)) as Uint8Array;
    assert.equal(Buffer.compare(Buffer.from(got), Buffer.from(v)), 0, `content of /${k}`);
  }
}

function sb(bytes: Uint8Array): ReturnType<typeof decodeSuperblock> {
  return decodeSuperblock(bytes, EROFS_SUPER_OFFSET);
}

describe('-E dedupe', () => {
  test('duplicated files and duplicated leading halves share pclusters: a smaller image that reads back', async () => {
    const plain = await build('nodedupe.img', {});
    const dd = await build('dedupe.img', { dedupe: true });
    await assertContent(plain.img);
    await assertContent(dd.img);
    // b.bin (32 KiB compressed or so) and the first half of c.bin are not stored again, nor 3 of rep.bin's 4 copies
    assert.ok(dd.bytes.length + 8 * 4096 <= plain.bytes.length, `dedupe ${dd.bytes.length} vs ${plain.bytes.length} bytes`);
    assert.ok(sb(dd.bytes).featureIncompat & FeatureIncompat.DEDUPE, 'fragments/dedupe feature bit');
    assert.equal(sb(plain.bytes).featureIncompat & FeatureIncompat.DEDUPE, 0);

    const a = await extents(dd.img, '/a.bin');
    const b = await extents(dd.img, '/b.bin');
    assert.deepEqual(b, a, 'b.bin maps onto a.bin\'s pclusters');
    assert.equal((await dd.img.resolve('/b.bin')).datalayout, DataLayout.COMPRESSED_FULL, 'reused pclusters need full indexes');
    assert.equal((await dd.img.resolve('/a.bin')).datalayout, DataLayout.COMPRESSED_COMPACT);
    const c = await extents(dd.img, '/c.bin');
    const shared = c.filter((e, i) => a[i] && e.la === a[i]!.la && e.llen === a[i]!.llen && e.pa === a[i]!.pa);
    assert.ok(shared.length >= a.length - 2, `c.bin shares its leading extents with a.bin (${shared.length} of ${a.length})`);

    // rep.bin: raw blocks repeating within the file; without dedupe it is stored plainly
    assert.equal((await plain.img.resolve('/rep.bin')).datalayout, DataLayout.FLAT_PLAIN);
    const rep = await extents(dd.img, '/rep.bin');
    const pas = new Set(rep.map((e) => e.pa));
    assert.equal(pas.size, R.length / 4096, 'each distinct 4 KiB block stored once');
  });

  test('with big pclusters and -b 512 too', async () => {
    for (const o of [{ pclusterSize: 65536 }, { blkszbits: 9 }] as Array<Partial<WriterOptions>>) {
      const plain = await build('p.img', o);
      const dd = await build('d.img', { ...o, dedupe: true });
      await assertContent(dd.img);
      assert.ok(dd.bytes.length < plain.bytes.length, `${JSON.stringify(o)}: ${dd.bytes.length} < ${plain.bytes.length}`);
      assert.deepEqual(await extents(dd.img, '/b.bin'), await extents(dd.img, '/a.bin'));
    }
  });
});

describe('-E fragments', () => {
  test('tails go to the packed inode; small files entirely; identical fragments stored once', async () => {
    const { bytes, img } = await build('frag.img', { fragments: true });
    await assertContent(img);
    const s = sb(bytes);
    assert.ok(s.packedNid > 0n, 'packed_nid');
    assert.ok(s.featureIncompat & FeatureIncompat.FRAGMENTS);

    // a file that fits in one pcluster is a fragment as a whole (map header only)
    const small = await extents(img, '/small.txt');
    assert.equal(small.length, 1);
    assert.ok(small[0]!.flags & MapFlags.FRAGMENT);
    assert.equal(small[0]!.llen, SMALL.length);
    const smallIno = await img.resolve('/small.txt');
    assert.equal(smallIno.datalayout, DataLayout.COMPRESSED_FULL);
    const copy = await extents(img, '/small-copy.txt');
    assert.equal(copy[0]!.pa, small[0]!.pa, 'identical whole-file fragments share their bytes in the packed inode');

    // a longer file: pclusters, then its tail as the last extent, a fragment
    const t = await extents(img, '/tail.bin');
    assert.ok(t.length >= 2);
    assert.ok(t.at(-1)!.flags & MapFlags.FRAGMENT, 'last extent is the fragment');
    for (const e of t.slice(0, -1)) assert.equal(e.flags & MapFlags.FRAGMENT, 0);
    const a = await extents(img, '/a.bin');
    const b = await extents(img, '/b.bin');
    assert.equal(b.at(-1)!.pa, a.at(-1)!.pa, 'identical tails share one fragment');

    // the packed inode is an inode (not in any directory) read like any file
    const packed = await img.inode(s.packedNid);
    assert.ok(packed.size > SMALL.length);
    assert.equal((await img.readInodeRange(packed, 0, packed.size)).length, packed.size);
  });

  test('-E all-fragments: every compressed file is one fragment; fingerprints hash the content', async () => {
    const FP = 'trusted.erofs.fingerprint';
    const { img } = await build('allfrag.img', { fragments: true, allFragments: true, ishareKey: FP });
    await assertContent(img);
    for (const [k, v] of Object.entries(CONTENT)) {
      const e = await extents(img, '/' + k);
      assert.equal(e.length, 1, `/${k}: one extent`);
      assert.ok(e[0]!.flags & MapFlags.FRAGMENT, `/${k}: in the packed inode`);
      const fp = await img.getxattr('/' + k, FP);
      const want = concat(enc.encode('sha256:'), createHash('sha256').update(v).digest());
      assert.deepEqual(Buffer.from(fp), Buffer.from(want), `/${k}: fingerprint`);
    }
    assert.equal((await extents(img, '/b.bin'))[0]!.pa, (await extents(img, '/a.bin'))[0]!.pa, 'duplicate files share');
  });

  test('files over one segment, a packed inode over its memory buffer (scratch file, rewinds)', async () => {
    const big = text(9 << 20, 17); // three 4 MiB segments
    const other = text(5 << 20, 19);
    const files: Record<string, Uint8Array> = { 'big.bin': big, 'big-copy.bin': big.slice(), 'other.bin': other, 'z.txt': SMALL };
    const e: Record<string, InodeNode> = {};
    for (const [k, v] of Object.entries(files)) e[k] = file(v);
    for (const o of [{ fragments: true }, { fragments: true, allFragments: true }, { fragments: true, dedupe: true }] as Array<Partial<WriterOptions>>) {
      const imgs: Uint8Array[] = [];
      for (const workers of [0, 2]) {
        const path = join(work, `big-${workers}.img`);
        await buildImage(dir(e), opts({ ...o, workers, compression: parseCompressionSpecs('lz4') }), path);
        imgs.push(new Uint8Array(readFileSync(path)));
      }
      assert.equal(Buffer.compare(Buffer.from(imgs[0]!), Buffer.from(imgs[1]!)), 0, `${JSON.stringify(o)}: workers=2 vs 0`);
      const img = await openImage(bufferSource(imgs[0]!));
      for (const [k, v] of Object.entries(files)) {
        const got = (await img.readFile('/' + k)) as Uint8Array;
        assert.equal(Buffer.compare(Buffer.from(got), Buffer.from(v)), 0, `${JSON.stringify(o)}: content of /${k}`);
      }
      const b = await extents(img, '/big.bin');
      assert.ok(b.at(-1)!.flags & MapFlags.FRAGMENT, 'the last segment\'s tail is the fragment');
      const c = await extents(img, '/big-copy.bin');
      assert.equal(c.at(-1)!.pa, b.at(-1)!.pa, 'the copy shares its fragment');
      if (o.dedupe || o.allFragments) assert.deepEqual(c, b, 'and with dedupe its pclusters');
      else assert.notEqual(c[0]!.pa, b[0]!.pa, 'without dedupe the copy has pclusters of its own');
      if (o.allFragments) {
        // both copies in one 9 MiB fragment: the packed inode holds big + other + small once
        const packed = await img.inode(decodeSuperblock(imgs[0]!, EROFS_SUPER_OFFSET).packedNid);
        assert.equal(packed.size, big.length + other.length + SMALL.length);
      }
    }
  });

  test('fragments + dedupe + ztailpacking: smaller than without, same bytes whatever the workers', async () => {
    const base = await build('zt.img', { ztailpacking: true });
    const both = await build('fd.img', { fragments: true, dedupe: true, ztailpacking: true });
    await assertContent(both.img);
    assert.ok(both.bytes.length < base.bytes.length, `${both.bytes.length} < ${base.bytes.length}`);
    const w2 = await build('fd2.img', { fragments: true, dedupe: true, ztailpacking: true, workers: 2 });
    assert.equal(Buffer.compare(Buffer.from(w2.bytes), Buffer.from(both.bytes)), 0, 'workers=2 vs 0');
  });
});
