/**
 * Debian's fsck.erofs (erofs-utils 1.5, Debian 12) must accept every image
 * of ours that uses only features it knows, and extract the same file
 * contents we packed.
 *
 * What 1.5 knows (its include/erofs_fs.h and lib/super.c): 4096-byte blocks
 * only; incompatible features LZ4_0PADDING, COMPR_CFGS/BIG_PCLUSTER,
 * CHUNKED_FILE, DEVICE_TABLE and ZTAILPACKING; compat bits are not checked.
 * So -b512, --ishare_key/--xattr-prefix (INCOMPAT_XATTR_PREFIXES), -E48bit
 * and -Edot-omitted (48BIT) are skipped with that reason, while the plain,
 * inline/no-inline, compact/extended, chunked (block map and chunk indexes)
 * and blob-device (--device=) layouts are checked.
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeSuperblock } from '@erofs/format';
import { fixtureOrExampleTree } from './lib/source-tree.js';
import { cliMissing, debianErofsUtils, describeRun, run, runCli, skipIf, tmpDir } from './lib/tools.js';

/** INCOMPAT bits erofs-utils 1.5 understands. */
const KNOWN_BY_15 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10;

interface Case {
  args: string[];
  /** Set when 1.5 cannot read such an image: the skip reason. */
  unsupported?: string;
  blobdev?: boolean;
}

const CASES: Case[] = [
  { args: [] },
  { args: ['-E^inline_data'] },
  { args: ['-Eforce-inode-extended'] },
  { args: ['-Eforce-inode-compact'] },
  { args: ['-Enosbcrc', '-E^xattr-name-filter'] },
  { args: ['--chunksize=8192'] },
  { args: ['--chunksize=65536', '-Eforce-chunk-indexes'] },
  { args: ['--chunksize=16384', '-Eforce-inode-blockmap'] },
  { args: ['--chunksize=4096'], blobdev: true },
  { args: ['-x-1', '--all-root'] },
  { args: ['-b512'], unsupported: 'fsck.erofs 1.5 reads 4096-byte blocks only' },
  { args: ['--ishare_key=trusted.erofs.fingerprint'], unsupported: 'long xattr prefixes (INCOMPAT_XATTR_PREFIXES) are newer than erofs-utils 1.5' },
  { args: ['--xattr-prefix=user.erofs-fixture.'], unsupported: 'long xattr prefixes (INCOMPAT_XATTR_PREFIXES) are newer than erofs-utils 1.5' },
  { args: ['-E48bit'], unsupported: 'the 48-bit layout (INCOMPAT_48BIT) is newer than erofs-utils 1.5' },
];



/** path -> type and, for files, the path to read; symlinks carry their target. */
function listTree(root: string): Map<string, { kind: string; file?: string }> {
  const out = new Map<string, { kind: string; file?: string }>();
  const walk = (rel: string): void => {
    const p = join(root, rel);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      out.set(rel || '/', { kind: 'dir' });
      for (const n of readdirSync(p)) walk(rel ? `${rel}/${n}` : n);
    } else if (st.isFile()) {
      out.set(rel, { kind: 'file', file: p });
    } else if (st.isSymbolicLink()) {
      out.set(rel, { kind: `symlink -> ${readlinkSync(p)}` });
    } else {
      out.set(rel, { kind: st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'chardev' : 'blockdev' });
    }
  };
  walk('');
  return out;
}

/**
 * What fsck.erofs 1.5 extracts from a chunk-based file whose all-zero chunks
 * are holes: its extraction loop skips unmapped extents and write()s the
 * mapped ones one after another (fsck/main.c, erofs_verify_inode_data), so
 * the holes vanish and later data moves up. A 1.5 bug, fixed upstream later.
 */
function withoutZeroChunks(a: Buffer, chunkSize: number): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < a.length; o += chunkSize) {
    const c = a.subarray(o, o + chunkSize);
    if (c.some((x) => x !== 0)) parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * Differences between the source and fsck.erofs 1.5's extraction. With
 * `chunkSize`, a file may also come out as {@link withoutZeroChunks}.
 */
function compareExtracted(src: string, dest: string, chunkSize: number | undefined): string[] {
  const want = listTree(src);
  const got = listTree(dest);
  const diffs: string[] = [];
  for (const [p, w] of want) {
    const g = got.get(p);
    if (!g) diffs.push(`${p}: missing`);
    else if (g.kind !== w.kind) diffs.push(`${p}: expected ${w.kind}, got ${g.kind}`);
    else if (w.file && g.file) {
      const a = readFileSync(w.file);
      const b = readFileSync(g.file);
      if (a.equals(b)) continue;
      const holesDropped = chunkSize !== undefined && b.length < a.length && withoutZeroChunks(a, chunkSize).equals(b);
      if (!holesDropped) diffs.push(`${p}: content differs (${a.length} bytes expected, ${b.length} extracted)`);
    }
  }
  for (const p of got.keys()) if (!want.has(p)) diffs.push(`${p}: unexpected`);
  return diffs;
}

describe('Debian fsck.erofs 1.5 accepts our images', () => {
  for (const c of CASES) {
    const name = [...c.args, ...(c.blobdev ? ['--blobdev=BLOB'] : [])].join(' ') || '(defaults)';
    it(name, async (t) => {
      const utils = debianErofsUtils();
      if (skipIf(t, typeof utils === 'string' && utils, cliMissing('mkfs-erofs'), c.unsupported)) return;
      if (typeof utils === 'string') return;
      const src = await fixtureOrExampleTree(t);
      const out = tmpDir('mkfs-fsck', t);
      const img = join(out, 'img.erofs');
      const blob = join(out, 'blob');
      const args = ['--quiet', '-T1700000000', '--mkfs-time', '-Uclear', ...c.args, ...(c.blobdev ? [`--blobdev=${blob}`] : []), img, src];
      const built = await runCli('mkfs-erofs', args);
      assert.equal(built.code, 0, describeRun('mkfs-erofs', built));

      const sb = decodeSuperblock(readFileSync(img), 1024);
      assert.equal(sb.blkszbits, 12);
      assert.equal(sb.featureIncompat & ~KNOWN_BY_15, 0,
        `image sets INCOMPAT bits 0x${(sb.featureIncompat & ~KNOWN_BY_15).toString(16)} that these options should not need`);

      const dev = c.blobdev ? [`--device=${blob}`] : [];
      const check = await run(utils.fsck, [...dev, img]);
      assert.equal(check.code, 0, describeRun(`fsck.erofs ${utils.version}`, check));

      const dest = join(out, 'x');
      const ex = await run(utils.fsck, [...dev, `--extract=${dest}`, img]);
      assert.equal(ex.code, 0, describeRun(`fsck.erofs ${utils.version} --extract`, ex));
      const chunkArg = c.args.find((a) => a.startsWith('--chunksize='));
      const diffs = compareExtracted(src, dest, chunkArg ? Number(chunkArg.slice('--chunksize='.length)) : undefined);
      assert.deepEqual(diffs.slice(0, 20), [], `${diffs.length} difference(s) after fsck.erofs --extract`);
    });
  }
});
