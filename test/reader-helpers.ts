/**
 * Helpers shared by the reader tests: describing an image through the
 * library in the fixture manifest's shape, and reading everything in an
 * image (for the corrupt and fuzz tests).
 */
import { createHash } from 'node:crypto';
import { ErofsError, S_IFMT } from '@erofs/format';
import type { Image, Inode } from '@erofs/reader';
import type { EntryType, ManifestEntry } from './lib/fixtures.js';

const TYPES: Record<number, EntryType> = {
  0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o010000: 'fifo',
  0o020000: 'chardev', 0o060000: 'blockdev', 0o140000: 'socket',
};

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** SHA-256 of an inode's content, read in 1 MiB pieces. */
export async function sha256Of(img: Image, ino: Inode): Promise<string> {
  const h = createHash('sha256');
  for (let p = 0; p < ino.size; p += 1 << 20) h.update(await img.readInodeRange(ino, p, Math.min(1 << 20, ino.size - p)));
  return h.digest('hex');
}

/**
 * Every path of the image as a manifest entry: what the kernel would show
 * (listxattr-visible xattrs only), so compareTrees(expectedFor(...), it) works.
 */
export async function describeWithLibrary(img: Image): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  const byNid = new Map<bigint, string[]>();
  for await (const e of img.walk('/')) {
    const ino = e.inode;
    const type = TYPES[ino.mode & S_IFMT];
    if (!type) throw new Error(`${e.path}: unknown type`);
    const m: ManifestEntry = {
      path: e.path,
      type,
      mode: (ino.mode & 0o7777).toString(8).padStart(4, '0'),
      st_mode: ino.mode,
      uid: ino.uid,
      gid: ino.gid,
      nlink: ino.nlink,
      size: type === 'dir' ? null : ino.size,
      mtime: { sec: ino.mtime, nsec: ino.mtimeNsec },
      xattrs: {},
    };
    if (type === 'symlink') m.target = await img.readlinkInode(ino);
    if (type === 'file') m.sha256 = await sha256Of(img, ino);
    if (type === 'chardev' || type === 'blockdev') {
      m.rdev = { major: (ino.rdev & 0xfff00) >>> 8, minor: ((ino.rdev & 0xff) | ((ino.rdev >>> 12) & 0xfff00)) >>> 0 };
    }
    for (const x of await img.xattrs(ino)) if (!x.hidden) m.xattrs[x.name] = hex(x.value);
    if (type !== 'dir') {
      const l = byNid.get(ino.nid) ?? [];
      l.push(e.path);
      byNid.set(ino.nid, l);
    }
    out.push(m);
  }
  const byPath = new Map(out.map((m) => [m.path, m]));
  for (const paths of byNid.values()) {
    const ino = byPath.get(paths[0]!)!;
    if (ino.nlink <= 1 && paths.length === 1) continue;
    const label = [...paths].sort()[0]!;
    for (const p of paths) byPath.get(p)!.hardlink_group = label;
  }
  return out;
}

/** Summary of reading everything in an image. */
export interface ReadAllResult {
  paths: number;
  bytes: number;
  /** Errors met (every one must be an ErofsError). */
  errors: unknown[];
}

/**
 * Walks and reads everything: every directory, inode, xattr, symlink and
 * file (content in pieces, at most `maxFileBytes` per file from each end),
 * collecting errors instead of stopping.
 */
export async function readEverything(img: Image, maxFileBytes = 4 << 20): Promise<ReadAllResult> {
  const res: ReadAllResult = { paths: 0, bytes: 0, errors: [] };
  const onError = (err: ErofsError): void => void res.errors.push(err);
  try {
    for await (const e of img.walk('/', { onError })) {
      res.paths++;
      const ino = e.inode;
      try {
        await img.xattrs(ino);
      } catch (err) {
        res.errors.push(err);
      }
      const t = ino.mode & S_IFMT;
      try {
        if (t === 0o120000) await img.readlinkInode(ino);
        else if (t === 0o100000) {
          const ranges: Array<[number, number]> = ino.size <= maxFileBytes
            ? [[0, ino.size]]
            : [[0, maxFileBytes / 2], [ino.size - maxFileBytes / 2, maxFileBytes / 2]];
          for (const [s, n] of ranges) {
            for (let p = s; p < s + n; p += 1 << 20) res.bytes += (await img.readInodeRange(ino, p, Math.min(1 << 20, s + n - p))).length;
          }
          await img.fingerprint(ino);
        }
      } catch (err) {
        res.errors.push(err);
      }
    }
  } catch (err) {
    res.errors.push(err);
  }
  return res;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Outcome of one fuzz case. */
export interface FuzzOutcome {
  /** "ok" (read without error), "typed" (only ErofsErrors), "bad" (anything else), "hang". */
  kind: 'ok' | 'typed' | 'bad' | 'hang';
  codes: string[];
  detail?: string;
  ms: number;
}

/**
 * Mutates a copy of `image` (1-8 bit flips, half of the cases inside the
 * first 64 KiB where the metadata lives; half of the cases with the
 * superblock checksum recomputed so superblock fields get past it), then
 * opens it from memory and reads everything. `timeoutMs` bounds the case.
 */
export async function fuzzCase(image: Uint8Array, seed: number, timeoutMs = 5000): Promise<FuzzOutcome> {
  const { bufferSource, openImage } = await import('@erofs/reader');
  const fmt = await import('@erofs/format');
  const rnd = prng(seed);
  const b = image.slice();
  const flips = 1 + Math.floor(rnd() * 8);
  const metaOnly = rnd() < 0.5;
  for (let i = 0; i < flips; i++) {
    const span = metaOnly ? Math.min(b.length, 65536) : b.length;
    const at = Math.floor(rnd() * span);
    if (rnd() < 0.2) b[at] = Math.floor(rnd() * 256);
    else b[at] ^= 1 << Math.floor(rnd() * 8);
  }
  if (rnd() < 0.5 && b.length >= 4096) {
    const sb = fmt.decodeSuperblock(b, 1024);
    if (sb.blkszbits >= 9 && sb.blkszbits <= 16 && 1024 + fmt.checksumLength(sb.blkszbits) <= b.length) {
      fmt.put32(b, 1028, fmt.superblockChecksum(b.subarray(1024), sb.blkszbits));
    }
  }
  const t0 = Date.now();
  const codes: string[] = [];
  let bad: string | undefined;
  const note = (e: unknown): void => {
    if (e instanceof fmt.ErofsError) codes.push(e.code);
    else bad ??= e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e);
  };
  const work = (async () => {
    try {
      const img = await openImage(bufferSource(b));
      const r = await readEverything(img, 1 << 20);
      r.errors.forEach(note);
    } catch (e) {
      note(e);
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = await Promise.race([
    work.then(() => false),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
  ]);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  if (hung) return { kind: 'hang', codes, ms, detail: `seed ${seed}` };
  if (bad) return { kind: 'bad', codes, ms, detail: `seed ${seed}: ${bad}` };
  return { kind: codes.length ? 'typed' : 'ok', codes, ms };
}
