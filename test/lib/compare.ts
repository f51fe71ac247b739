/**
 * Comparing two tree descriptions (manifest-shaped entries): the checks of
 * the fixtures' verify-with-kernel.sh, reimplemented here, returning
 * human-readable mismatches instead of printing them.
 */
import { digestXattrHex, FIXED_TIME, type ManifestEntry } from './fixtures.js';

/** Per-entry fields compared by value (besides mtime, xattrs and hard links). */
export const COMPARED_FIELDS = [
  'type', 'mode', 'st_mode', 'uid', 'gid', 'nlink', 'size', 'target', 'sha256', 'rdev',
] as const;

/** A check {@link compareTrees} can be told to leave out. */
export type ComparedAspect = (typeof COMPARED_FIELDS)[number] | 'mtime' | 'xattrs' | 'hardlinks';

/** How to compare; the defaults compare everything against the expectation as given. */
export interface CompareOptions {
  /**
   * "source" (default): each path's expected mtime is the expected entry's.
   * "fixed": every inode must have {sec: fixedTime, nsec: 0}.
   */
  mtime?: 'source' | 'fixed';
  /** Seconds for mtime "fixed" (default 1700000000). */
  fixedTime?: number;
  /** Name of an xattr every non-empty regular file must also carry ("sha256:" + raw digest). */
  digestXattr?: string;
  /** Checks to skip (e.g. ['uid', 'gid'] for a tree unpacked without root). */
  ignore?: readonly ComparedAspect[];
  /** xattr names to leave out on both sides (e.g. n => n.startsWith('security.')). */
  ignoreXattr?: (name: string) => boolean;
}

/** JSON text with object keys sorted, so {major, minor} equals {minor, major}. */
function canon(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Short printable form of a value for a mismatch message. */
function show(v: unknown): string {
  const s = v === undefined ? '(absent)' : canon(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** For every path, the sorted list of paths that are the same inode (itself included). */
function inodePeers(entries: Iterable<ManifestEntry>, keep: (p: string) => boolean): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  const peers = new Map<string, string[]>();
  for (const e of entries) {
    if (!keep(e.path)) continue;
    if (e.hardlink_group === undefined) {
      peers.set(e.path, [e.path]);
      continue;
    }
    let g = byGroup.get(e.hardlink_group);
    if (!g) byGroup.set(e.hardlink_group, (g = []));
    g.push(e.path);
    peers.set(e.path, g);
  }
  for (const g of byGroup.values()) g.sort();
  return peers;
}

/**
 * Compares an expected tree with an actual one and returns one line per
 * difference (empty = identical): paths missing or extra; hard links as a
 * partition (names expected to share an inode must, and nothing else may;
 * group labels themselves are not compared); per path type, mode, st_mode,
 * uid, gid, nlink, size, target, sha256, rdev; mtime; and every xattr.
 * `expected` is typically {@link expectedFor}/{@link expectedForTree} output,
 * `actual` from {@link describeTree}.
 */
export function compareTrees(
  expected: readonly ManifestEntry[],
  actual: readonly ManifestEntry[],
  opts: CompareOptions = {},
): string[] {
  const ignore = new Set<ComparedAspect>(opts.ignore ?? []);
  const fixedTime = opts.fixedTime ?? FIXED_TIME;
  const skipX = opts.ignoreXattr ?? (() => false);
  const exp = new Map(expected.map((e) => [e.path, e]));
  const act = new Map(actual.map((e) => [e.path, e]));
  if (exp.size !== expected.length) throw new Error('compareTrees: duplicate paths in the expected entries');
  if (act.size !== actual.length) throw new Error('compareTrees: duplicate paths in the actual entries');
  const out: string[] = [];

  const paths = [...new Set([...exp.keys(), ...act.keys()])].sort();
  for (const p of paths) {
    if (!act.has(p)) out.push(`${p}: missing (expected ${exp.get(p)!.type})`);
    else if (!exp.has(p)) out.push(`${p}: unexpected ${act.get(p)!.type} (not in the expected tree)`);
  }

  if (!ignore.has('hardlinks')) {
    const both = (p: string): boolean => exp.has(p) && act.has(p);
    const ep = inodePeers(exp.values(), both);
    const ap = inodePeers(act.values(), both);
    const seen = new Set<string>();
    for (const p of [...ep.keys()].sort()) {
      const e = ep.get(p)!;
      const a = ap.get(p)!;
      if (canon(e) === canon(a)) continue;
      const key = `${canon(e)}|${canon(a)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`${p}: hard links: expected one inode with [${e.join(', ')}], got [${a.join(', ')}]`);
    }
  }

  for (const p of paths) {
    const e = exp.get(p);
    const a = act.get(p);
    if (!e || !a) continue;
    const ef = e as unknown as Record<string, unknown>;
    const af = a as unknown as Record<string, unknown>;
    for (const f of COMPARED_FIELDS) {
      if (ignore.has(f)) continue;
      if (canon(ef[f]) !== canon(af[f])) out.push(`${p}: ${f} expected ${show(ef[f])}, got ${show(af[f])}`);
    }
    if (!ignore.has('mtime')) {
      const want = opts.mtime === 'fixed' ? { sec: fixedTime, nsec: 0 } : e.mtime;
      if (canon(want) !== canon(a.mtime)) out.push(`${p}: mtime expected ${show(want)}, got ${show(a.mtime)}`);
    }
    if (!ignore.has('xattrs')) {
      const ex: Record<string, string> = { ...e.xattrs };
      if (opts.digestXattr && e.type === 'file' && e.size && e.sha256) {
        ex[opts.digestXattr] = digestXattrHex(e.sha256);
      }
      const ax = a.xattrs ?? {};
      const names = [...new Set([...Object.keys(ex), ...Object.keys(ax)])].filter((n) => !skipX(n)).sort();
      for (const n of names) {
        if (ex[n] !== ax[n]) out.push(`${p}: xattr ${n} expected ${show(ex[n])}, got ${show(ax[n])}`);
      }
    }
  }
  return out;
}

/**
 * Mismatches as one message for an assertion: the first `max` lines (default
 * 40) and a count of the rest; "" for none.
 */
export function formatMismatches(mismatches: readonly string[], max = 40): string {
  if (mismatches.length === 0) return '';
  const head = mismatches.slice(0, max).map((m) => `  ${m}`);
  if (mismatches.length > max) head.push(`  ... and ${mismatches.length - max} more`);
  return `${mismatches.length} mismatch(es):\n${head.join('\n')}`;
}
