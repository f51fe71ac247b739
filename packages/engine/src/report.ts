/**
 * The measurement behind `erofs-share report` (the command itself lives in
 * @erofs/cli): mount the images twice, in a cache without sharing and in one
 * with sharing, read the same files through both, compare every byte, and
 * tell how much page cache sharing saved against the file-level bound.
 */
import type { BackingImage } from './backing.js';
import { mount, type Mount } from './mount.js';
import { PageCache } from './page-cache.js';
import { sha256 } from './sha256.js';

export interface ReportInput {
  name: string;
  image: BackingImage<unknown>;
  /** Paths to read; default: every regular file (walk). */
  paths?: string[];
}

export interface ReportOptions {
  /** domain_id of the sharing run (default 'report'). */
  domainId?: string;
  /** Also share blob pages (chunk-based images with tagged devices). */
  blobShare?: boolean;
  /** Verify fingerprints in the sharing run. */
  verifyFingerprints?: boolean;
  /** Page size of the bound (default 4096, the kernel's PAGE_SIZE). */
  boundPageSize?: number;
}

export interface ReportRow {
  name: string;
  files: number;
  bytesRead: number;
  /** Page cache bytes this image added, images read in order. */
  withoutSharingBytes: number;
  withSharingBytes: number;
  /** Bytes of bound-size pages of the files whose content was not seen before. */
  boundBytes: number;
}

export interface Mismatch {
  image: string;
  path: string;
  /** First differing offset, or -1 when the lengths differ. */
  offset: number;
}

export interface ShareReport {
  images: ReportRow[];
  withoutSharingBytes: number;
  withSharingBytes: number;
  boundBytes: number;
  /** 100 * (1 - with / without). */
  reductionPercent: number;
  /** The reduction the bound would give. */
  boundReductionPercent: number;
  mismatches: Mismatch[];
  warnings: string[];
}

async function filesOf(m: Mount<unknown>, given?: string[]): Promise<string[]> {
  if (given) return given;
  const out: string[] = [];
  for await (const e of m.walk('/')) if (e.type === 'file') out.push(e.path);
  return out;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length;
}

/** Runs the with/without comparison over `inputs` in order. */
export async function shareReport(inputs: ReportInput[], opts: ReportOptions = {}): Promise<ShareReport> {
  const domainId = opts.domainId ?? 'report';
  const bps = opts.boundPageSize ?? 4096;
  const plain = new PageCache({ maxBytes: Number.MAX_SAFE_INTEGER, readaheadPages: 0 });
  const shared = new PageCache({ maxBytes: Number.MAX_SAFE_INTEGER, readaheadPages: 0 });
  const seen = new Set<string>();
  const rows: ReportRow[] = [];
  const mismatches: Mismatch[] = [];
  const warnings: string[] = [];
  const mounts: Mount<unknown>[] = [];
  try {
    for (const inp of inputs) {
      const a = await mount(inp.image, { cache: plain, name: inp.name });
      const b = await mount(inp.image, {
        cache: shared, name: inp.name, inodeShare: true, domainId,
        blobShare: !!opts.blobShare, verifyFingerprints: !!opts.verifyFingerprints,
        onWarning: (w) => warnings.push(`${inp.name}: ${w.code}: ${w.message}${w.where ? ' @ ' + w.where : ''}`),
      });
      mounts.push(a, b);
      const before = [plain.stats().residentBytes, shared.stats().residentBytes];
      const row: ReportRow = { name: inp.name, files: 0, bytesRead: 0, withoutSharingBytes: 0, withSharingBytes: 0, boundBytes: 0 };
      for (const path of await filesOf(a, inp.paths)) {
        const x = await a.readFile(path);
        const y = await b.readFile(path);
        const d = firstDiff(x, y);
        if (d !== x.length) mismatches.push({ image: inp.name, path, offset: d });
        row.files++;
        row.bytesRead += x.length;
        const h = Array.from(sha256(x), (c) => c.toString(16).padStart(2, '0')).join('');
        if (!seen.has(h)) {
          seen.add(h);
          row.boundBytes += Math.ceil(x.length / bps) * bps;
        }
      }
      row.withoutSharingBytes = plain.stats().residentBytes - before[0]!;
      row.withSharingBytes = shared.stats().residentBytes - before[1]!;
      rows.push(row);
    }
  } finally {
    for (const m of mounts) await m.unmount();
  }
  const sum = (k: 'withoutSharingBytes' | 'withSharingBytes' | 'boundBytes'): number => rows.reduce((s, r) => s + r[k], 0);
  const without = sum('withoutSharingBytes');
  const withS = sum('withSharingBytes');
  const bound = sum('boundBytes');
  const pct = (x: number): number => (without === 0 ? 0 : Math.round(10000 * (1 - x / without)) / 100);
  return {
    images: rows, withoutSharingBytes: without, withSharingBytes: withS, boundBytes: bound,
    reductionPercent: pct(withS), boundReductionPercent: pct(bound), mismatches, warnings,
  };
}
