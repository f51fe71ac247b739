/**
 * The fixture source tree (what every fixture image was built from), made by
 * ../shared/fixtures/make-source.sh and cached outside the repository:
 *
 *   $EROFS_TS_CACHE (default /tmp/erofs-ts-cache)/
 *     source-<h>/tree       full tree (2151 paths)
 *     source-<h>/verified   JSON marker: the tree matched the manifest
 *     lite-<h>/tree         lite tree: /bulk present but empty (2146 paths)
 *     lite-<h>/verified
 *
 * where <h> is the first 12 hex digits of the SHA-256 of make-source.sh, so a
 * changed script gets a fresh tree. A tree is built under a temporary name,
 * described with make-manifest.sh and compared with the manifest, and only
 * then renamed into place (rename is atomic; a loser of a race discards its
 * copy). A lock directory keeps concurrent test processes from building the
 * same tree twice; a lock whose owner died is taken over.
 *
 * The trees are shared by every test: treat them as read-only (reading does
 * not change mtimes; writing anything into them would break the next run).
 *
 * Lite tree: we build a real separate copy rather than asking callers to pass
 * `--exclude-regex='^bulk/.'`, because our own mkfs, tar and OCI paths need a
 * tree whose *content* is the lite set. For tools that do take the regex,
 * {@link LITE_EXCLUDE_REGEX} with the full tree gives the same image.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { compareTrees, formatMismatches } from './compare.js';
import { canDescribe, describeTree } from './describe.js';
import { FIX, FIXED_TIME, MANIFEST_PATH, expectedForTree } from './fixtures.js';
import { describeRun, isRoot, REPO_ROOT, run } from './tools.js';

/** The fixtures' tree generator. */
export const MAKE_SOURCE: string = join(FIX, 'make-source.sh');

/** The mkfs.erofs --exclude-regex that turns the full tree into the lite one. */
export const LITE_EXCLUDE_REGEX = '^bulk/.';

/** Which source tree: every manifest path, or without the contents of /bulk. */
export type TreeKind = 'full' | 'lite';

/**
 * A usable tree (`path`; `built` when this very call created it rather than
 * finding it cached), or why there is none (`skip`; with `mismatches` when
 * the host built a tree that differs from the manifest).
 */
export type SourceTreeResult = { path: string; built?: true } | { skip: string; mismatches?: string[] };

/** Options of {@link fixtureSourceTree} and {@link liteSourceTree}. */
export interface SourceTreeOptions {
  /** Cache directory (default $EROFS_TS_CACHE or /tmp/erofs-ts-cache). */
  cacheRoot?: string;
  /** Longest wait for another process's build, in ms (default 180000); then we build ourselves. */
  lockWaitMs?: number;
}

/** The default cache directory for built trees. */
export function cacheRoot(): string {
  return process.env['EROFS_TS_CACHE'] || '/tmp/erofs-ts-cache';
}

let scriptHash: string | undefined;
/** First 12 hex digits of the SHA-256 of make-source.sh (the cache key). */
export function sourceScriptHash(): string {
  scriptHash ??= createHash('sha256').update(readFileSync(MAKE_SOURCE)).digest('hex').slice(0, 12);
  return scriptHash;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A finished cache entry looks complete: marker and tree present. */
function complete(final: string): boolean {
  return existsSync(join(final, 'verified')) && existsSync(join(final, 'tree', 'README.txt'));
}

/**
 * Tries to take the lock directory; true on success. A lock left by a dead
 * process is removed (renamed away first so two takers cannot delete each
 * other's fresh lock) and retried.
 */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false; // just created by someone who has not written the pid yet
  }
  if (Number.isFinite(owner) && pidAlive(owner)) return false;
  const gone = `${lock}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lock, gone);
    rmSync(gone, { recursive: true, force: true });
  } catch {
    // someone else took it over first
  }
  return false;
}

/** Removes temporary build directories of this kind left by processes that died. */
function sweepStale(root: string, prefix: string): void {
  for (const n of readdirSync(root)) {
    const m = new RegExp(`^${prefix}-(\\d+)-`).exec(n);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(root, n), { recursive: true, force: true });
  }
}

/** Builds, checks and publishes one tree; returns a skip result instead of throwing for host problems. */
async function build(kind: TreeKind, root: string, final: string): Promise<SourceTreeResult> {
  const tmpPrefix = `.tmp-${kind}-${sourceScriptHash()}`;
  sweepStale(root, tmpPrefix);
  const work = join(root, `${tmpPrefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(work);
  try {
    const tree = join(work, 'tree');
    const r = await run('bash', [MAKE_SOURCE, tree], { timeoutMs: 300_000 });
    if (r.code !== 0) {
      return { skip: `make-source.sh failed on this host (${describeRun('make-source.sh', r)})` };
    }
    if (kind === 'lite') {
      const bulk = join(tree, 'bulk');
      for (const n of readdirSync(bulk)) rmSync(join(bulk, n), { recursive: true, force: true });
      utimesSync(bulk, FIXED_TIME, FIXED_TIME); // emptying /bulk changed its mtime
    }
    const mismatches = compareTrees(expectedForTree({ tree: kind }), await describeTree(tree));
    if (mismatches.length > 0) {
      return {
        skip: `the ${kind} source tree built on this host differs from source.manifest.json: ${formatMismatches(mismatches, 5)}`,
        mismatches,
      };
    }
    const manifestSha = createHash('sha256').update(readFileSync(MANIFEST_PATH)).digest('hex');
    writeFileSync(
      join(work, 'verified'),
      JSON.stringify({ kind, makeSource: sourceScriptHash(), manifestSha256: manifestSha, at: new Date().toISOString() }) + '\n',
    );
    try {
      renameSync(work, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !complete(final)) throw e;
      // another process published the same tree first: use theirs
      return { path: join(final, 'tree') };
    }
    return { path: join(final, 'tree'), built: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const inProcess = new Map<string, Promise<SourceTreeResult>>();

async function sourceTree(kind: TreeKind, opts: SourceTreeOptions): Promise<SourceTreeResult> {
  if (!isRoot()) return { skip: 'not root (make-source.sh creates device nodes, owners and trusted.* xattrs)' };
  const why = canDescribe();
  if (why) return { skip: why };
  const root = opts.cacheRoot ?? cacheRoot();
  const final = join(root, `${kind === 'full' ? 'source' : 'lite'}-${sourceScriptHash()}`);
  if (complete(final)) return { path: join(final, 'tree') };
  try {
    mkdirSync(root, { recursive: true });
  } catch (e) {
    return { skip: `cannot create the tree cache ${root}: ${(e as Error).message}` };
  }
  const lock = `${final}.lock`;
  const deadline = Date.now() + (opts.lockWaitMs ?? 180_000);
  let locked = false;
  while (!(locked = tryLock(lock))) {
    if (complete(final)) return { path: join(final, 'tree') };
    if (Date.now() > deadline) break; // owner alive but stuck: build our own copy (rename keeps it safe)
    await sleep(100);
  }
  try {
    if (complete(final)) return { path: join(final, 'tree') };
    return await build(kind, root, final);
  } finally {
    if (locked) rmSync(lock, { recursive: true, force: true });
  }
}

function cached(kind: TreeKind, opts: SourceTreeOptions): Promise<SourceTreeResult> {
  const key = `${kind}:${opts.cacheRoot ?? cacheRoot()}`;
  let p = inProcess.get(key);
  if (!p) {
    p = sourceTree(kind, opts);
    inProcess.set(key, p);
  }
  return p;
}

/**
 * Path of the full fixture source tree (2151 paths, identical to
 * source.manifest.json), building and verifying it on first use; or
 * `{skip}` when this host cannot (not root, python3 missing, make-source.sh
 * failing -- e.g. no trusted.* xattrs or ACLs on the cache filesystem -- or
 * the built tree not matching the manifest, then with `mismatches`).
 */
export function fixtureSourceTree(opts: SourceTreeOptions = {}): Promise<SourceTreeResult> {
  return cached('full', opts);
}

/**
 * Path of the lite fixture source tree: the full tree without the contents
 * of /bulk (/bulk itself present, empty, mtime 1700000000), i.e. what the
 * "lite" images hold (2146 paths, equal to expectedForTree({tree: 'lite'})).
 * Same caching and skip behaviour as {@link fixtureSourceTree}.
 */
export function liteSourceTree(opts: SourceTreeOptions = {}): Promise<SourceTreeResult> {
  return cached('lite', opts);
}

/**
 * The fixture tree when it can be made (as root), else the small tree shipped
 * in examples/ (with a diagnostic saying why): for tests that need some real
 * tree and must not skip.
 */
export async function fixtureOrExampleTree(t: TestContext): Promise<string> {
  if (isRoot()) {
    const r = await fixtureSourceTree();
    if ('path' in r) return r.path;
    t.diagnostic(`fixture tree unavailable (${r.skip}); using examples/tree`);
  }
  return join(REPO_ROOT, 'examples', 'tree');
}
