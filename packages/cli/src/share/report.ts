/**
 * The measurement of `erofs-share report`: every image is mounted in two
 * engines (one PageCache each), one with the kernel's inode page cache
 * sharing (inode_share + domain_id) and one without; the same files are read
 * through both, images in the order given, and compared byte for byte.
 *
 * Page cache bytes are the bytes of the pages the reads brought into each
 * engine: with an unlimited budget (the default) the engine's resident bytes
 * (/proc/meminfo "Cached:"), measured after each image; with --cache-bytes
 * the working set (the distinct pages the reads needed, one space's pages
 * counted once however many files or images read through it), since the
 * resident bytes then only say the budget was full.
 */
import { createHash } from 'node:crypto';
import { ErofsError, isErofsError } from '@erofs/format';
import { fromReaderImage, mount, PageCache, type CacheStats, type Mount, type NotSharedReason } from '@erofs/engine';
import type { Image } from '@erofs/reader';
import { openImageFile } from '@erofs/reader/node';

/** Page size of the file-level bound: the kernel's PAGE_SIZE on x86-64 and most arm64. */
export const BOUND_PAGE_SIZE = 4096;

export interface ShareRunOptions {
  /** domain_id of the sharing engine's mounts. */
  domainId: string;
  /** false: the sharing engine mounts without inode_share (with == without). */
  share: boolean;
  /** Paths to read in every image (directories expand); default every regular file. */
  workload?: string[];
  /** Byte budget of each engine; default unlimited. */
  cacheBytes?: number;
}

/** Why an image's files did (not) share. */
export type ImageSharing =
  /** Mounted with inode_share and the image has COMPAT_ISHARE_XATTRS. */
  | 'on'
  /** --no-share. */
  | 'off: --no-share'
  /** The image has no COMPAT_ISHARE_XATTRS (built without --ishare_key): the kernel mounts it with sharing off. */
  | 'off: image has no fingerprints (COMPAT_ISHARE_XATTRS)';

/** The figures of one image, and of all of them. */
export interface ShareFigures {
  /** Regular files read. */
  files: number;
  bytesRead: number;
  /** Page cache bytes without sharing (per image: what it added). */
  withoutSharingBytes: number;
  /** Page cache bytes with sharing (per image: what it added; what earlier images cached is free). */
  withSharingBytes: number;
  /** Bytes of 4 KiB pages of every distinct content once (per image: contents no earlier file had). */
  boundBytes: number;
  /** 100 * (1 - with / without), two decimals. */
  reductionPercent: number;
}

export interface ImageReport extends ShareFigures {
  name: string;
  blockSize: number;
  sharing: ImageSharing;
  /** Files read through a shared address space. */
  sharedFiles: number;
  /** Files read privately although sharing was on, by reason (no-fingerprint, size-mismatch, ...). */
  privateFiles: Partial<Record<NotSharedReason, number>>;
  /** Workload paths this image does not have. */
  missingPaths: string[];
  /** Engine warnings of the sharing mount (ISHARE_NOT_SHARED, ...). */
  warnings: string[];
}

export interface EngineFigures {
  /** Byte budget (null: unlimited). */
  maxBytes: number | null;
  residentBytes: number;
  /** Bytes the engine read from the images to fill pages. */
  fillBytes: number;
  hits: number;
  misses: number;
  fills: number;
  evictions: number;
}

export interface Mismatch {
  image: string;
  path: string;
  /** First differing offset, or -1 when the lengths differ. */
  offset: number;
}

export interface ShareRunReport extends ShareFigures {
  domainId: string;
  share: boolean;
  boundPageSize: number;
  images: ImageReport[];
  /** The reduction the file-level bound would give. */
  boundReductionPercent: number;
  /** Saving reached as a share of the bound's saving (100 when both save nothing). */
  boundAchievedPercent: number;
  /** Files whose bytes with sharing differ from those without (must be empty). */
  mismatches: Mismatch[];
  engines: { withoutSharing: EngineFigures; withSharing: EngineFigures };
  elapsedMs: number;
}

function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round(10000 * (1 - part / whole)) / 100;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -1;
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return a.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length;
}

/** Opens an image file; errors name the image. */
export async function openReport(path: string): Promise<Image> {
  try {
    return await openImageFile(path);
  } catch (e) {
    throw withImage(e, path);
  }
}

function withImage(e: unknown, image: string): unknown {
  if (isErofsError(e)) {
    const m = e.message.includes(image) ? e.message : `${image}: ${e.message}`;
    return new ErofsError(e.code, m, undefined, { cause: e });
  }
  return e;
}

/** The regular files to read in `m`: the workload (directories expanded), else every one. */
async function pathsOf(m: Mount<unknown>, workload: string[] | undefined, missing: string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  const walk = async (root: string): Promise<void> => {
    for await (const e of m.walk(root)) if (e.type === 'file') add(e.path);
  };
  if (workload === undefined) {
    await walk('/');
    return out;
  }
  for (const p of workload) {
    let st: { isFile(): boolean; isDirectory(): boolean };
    try {
      st = (await m.stat(p)) as typeof st;
    } catch (e) {
      if (isErofsError(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) {
        missing.push(p);
        continue;
      }
      throw e;
    }
    if (st.isDirectory()) await walk(p);
    else if (st.isFile()) add(p);
    else missing.push(p);
  }
  return out;
}

function figures(s: CacheStats, pageBytes: number, limited: boolean): EngineFigures {
  return {
    maxBytes: limited ? s.maxBytes : null, residentBytes: s.residentBytes, fillBytes: pageBytes,
    hits: s.hits, misses: s.misses, fills: s.fills, evictions: s.evictions,
  };
}

/**
 * Runs the report over image files `paths` (names as given). Throws a
 * one-line ErofsError naming the image for a missing or corrupt image.
 */
export async function runShareReport(paths: readonly string[], opts: ShareRunOptions): Promise<ShareRunReport> {
  const t0 = performance.now();
  const limited = opts.cacheBytes !== undefined;
  const maxBytes = opts.cacheBytes ?? Number.MAX_SAFE_INTEGER;
  // Readahead is left at its default: a whole-file read is one fill either way.
  const plain = new PageCache({ maxBytes });
  const shared = new PageCache({ maxBytes });
  const images: Image[] = [];
  const mounts: Mount<unknown>[] = [];
  const rows: ImageReport[] = [];
  const mismatches: Mismatch[] = [];
  const seenContent = new Set<string>();
  // Working-set accounting: address spaces already counted, per engine.
  const seenPlain = new Set<string>();
  const seenShared = new Set<string>();
  let plainFillBytes = 0;
  let sharedFillBytes = 0;
  let engines: ShareRunReport['engines'];
  try {
    for (const p of paths) images.push(await openReport(p));
    for (let k = 0; k < images.length; k++) {
      const name = paths[k]!;
      const backing = fromReaderImage(images[k]!);
      try {
        const a = await mount(backing, { cache: plain, name: `${name} (no sharing)` });
        mounts.push(a);
        const warnings: string[] = [];
        const b = await mount(backing, {
          cache: shared, name, inodeShare: opts.share, domainId: opts.domainId,
          onWarning: (w) => warnings.push(`${w.code}: ${w.message}${w.where ? ' @ ' + w.where : ''}`),
        });
        mounts.push(b);
        const sharing: ImageSharing = !opts.share ? 'off: --no-share' : b.inodeShare ? 'on' : 'off: image has no fingerprints (COMPAT_ISHARE_XATTRS)';
        const row: ImageReport = {
          name, blockSize: backing.blockSize, sharing, files: 0, bytesRead: 0,
          withoutSharingBytes: 0, withSharingBytes: 0, boundBytes: 0, reductionPercent: 0,
          sharedFiles: 0, privateFiles: {}, missingPaths: [], warnings,
        };
        const before = [plain.stats().residentBytes, shared.stats().residentBytes] as const;
        let wsPlain = 0;
        let wsShared = 0;
        for (const path of await pathsOf(a, opts.workload, row.missingPaths)) {
          // One lookup per mount: the handle gives the bytes and how they are cached.
          const ha = await a.open(path);
          const hb = await b.open(path);
          const x = await ha.readFile();
          const y = await hb.readFile();
          const sa = ha.sharing();
          const sb = hb.sharing();
          await ha.close();
          await hb.close();
          const d = firstDiff(x, y);
          if (d !== x.length) mismatches.push({ image: name, path, offset: d });
          row.files++;
          row.bytesRead += x.length;
          const h = createHash('sha256').update(x).digest('hex');
          if (!seenContent.has(h)) {
            seenContent.add(h);
            row.boundBytes += Math.ceil(x.length / BOUND_PAGE_SIZE) * BOUND_PAGE_SIZE;
          }
          const pages = (m: Mount<unknown>): number => Math.ceil(x.length / m.pageSize) * m.pageSize;
          // Private space ids are only unique per mount (an image may be given twice).
          const ka = `${a.id}:${sa.spaceId}`;
          const kb = sb.mode === 'shared' ? sb.spaceId : `${b.id}:${sb.spaceId}`;
          if (!seenPlain.has(ka)) {
            seenPlain.add(ka);
            wsPlain += pages(a);
          }
          if (!seenShared.has(kb)) {
            seenShared.add(kb);
            wsShared += pages(b);
          }
          if (sb.mode === 'shared') row.sharedFiles++;
          else if (b.inodeShare && x.length > 0) {
            const r = sb.reason ?? 'no-fingerprint';
            row.privateFiles[r] = (row.privateFiles[r] ?? 0) + 1;
          }
        }
        if (limited) {
          row.withoutSharingBytes = wsPlain;
          row.withSharingBytes = wsShared;
        } else {
          row.withoutSharingBytes = plain.stats().residentBytes - before[0];
          row.withSharingBytes = shared.stats().residentBytes - before[1];
        }
        row.reductionPercent = pct(row.withSharingBytes, row.withoutSharingBytes);
        plainFillBytes += a.counters.fillPages * a.pageSize;
        sharedFillBytes += b.counters.fillPages * b.pageSize;
        rows.push(row);
      } catch (e) {
        throw withImage(e, name);
      }
    }
    engines = {
      withoutSharing: figures(plain.stats(), plainFillBytes, limited),
      withSharing: figures(shared.stats(), sharedFillBytes, limited),
    };
  } finally {
    for (const m of mounts) await m.unmount();
    for (const img of images) await img.close().catch(() => undefined);
  }
  const sum = (k: 'withoutSharingBytes' | 'withSharingBytes' | 'boundBytes' | 'files' | 'bytesRead'): number =>
    rows.reduce((s, r) => s + r[k], 0);
  const without = sum('withoutSharingBytes');
  const withS = sum('withSharingBytes');
  const bound = sum('boundBytes');
  const boundSaving = without - bound;
  return {
    domainId: opts.domainId, share: opts.share, boundPageSize: BOUND_PAGE_SIZE, images: rows,
    files: sum('files'), bytesRead: sum('bytesRead'),
    withoutSharingBytes: without, withSharingBytes: withS, boundBytes: bound,
    reductionPercent: pct(withS, without), boundReductionPercent: pct(bound, without),
    boundAchievedPercent: boundSaving <= 0 ? 100 : Math.round((10000 * (without - withS)) / boundSaving) / 100,
    mismatches, engines, elapsedMs: Math.round(performance.now() - t0),
  };
}
