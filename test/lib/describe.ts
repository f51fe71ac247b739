/**
 * Describing a directory tree (a source tree or a mounted image) in the
 * manifest's shape. We run the fixtures' own make-manifest.sh, so both sides
 * of a comparison are produced by the very code that produced the manifest.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FIX, type ManifestEntry } from './fixtures.js';
import { describeRun, isRoot, run, tmpDir, which } from './tools.js';

/** The fixtures' tree describer. */
export const MAKE_MANIFEST: string = join(FIX, 'make-manifest.sh');

/**
 * Null when {@link describeTree} can work here, else a skip reason:
 * make-manifest.sh needs bash and python3, and root to read trusted.* xattrs
 * (without root those xattrs would silently be missing from the description).
 */
export function canDescribe(): string | null {
  if (!which('bash')) return 'bash not found';
  if (!which('python3')) return 'python3 not found (make-manifest.sh needs it)';
  if (!isRoot()) return 'not root (trusted.* xattrs are only visible to root)';
  return null;
}

/**
 * Describes every path under `dir` exactly as source.manifest.json does
 * (sorted by UTF-8 bytes; see {@link ManifestEntry}) by running
 * make-manifest.sh DIR OUT.json. Reads and hashes every file, so describe a
 * tree once and reuse the result. Throws with the script's stderr if it fails.
 */
export async function describeTree(dir: string): Promise<ManifestEntry[]> {
  const work = tmpDir('describe');
  const out = join(work, 'tree.json');
  try {
    const r = await run('bash', [MAKE_MANIFEST, dir, out], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`describeTree(${dir}) failed: ${describeRun('make-manifest.sh', r)}`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { entries: ManifestEntry[] };
    return doc.entries;
  } finally {
    // tmpDir would also clean up at exit; remove early to keep /tmp tidy
    await rm(work, { recursive: true, force: true });
  }
}
