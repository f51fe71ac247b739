/**
 * Unit tests of the writer's layout rules, on in-memory trees (no kernel):
 * directory blocks, epoch choice, xattr sharing and ibodies, inline tails,
 * determinism, streaming failures and temp-file cleanup.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DIRENT_SIZE, EROFS_SUPER_OFFSET, ErofsError, decodeDirent, decodeInode, decodeSuperblock, superblockChecksum,
  xattrIbodySize, DataLayout,
} from '@erofs/format';
import {
  ImageWriter, buildImage, chooseEpoch, defaultWriterOptions, dirSize, encodeDir, nameKey, scanDirectory,
  validateIshareKey, type InodeNode, type WriterOptions,
} from '@erofs/writer';

const enc = new TextEncoder();
const work = mkdtempSync(join(tmpdir(), 'erofs-writer-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

const T = { sec: 1700000000n, nsec: 0 };
function dir(entries: Record<string, InodeNode>, extra: Partial<InodeNode> = {}): InodeNode {
  const m = new Map<string, { name: Uint8Array; node: InodeNode }>();
  for (const [k, node] of Object.entries(entries)) {
    const name = enc.encode(k);
    m.set(nameKey(name), { name, node });
  }
  return { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: T, xattrs: new Map(), entries: m, ...extra };
}
function file(bytes: Uint8Array | string, extra: Partial<InodeNode> = {}): InodeNode {
  const b = typeof bytes === 'string' ? enc.encode(bytes) : bytes;
  return { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T, xattrs: new Map(), size: b.length, data: { kind: 'bytes', bytes: b }, ...extra };
}
function opts(o: Partial<WriterOptions> = {}): WriterOptions {
  return { ...defaultWriterOptions(), ...o };
}
let n = 0;
const out = (): string => join(work, `img-${n++}.erofs`);

/** Minimal image parser for the assertions: superblock and inode at nid. */
function parse(img: Buffer) {
  const sb = decodeSuperblock(img, EROFS_SUPER_OFFSET);
  const bs = 2 ** sb.blkszbits;
  const inodeAt = (nid: bigint) => {
    const off = sb.metaBlkaddr * bs + Number(nid) * 32;
    return { off, ino: decodeInode(img, off) };
  };
  return { sb, bs, inodeAt };
}

describe('directory blocks', () => {
  test('entries never straddle a block; names follow dirents', () => {
    const names = ['.', '..', ...Array.from({ length: 300 }, (_, i) => `name-${String(i).padStart(4, '0')}`)].map((s) => enc.encode(s));
    const size = dirSize(names.map((x) => x.length), 512);
    const bytes = encodeDir(names.map((name, i) => ({ name, nid: BigInt(i + 1), fileType: 1 })), 512, size);
    assert.equal(bytes.length, size);
    let seen = 0;
    for (let blk = 0; blk < size; blk += 512) {
      const first = decodeDirent(bytes, blk);
      const count = first.nameoff / DIRENT_SIZE;
      assert.ok(count >= 1);
      for (let k = 0; k < count; k++) {
        const d = decodeDirent(bytes, blk + k * DIRENT_SIZE);
        assert.equal(d.nid, BigInt(seen + 1));
        const name = Buffer.from(names[seen]!);
        assert.deepEqual(Buffer.from(bytes.subarray(blk + d.nameoff, blk + d.nameoff + name.length)), name);
        seen++;
      }
    }
    assert.equal(seen, names.length);
  });
  test('dirSize rounds up to the next block when an entry does not fit', () => {
    assert.equal(dirSize([500], 512), 512);
    assert.equal(dirSize([490, 10], 512), 512 + 22);
  });
});

describe('epoch choice', () => {
  test('most common nanoseconds, widest 2^32 s window', () => {
    const r = chooseEpoch([
      { sec: 0n, nsec: 0 }, { sec: 1700000000n, nsec: 0 }, { sec: 4294967297n, nsec: 5 }, { sec: 1600000000n, nsec: 123 },
    ]);
    assert.deepEqual(r, { epoch: 0n, fixedNsec: 0 });
    assert.deepEqual(chooseEpoch([{ sec: 5n, nsec: 7 }, { sec: 6n, nsec: 7 }, { sec: 1n, nsec: 0 }]), { epoch: 5n, fixedNsec: 7 });
  });
});

describe('fingerprint names', () => {
  test('invalid names are EINVAL', () => {
    for (const bad of ['', 'x'.repeat(256), 'trusted.', 'user.', 'a\0b', 'system.foo']) {
      assert.throws(() => validateIshareKey(bad), (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL', JSON.stringify(bad));
    }
    validateIshareKey('trusted.erofs.fingerprint');
    validateIshareKey('erofs.fingerprint.v1');
  });
  test('an invalid name fails before anything is written', async () => {
    const p = out();
    await assert.rejects(buildImage(dir({}), opts({ ishareKey: '' }), p), (e: unknown) => e instanceof ErofsError && e.code === 'EINVAL');
    assert.deepEqual(readdirSync(work).filter((f) => f.includes(p.split('/').pop()!)), []);
  });
});

describe('images', () => {
  test('superblock checksum, root nid, compact inodes, inline tail within one block', async () => {
    const p = out();
    const big = new Uint8Array(4096 + 100).fill(7);
    await buildImage(dir({ a: file('hello'), b: file(big), e: file('') }), opts(), p);
    const img = readFileSync(p);
    const { sb, bs, inodeAt } = parse(img);
    assert.equal(sb.checksum, superblockChecksum(img.subarray(EROFS_SUPER_OFFSET), sb.blkszbits));
    assert.equal(img.length % bs, 0);
    const root = inodeAt(BigInt(sb.rootnid2b));
    assert.equal(root.ino.version, 0);
    assert.equal(root.ino.mode & 0o170000, 0o040000);
    // walk the root directory (inline)
    assert.equal(root.ino.datalayout, DataLayout.FLAT_INLINE);
    const dbase = root.off + 32 + xattrIbodySize(root.ino.xattrIcount);
    const count = decodeDirent(img, dbase).nameoff / DIRENT_SIZE;
    assert.equal(count, 5);
    const kids = new Map<string, bigint>();
    for (let k = 0; k < count; k++) {
      const d = decodeDirent(img, dbase + k * DIRENT_SIZE);
      const end = k + 1 < count ? decodeDirent(img, dbase + (k + 1) * DIRENT_SIZE).nameoff : root.ino.size;
      kids.set(img.subarray(dbase + d.nameoff, dbase + end).toString(), d.nid);
    }
    assert.deepEqual([...kids.keys()], ['.', '..', 'a', 'b', 'e']);
    const b = inodeAt(kids.get('b')!);
    assert.equal(b.ino.datalayout, DataLayout.FLAT_INLINE);
    assert.equal(b.ino.size, 4196);
    const tailAt = b.off + 32;
    assert.ok((tailAt % bs) + 100 <= bs, 'inline tail crosses a block');
    assert.deepEqual(img.subarray(tailAt, tailAt + 100), Buffer.alloc(100, 7));
    assert.deepEqual(img.subarray(b.ino.iu * bs, b.ino.iu * bs + 4096), Buffer.alloc(4096, 7));
    const e = inodeAt(kids.get('e')!);
    assert.equal(e.ino.datalayout, DataLayout.FLAT_PLAIN);
    assert.equal(e.ino.iu, 0xffffffff);
  });

  test('extended inodes only where a field does not fit', async () => {
    const p = out();
    const tree = dir({
      small: file('x'),
      bigUid: file('x', { uid: 70000 }),
      ns: file('x', { mtime: { sec: 1700000000n, nsec: 5 } }),
    });
    await buildImage(tree, opts(), p);
    const img = readFileSync(p);
    const { sb, inodeAt } = parse(img);
    assert.equal(sb.fixedNsec, 0);
    // nids follow sorted names after the root: bigUid, ns, small
    const root = inodeAt(BigInt(sb.rootnid2b));
    const dbase = root.off + 32;
    const nids = [2, 3, 4].map((k) => decodeDirent(img, dbase + k * DIRENT_SIZE).nid);
    assert.deepEqual(nids.map((nid) => inodeAt(nid).ino.version), [1, 1, 0]);
  });

  test('shared xattrs: a pair on more than `tolerance` inodes is stored once', async () => {
    const x = () => new Map([['user.tag', enc.encode('the same value')]]);
    const tree = dir({ a: file('1', { xattrs: x() }), b: file('2', { xattrs: x() }), c: file('3', { xattrs: x() }) });
    const p1 = out();
    await buildImage(tree, opts(), p1);
    const img = readFileSync(p1);
    const count = (b: Buffer) => b.toString('latin1').split('the same value').length - 1;
    assert.equal(count(img), 1);
    const p2 = out();
    await buildImage(tree, opts({ xattrTolerance: 3 }), p2);
    assert.equal(count(readFileSync(p2)), 3);
  });

  test('deterministic: same tree and options give identical bytes', async () => {
    const mk = () => dir({
      z: file('zzz', { xattrs: new Map([['user.b', enc.encode('2')], ['user.a', enc.encode('1')]]) }),
      d: dir({ f: file(new Uint8Array(10000).fill(1)) }),
      s: { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: T, xattrs: new Map(), target: enc.encode('d/f') },
    });
    const a = out();
    const b = out();
    await buildImage(mk(), opts({ uuid: new Uint8Array(16).fill(9) }), a);
    await buildImage(mk(), opts({ uuid: new Uint8Array(16).fill(9) }), b);
    assert.deepEqual(readFileSync(a), readFileSync(b));
  });

  test('hard links are one inode with nlink', async () => {
    const f = file('shared');
    const p = out();
    await buildImage(dir({ a: f, b: f, sub: dir({ c: f }) }), opts(), p);
    const img = readFileSync(p);
    const { sb, inodeAt } = parse(img);
    assert.equal(sb.inos, 3n);
    const root = inodeAt(BigInt(sb.rootnid2b));
    const a = decodeDirent(img, root.off + 32 + 2 * DIRENT_SIZE).nid;
    const b = decodeDirent(img, root.off + 32 + 3 * DIRENT_SIZE).nid;
    assert.equal(a, b);
    assert.equal(inodeAt(a).ino.nlink, 3);
    assert.equal(root.ino.nlink, 3);
  });
});

describe('streaming', () => {
  test('ImageWriter.writeData before finish (a tar-like source)', async () => {
    const p = out();
    const w = await ImageWriter.create(p, opts({ ishareKey: 'user.fp' }));
    async function* gen() {
      for (let i = 0; i < 10; i++) yield new Uint8Array(1000).fill(i);
    }
    const data = await w.writeData(gen(), 10000, '/t/file');
    const content = Buffer.concat(Array.from({ length: 10 }, (_, i) => Buffer.alloc(1000, i)));
    const s = await w.finish(dir({ f: file('', { size: 10000, data }) }));
    assert.equal(s.fingerprinted, 1);
    const img = readFileSync(p);
    const v = Buffer.concat([Buffer.from('sha256:'), createHash('sha256').update(content).digest()]);
    assert.ok(img.includes(v));
    assert.ok(img.includes(content.subarray(0, 8192)));
  });

  test('a file that changes size while read: ErofsError naming it, no image left', async () => {
    const p = out();
    const w = await ImageWriter.create(p, opts());
    await assert.rejects(w.writeData([new Uint8Array(10)], 20, '/src/shrinking'), (e: unknown) =>
      e instanceof ErofsError && e.code === 'EIO' && e.message.includes('/src/shrinking'));
    const w2 = await ImageWriter.create(p, opts());
    await assert.rejects(w2.writeData([new Uint8Array(30)], 20, '/src/growing'), /grew/);
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('.tmp-')), []);
  });

  test('an unreadable/missing source file fails with its path and removes the temp file', async () => {
    const p = out();
    const tree = dir({ gone: { ...file(''), size: 5, data: { kind: 'path', path: join(work, 'no-such-file') } } });
    await assert.rejects(buildImage(tree, opts(), p), (e: unknown) => e instanceof ErofsError && e.message.includes('no-such-file'));
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('.tmp-')), []);
  });
});

describe('scanDirectory', () => {
  test('types, hard links, excludes, ownership and time options', async () => {
    const s = join(work, 'src');
    mkdirSync(join(s, 'sub'), { recursive: true });
    writeFileSync(join(s, 'a.txt'), 'aaa');
    writeFileSync(join(s, 'skip.log'), 'x');
    writeFileSync(join(s, 'sub', 'b'), 'bb');
    linkSync(join(s, 'a.txt'), join(s, 'sub', 'a-link'));
    symlinkSync('a.txt', join(s, 'ln'));
    const root = await scanDirectory(s, {
      excludeRegexes: [/\.log$/], excludePaths: ['/sub/b'], allRoot: true, uidOffset: 5,
      fixedMtime: { sec: 42n, nsec: 0 }, xattrTolerance: -1,
    });
    const names = [...root.entries!.values()].map((e) => Buffer.from(e.name).toString()).sort();
    assert.deepEqual(names, ['a.txt', 'ln', 'sub']);
    const sub = root.entries!.get('sub')!.node;
    assert.deepEqual([...sub.entries!.keys()], ['a-link']);
    assert.equal(sub.entries!.get('a-link')!.node, root.entries!.get('a.txt')!.node);
    const a = root.entries!.get('a.txt')!.node;
    assert.equal(a.uid, 5);
    assert.equal(a.mtime.sec, 42n);
    assert.equal(Buffer.from(root.entries!.get('ln')!.node.target!).toString(), 'a.txt');
  });
  test('missing source and over-long names are ErofsErrors with the path', async () => {
    await assert.rejects(scanDirectory(join(work, 'nope')), (e: unknown) => e instanceof ErofsError && e.code === 'ENOENT');
  });
});

describe('long prefixes', () => {
  test('registered in command-line order: the fingerprint name where --ishare_key came', async () => {
    const { buildPrefixTable } = await import('@erofs/writer');
    const after = buildPrefixTable(['user.a.', 'user.b.'], 'trusted.fp');
    assert.deepEqual(after.prefixes.map((p) => p.full), ['user.a.', 'user.b.', 'trusted.fp']);
    assert.equal(after.ishareIndex, 2);
    const between = buildPrefixTable(['user.a.', 'user.b.'], 'trusted.fp', 1);
    assert.deepEqual(between.prefixes.map((p) => p.full), ['user.a.', 'trusted.fp', 'user.b.']);
    assert.equal(between.ishareIndex, 1);
    assert.equal(buildPrefixTable(['user.a.'], 'trusted.fp', 0).ishareIndex, 0);
  });
});

describe('host-file data area (writer/hasher thread)', () => {
  /** A host tree whose files cross buffer boundaries and fill the hash batches with tails. */
  function hostTree(root: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    mkdirSync(join(root, 'small'), { recursive: true });
    let seed = 1;
    const bytes = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      return b;
    };
    for (const [name, size] of [['empty', 0], ['one', 1], ['b4095', 4095], ['b4096', 4096], ['b4097', 4097], ['big', 5 * 1048576 + 123]] as const) {
      files.set(name, bytes(size));
    }
    for (let i = 0; i < 400; i++) files.set(`small/f${String(i).padStart(3, '0')}`, bytes(1000 + ((i * 37) % 3000)));
    for (const [name, b] of files) writeFileSync(join(root, name), b);
    return files;
  }

  async function build(src: string, o: Partial<WriterOptions>, worker: '0' | '1'): Promise<Buffer> {
    const prev = process.env['EROFS_DATA_WORKER'];
    process.env['EROFS_DATA_WORKER'] = worker;
    try {
      const p = out();
      await buildImage(await scanDirectory(src, { fixedMtime: T }), opts({ uuid: new Uint8Array(16).fill(3), ...o }), p);
      return readFileSync(p);
    } finally {
      if (prev === undefined) delete process.env['EROFS_DATA_WORKER'];
      else process.env['EROFS_DATA_WORKER'] = prev;
    }
  }

  test('same bytes with and without the thread; fingerprints of every file', async () => {
    const src = join(work, 'host-src');
    const files = hostTree(src);
    for (const o of [{ ishareKey: 'trusted.fp' }, {}, { ishareKey: 'trusted.fp', blkszbits: 9 }, { ishareKey: 'trusted.fp', inlineData: false }]) {
      const a = await build(src, o, '1');
      const b = await build(src, o, '0');
      assert.ok(a.equals(b), `identical images for ${JSON.stringify(o)}`);
      if (o.ishareKey) {
        for (const [name, content] of files) {
          if (content.length === 0) continue;
          const v = Buffer.concat([Buffer.from('sha256:'), createHash('sha256').update(content).digest()]);
          assert.ok(a.includes(v), `fingerprint of ${name}`);
        }
      }
    }
  });

  test('a file missing when its turn comes: the error names it, no image left, the thread stops', async () => {
    const src = join(work, 'host-src-missing');
    hostTree(src);
    const tree = await scanDirectory(src, { fixedMtime: T });
    rmSync(join(src, 'small', 'f200'));
    const prev = process.env['EROFS_DATA_WORKER'];
    process.env['EROFS_DATA_WORKER'] = '1';
    try {
      await assert.rejects(buildImage(tree, opts({ ishareKey: 'trusted.fp' }), out()), (e: unknown) =>
        e instanceof ErofsError && e.message.includes('f200'));
    } finally {
      if (prev === undefined) delete process.env['EROFS_DATA_WORKER'];
      else process.env['EROFS_DATA_WORKER'] = prev;
    }
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('.tmp-')), []);
  });
});
