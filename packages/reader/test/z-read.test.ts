/**
 * The compressed-data module (src/z) against the fixture images: every
 * compressed regular file of each image must read back with the manifest's
 * sha256, through whole-file, chunked and random-offset reads.
 *
 * The rest of the reader is written elsewhere, so this file carries a small
 * harness of its own: superblock, compression configurations, inodes by nid
 * (in the metabox too), directory listing of flat and compressed directories,
 * the packed inode for fragments. Only what it takes to find files by path.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  DataLayout, decodeDeflateCfgs, decodeInode, decodeLz4Cfgs, decodeLzmaCfgs, decodeSuperblock, decodeZstdCfgs,
  ErofsError, FeatureIncompat, inodeSize, rootNid, S_IFDIR, S_IFMT, S_IFREG, superblockSize, u16, u64,
  EROFS_DIRENT_NID_MASK, EROFS_DIRENT_NID_METABOX_BIT, EROFS_SUPER_OFFSET, type DiskInode, type Superblock,
} from '@erofs/format';
import {
  ENCODED, FRAGMENT, FULL_MAPPED, INLINE, MAPPED, openZInode,
  type ZImage, type ZInode, type ZReader,
} from '../src/z/index.js';
import { expectedFor, imagePath } from '../../../test/lib/fixtures.js';

// ---------------------------------------------------------------- harness

interface Inode {
  nid: bigint;
  di: DiskInode;
  pos: number;
  xattrEnd: number;
  readMeta(pos: number, len: number): Promise<Uint8Array>;
}

/** A fixture image opened just far enough to find and read files. */
class Image {
  readonly sb: Superblock;
  readonly bs: number;
  readonly z: ZImage;
  private metabox: ZReader | undefined;
  private packed: ZReader | undefined;

  private constructor(readonly file: string, readonly buf: Uint8Array) {
    this.sb = decodeSuperblock(buf, EROFS_SUPER_OFFSET);
    this.bs = 2 ** this.sb.blkszbits;
    const cfgs: ZImage['cfgs'] = {};
    if (this.sb.featureIncompat & FeatureIncompat.COMPR_CFGS) {
      let off = EROFS_SUPER_OFFSET + superblockSize(this.sb);
      for (let alg = 0; alg < 4; alg++) {
        if (!(this.sb.u1 & (1 << alg))) continue;
        const len = u16(buf, off);
        const payload = buf.subarray(off + 2, off + 2 + len);
        if (alg === 0) cfgs.lz4 = decodeLz4Cfgs(payload);
        if (alg === 1) cfgs.lzma = decodeLzmaCfgs(payload);
        if (alg === 2) cfgs.deflate = decodeDeflateCfgs(payload);
        if (alg === 3) cfgs.zstd = decodeZstdCfgs(payload);
        off += 2 + len;
      }
    }
    this.z = {
      blkszbits: this.sb.blkszbits,
      featureIncompat: this.sb.featureIncompat,
      u1: this.sb.u1,
      cfgs,
      readData: async (pos, len) => this.device(pos, len),
      readPacked: async (pos, len) => {
        if (!this.packed) throw new ErofsError('EFSCORRUPTED', 'no packed inode');
        return this.packed.read(pos, len);
      },
      packedNid: this.sb.packedNid,
    };
  }

  static async open(file: string, buf?: Uint8Array): Promise<Image> {
    const img = new Image(file, buf ?? new Uint8Array(readFileSync(file.startsWith('/') ? file : imagePath(file))));
    if (img.sb.featureIncompat & FeatureIncompat.METABOX) {
      img.metabox = await img.dataReader(await img.inode(img.sb.metaboxNid));
    }
    if (img.sb.packedNid !== 0n) img.packed = await img.dataReader(await img.inode(img.sb.packedNid));
    return img;
  }

  device(pos: number, len: number): Uint8Array {
    if (pos < 0 || pos + len > this.buf.length) throw new ErofsError('EIO', `read ${pos}+${len} past the image`);
    return this.buf.subarray(pos, pos + len);
  }

  async inode(nid: bigint): Promise<Inode> {
    const inMetabox = (nid >> EROFS_DIRENT_NID_METABOX_BIT) === 1n;
    const readMeta = inMetabox
      ? (pos: number, len: number) => this.metabox!.read(pos, len)
      : async (pos: number, len: number) => this.device(pos, len);
    const pos = inMetabox ? Number(nid & EROFS_DIRENT_NID_MASK) * 32 : this.sb.metaBlkaddr * this.bs + Number(nid) * 32;
    const head = await readMeta(pos, 32);
    const raw = inodeSize(u16(head, 0)) === 64 ? await readMeta(pos, 64) : head;
    const di = decodeInode(raw, 0);
    const xattrSize = di.xattrIcount === 0 ? 0 : 12 + (di.xattrIcount - 1) * 4;
    return { nid, di, pos, xattrEnd: pos + inodeSize(di.format) + xattrSize, readMeta };
  }

  zinode(ino: Inode): ZInode {
    return {
      nid: ino.nid, datalayout: ino.di.datalayout, size: ino.di.size, iu: ino.di.iu, nb: ino.di.nb,
      inodePos: ino.pos, xattrEnd: ino.xattrEnd, readMeta: ino.readMeta,
    };
  }

  /** A reader of any regular inode's data: flat (plain/inline) or compressed. */
  async dataReader(ino: Inode): Promise<ZReader> {
    const dl = ino.di.datalayout;
    if (dl === DataLayout.COMPRESSED_FULL || dl === DataLayout.COMPRESSED_COMPACT) {
      return openZInode(this.z, this.zinode(ino));
    }
    if (dl !== DataLayout.FLAT_PLAIN && dl !== DataLayout.FLAT_INLINE) throw new Error(`harness: datalayout ${dl}`);
    const size = ino.di.size;
    const hi = ino.di.version === 1 || (ino.di.format >> 4) & 1 ? ino.di.nb : 0;
    const blkaddr = (this.sb.featureIncompat & FeatureIncompat['48BIT'] ? hi * 2 ** 32 : 0) + ino.di.iu;
    const tailStart = dl === DataLayout.FLAT_INLINE ? Math.floor(size / this.bs) * this.bs : size;
    const read = async (pos: number, len: number): Promise<Uint8Array> => {
      const end = Math.min(size, pos + len);
      const out = new Uint8Array(Math.max(0, end - pos));
      if (pos < tailStart) out.set(this.device(blkaddr * this.bs + pos, Math.min(end, tailStart) - pos));
      if (end > tailStart) {
        const from = Math.max(pos, tailStart);
        out.set(await ino.readMeta(ino.xattrEnd + (from - tailStart), end - from), from - pos);
      }
      return out;
    };
    const readInto = async (pos: number, len: number, dst: Uint8Array, dstOff: number): Promise<number> => {
      const b = await read(pos, len);
      dst.set(b, dstOff);
      return b.length;
    };
    return { read, readInto, map: () => Promise.reject(new Error('harness: flat map')) };
  }

  /** Every regular file below the root: path -> inode. */
  async files(): Promise<Map<string, Inode>> {
    const out = new Map<string, Inode>();
    const walk = async (dir: Inode, path: string, depth: number): Promise<void> => {
      assert.ok(depth < 64, `harness: directory depth at ${path}`);
      const data = await (await this.dataReader(dir)).read(0, dir.di.size);
      for (let blk = 0; blk < data.length; blk += this.bs) {
        const b = data.subarray(blk, Math.min(data.length, blk + this.bs));
        const count = u16(b, 8) / 12;
        for (let i = 0; i < count; i++) {
          const nameoff = u16(b, i * 12 + 8);
          let nameend = i + 1 < count ? u16(b, (i + 1) * 12 + 8) : b.length;
          while (i + 1 >= count && nameend > nameoff && b[nameend - 1] === 0) nameend--;
          const name = Buffer.from(b.subarray(nameoff, nameend)).toString('utf8');
          if (name === '.' || name === '..') continue;
          const child = await this.inode(u64(b, i * 12));
          const p = path === '/' ? `/${name}` : `${path}/${name}`;
          const fmt = child.di.mode & S_IFMT;
          if (fmt === S_IFDIR) await walk(child, p, depth + 1);
          else if (fmt === S_IFREG) out.set(p, child);
        }
      }
    };
    await walk(await this.inode(rootNid(this.sb)), '/', 0);
    return out;
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Reads `r` in chunks of `step` bytes and joins them. */
async function readChunked(r: ZReader, size: number, step: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let pos = 0; pos < size; pos += step) out.set(await r.read(pos, step), pos);
  return out;
}

/** A small deterministic PRNG for offsets. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const IMAGES = [
  'lz4.erofs', 'lz4hc.erofs', 'lz4hc-pcluster64k.erofs', 'lzma.erofs', 'deflate.erofs', 'zstd.erofs',
  'zstd-48bit.erofs', 'blk512-lz4.erofs', 'lz4-ztailpacking.erofs', 'lz4-fragments-dedupe.erofs',
  'lz4-all-fragments.erofs', 'lz4-legacy-compress.erofs', 'metabox-lz4.erofs', 'debian-1.5-lz4hc.erofs',
  'digest-fingerprint-lz4hc.erofs', 'lz4-compressed-dirs.erofs',
];

for (const file of IMAGES) {
  test(`z: every compressed file of ${file} matches the manifest`, async (t) => {
    const img = await Image.open(file);
    const expected = new Map(expectedFor(file).filter((e) => e.type === 'file').map((e) => [e.path, e]));
    const files = await img.files();
    let compressed = 0;
    let bytes = 0;
    const flagsSeen = new Set<string>();
    const rnd = prng(0x5eed);
    for (const [path, ino] of files) {
      const e = expected.get(path);
      assert.ok(e, `${file}: ${path} is not in the manifest`);
      const dl = ino.di.datalayout;
      if (dl !== DataLayout.COMPRESSED_FULL && dl !== DataLayout.COMPRESSED_COMPACT) continue;
      compressed++;
      bytes += ino.di.size;
      const r = await openZInode(img.z, img.zinode(ino));
      const whole = await r.read(0, ino.di.size);
      assert.equal(sha256(whole), e.sha256, `${file}: ${path} (nid ${ino.nid}) content`);
      // Fresh reader, odd-sized chunks: extents split across reads and cache reuse.
      const fresh = await openZInode(img.z, img.zinode(ino));
      assert.equal(sha256(await readChunked(fresh, ino.di.size, 1000)), e.sha256, `${file}: ${path} chunked`);
      for (let i = 0; i < 4 && ino.di.size > 0; i++) {
        const pos = Math.floor(rnd() * ino.di.size);
        const len = 1 + Math.floor(rnd() * 9000);
        const part = await fresh.read(pos, len);
        assert.deepEqual(part, whole.subarray(pos, pos + len), `${file}: ${path} read(${pos}, ${len})`);
      }
      for (let la = 0; la < ino.di.size;) {
        const x = await r.map(la);
        assert.ok(x.la <= la && la < x.la + x.llen, `${file}: ${path} map(${la})`);
        assert.ok(x.flags & FULL_MAPPED || x.flags & FRAGMENT || !(x.flags & MAPPED), `${file}: ${path} map(${la}) full`);
        if (x.flags & FRAGMENT) flagsSeen.add('fragment');
        else if (x.flags & INLINE) flagsSeen.add('inline');
        else if (x.flags & ENCODED) flagsSeen.add(`alg${x.algorithm}`);
        la = x.la + x.llen;
      }
    }
    t.diagnostic(`${file}: ${compressed} compressed files, ${bytes} bytes; extents: ${[...flagsSeen].sort().join(' ')}`);
    assert.ok(compressed > 0, `${file}: no compressed files found`);
    assert.equal(files.size, [...expected.keys()].length, `${file}: regular file count`);
  });
}

test('z: extent kinds the fixtures are known to hold', async () => {
  const kinds = async (file: string): Promise<Set<string>> => {
    const img = await Image.open(file);
    const seen = new Set<string>();
    for (const ino of (await img.files()).values()) {
      const dl = ino.di.datalayout;
      if (dl !== DataLayout.COMPRESSED_FULL && dl !== DataLayout.COMPRESSED_COMPACT) continue;
      const r = await openZInode(img.z, img.zinode(ino));
      for (let la = 0; la < ino.di.size;) {
        const x = await r.map(la);
        if (x.flags & FRAGMENT) seen.add('fragment');
        if (x.flags & INLINE) seen.add('inline');
        if (x.flags & ENCODED) seen.add(x.algorithm === 4 ? 'shifted' : x.algorithm === 5 ? 'interlaced' : `alg${x.algorithm}`);
        if (x.plen > img.bs) seen.add('big');
        la = x.la + x.llen;
      }
    }
    return seen;
  };
  assert.ok((await kinds('lz4-ztailpacking.erofs')).has('inline'));
  assert.ok((await kinds('lz4-all-fragments.erofs')).has('fragment'));
  assert.ok((await kinds('lz4-fragments-dedupe.erofs')).has('fragment'));
  assert.ok((await kinds('lz4hc-pcluster64k.erofs')).has('big'));
  assert.ok((await kinds('zstd.erofs')).has('alg3'));
});

/** Compressed regular files of an image (path, inode), in path order. */
async function compressedFiles(img: Image): Promise<Array<[string, Inode]>> {
  return [...(await img.files())].filter(([, i]) =>
    i.di.datalayout === DataLayout.COMPRESSED_FULL || i.di.datalayout === DataLayout.COMPRESSED_COMPACT);
}

/** Reads all of a compressed file (map every extent, then the content); returns the error, if any. */
async function readAll(img: Image, ino: Inode): Promise<unknown> {
  try {
    const r = await openZInode(img.z, img.zinode(ino));
    for (let la = 0; la < ino.di.size;) {
      const x = await r.map(la);
      la = x.la + x.llen;
    }
    await r.read(0, ino.di.size);
    await readChunked(r, ino.di.size, 3000);
    return undefined;
  } catch (e) {
    return e;
  }
}

test('z: bit flips in map headers, indexes and pclusters end in ErofsError or data, never a crash or hang', async (t) => {
  const FUZZ_IMAGES = [
    'lz4.erofs', 'lz4hc-pcluster64k.erofs', 'lz4-legacy-compress.erofs', 'zstd-48bit.erofs', 'blk512-lz4.erofs',
    'lz4-ztailpacking.erofs', 'lz4-fragments-dedupe.erofs', 'deflate.erofs',
  ];
  const CASES = Number(process.env['Z_FUZZ_CASES'] ?? 60);
  const rnd = prng(0xf1a9);
  const codes = new Map<string, number>();
  let cases = 0;
  for (const file of FUZZ_IMAGES) {
    const clean = await Image.open(file);
    const targets = await compressedFiles(clean);
    for (let c = 0; c < CASES; c++) {
      const [path, ino] = targets[Math.floor(rnd() * targets.length)]!;
      const buf = clean.buf.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      const inData = rnd() < 0.25;
      for (let f = 0; f < flips; f++) {
        let at: number;
        if (inData) {
          // Somewhere in the image past the metadata: pcluster bytes.
          at = clean.sb.metaBlkaddr * clean.bs + Math.floor(rnd() * (buf.length - clean.sb.metaBlkaddr * clean.bs));
        } else {
          // The map header and the first index bytes of this file.
          at = Math.ceil(ino.xattrEnd / 8) * 8 + Math.floor(rnd() * 160);
        }
        if (at < buf.length) buf[at] ^= 1 << Math.floor(rnd() * 8);
      }
      const started = Date.now();
      let err: unknown;
      try {
        const img = await Image.open(file, buf);
        err = await readAll(img, await img.inode(ino.nid));
      } catch (e) {
        err = e; // the harness's own walk to the inode hit the flip (packed inode, superblock)
      }
      const took = Date.now() - started;
      cases++;
      assert.ok(took < 5000, `${file} ${path} case ${c}: took ${took} ms`);
      if (err === undefined) codes.set('ok', (codes.get('ok') ?? 0) + 1);
      else {
        assert.ok(err instanceof ErofsError, `${file} ${path} case ${c}: ${(err as Error)?.stack ?? String(err)}`);
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
    }
  }
  t.diagnostic(`${cases} cases: ${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
});

test('z: targeted corruptions give typed errors', async () => {
  const img0 = await Image.open('lz4hc-pcluster64k.erofs');
  const [[, ino]] = (await compressedFiles(img0)).filter(([p]) => p === '/bulk/large-1.5MiB-plus-1.bin') as Array<[string, Inode]>;
  assert.ok(ino);
  const hdr = Math.ceil(ino!.xattrEnd / 8) * 8;
  const mutate = async (f: (b: Uint8Array) => void): Promise<unknown> => {
    const buf = img0.buf.slice();
    f(buf);
    const img = await Image.open('lz4hc-pcluster64k.erofs', buf);
    return readAll(img, await img.inode(ino!.nid));
  };
  const expectCode = (e: unknown, code: string, what: string): void => {
    assert.ok(e instanceof ErofsError, `${what}: ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    assert.match(e.message, /nid \d+/, `${what}: message names the nid`);
  };
  // HEAD1 algorithm zstd, not enabled in this lz4-only image.
  expectCode(await mutate((b) => { b[hdr + 6] = (b[hdr + 6]! & 0xf0) | 3; }), 'EFSCORRUPTED', 'algorithm not enabled');
  // An unknown algorithm number.
  expectCode(await mutate((b) => { b[hdr + 6] = (b[hdr + 6]! & 0xf0) | 9; }), 'EOPNOTSUPP', 'unknown algorithm');
  // Huge lclusters.
  expectCode(await mutate((b) => { b[hdr + 7] = 15; }), 'EOPNOTSUPP', 'lclusterbits 27');
  // Big-pcluster flags that disagree (compact indexes need both or neither).
  expectCode(await mutate((b) => { b[hdr + 4]! ^= 0x4; }), 'EFSCORRUPTED', 'HEAD1/HEAD2 big pcluster mismatch');
  // i_size far larger than the index area: reads run off the indexes or the image.
  const sizeAt = ino!.pos + 8;
  const e = await mutate((b) => { b[sizeAt + 3] = 0x7f; });
  assert.ok(e instanceof ErofsError, `huge i_size: ${String(e)}`);
});
