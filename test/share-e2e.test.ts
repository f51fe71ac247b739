/**
 * erofs-share report end to end: two generated trees with overlapping files
 * (identical at the same path, identical at different paths, identical within
 * one tree, same path with different bytes, same path with a different size,
 * empty files, a tail-only file, a symlink), built with our mkfs-erofs, must
 * give EXACTLY the page cache byte counts computed here from the trees alone:
 *  - without sharing: per image, the sum over its regular files of
 *    ceil(size / page) * page (page = the image's block size);
 *  - with sharing: the same, but each distinct content counted once over all
 *    images read so far (images in the order given);
 *  - the bound: as "with", in 4 KiB pages;
 * and zero mismatches. Images without fingerprints share nothing (and the
 * report says so); --no-share gives with == without; a forged fingerprint
 * shows up as a mismatch (exit 1); bad images are one line and exit 1.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { cliMissing, describeRun, runCli, skipIf, tmpDir, type RunResult } from './lib/tools.js';

/** Deterministic bytes: xorshift32 seeded by `seed`. */
function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

type Tree = Record<string, Uint8Array | { symlink: string }>;

const SAME = bytes(1, 10_000);
const BIG = bytes(2, 70_001);
const MOVED = bytes(3, 5_000);
const DUP = bytes(4, 3_000);
const SIZE_A = bytes(5, 4_096);
const SIZE_B = bytes(5, 8_193); // same prefix, different size
const PAGE = bytes(6, 4_096);
const SMALL = bytes(7, 100);

const TREE_A: Tree = {
  'common/same.bin': SAME,
  'common/big.bin': BIG,
  'common/page.bin': PAGE,
  'common/small.txt': SMALL,
  'moved/a-name.txt': MOVED,
  'dup/one.bin': DUP,
  'dup/two.bin': DUP, // identical content twice in one image
  'diff.bin': bytes(8, 6_000),
  'size.bin': SIZE_A,
  'empty': new Uint8Array(0),
  'link': { symlink: 'common/same.bin' },
  'only-a.bin': bytes(9, 20_000),
};

const TREE_B: Tree = {
  'common/same.bin': SAME,
  'common/big.bin': BIG,
  'common/page.bin': PAGE,
  'common/small.txt': SMALL,
  'other/b-name.txt': MOVED, // same content, different path
  'dup/one.bin': DUP,
  'diff.bin': bytes(10, 6_000), // same path and size, different bytes
  'size.bin': SIZE_B,
  'empty': new Uint8Array(0),
  'link': { symlink: 'common/big.bin' },
  'only-b.bin': bytes(11, 12_345),
};

function writeTree(dir: string, tree: Tree): void {
  for (const [rel, v] of Object.entries(tree)) {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    if (v instanceof Uint8Array) writeFileSync(p, v);
    else symlinkSync(v.symlink, p);
  }
}

/** Regular files of a directory on the host, recursively. */
function regularFiles(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...regularFiles(p));
    else if (st.isFile()) out.push(readFileSync(p));
  }
  return out;
}

interface Expected {
  without: number[];
  with: number[];
  bound: number[];
}

/** The expectation, from the host trees only (never from our reader or engine). */
function expect(dirs: string[], page: number, shared: boolean): Expected {
  const round = (n: number, p: number): number => Math.ceil(n / p) * p;
  const seenShare = new Set<string>();
  const seenBound = new Set<string>();
  const e: Expected = { without: [], with: [], bound: [] };
  for (const d of dirs) {
    let without = 0;
    let withS = 0;
    let bound = 0;
    for (const f of regularFiles(d)) {
      const h = createHash('sha256').update(f).digest('hex');
      without += round(f.length, page);
      if (!shared) withS += round(f.length, page);
      else if (!seenShare.has(h)) {
        seenShare.add(h);
        withS += round(f.length, page);
      }
      if (!seenBound.has(h)) {
        seenBound.add(h);
        bound += round(f.length, 4096);
      }
    }
    e.without.push(without);
    e.with.push(withS);
    e.bound.push(bound);
  }
  return e;
}

interface JsonReport {
  withoutSharingBytes: number;
  withSharingBytes: number;
  boundBytes: number;
  reductionPercent: number;
  mismatches: Array<{ image: string; path: string; offset: number }>;
  images: Array<{
    name: string; sharing: string; files: number; sharedFiles: number;
    withoutSharingBytes: number; withSharingBytes: number; boundBytes: number;
  }>;
}

function parse(r: RunResult): JsonReport {
  try {
    return JSON.parse(r.stdout) as JsonReport;
  } catch {
    throw new Error(`not JSON: ${describeRun('erofs-share', r)}`);
  }
}

function checkExact(j: JsonReport, e: Expected): void {
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
  assert.deepEqual(j.images.map((i) => i.withoutSharingBytes), e.without, 'per-image bytes without sharing');
  assert.deepEqual(j.images.map((i) => i.withSharingBytes), e.with, 'per-image bytes with sharing');
  assert.deepEqual(j.images.map((i) => i.boundBytes), e.bound, 'per-image file-level bound');
  assert.equal(j.withoutSharingBytes, sum(e.without));
  assert.equal(j.withSharingBytes, sum(e.with));
  assert.equal(j.boundBytes, sum(e.bound));
  const pct = Math.round(10000 * (1 - sum(e.with) / sum(e.without))) / 100;
  assert.equal(j.reductionPercent, pct);
  assert.deepEqual(j.mismatches, []);
}

const KEY = '--ishare_key=trusted.erofs.fingerprint';

describe('erofs-share report end to end', { concurrency: true }, () => {
  let work = '';
  let dirA = '';
  let dirB = '';
  const img = (name: string): string => join(work, name);
  let setupError: string | null = null;

  before(async () => {
    if (cliMissing('mkfs-erofs') || cliMissing('erofs-share')) return;
    work = tmpDir('share-e2e');
    dirA = join(work, 'a');
    dirB = join(work, 'b');
    writeTree(dirA, TREE_A);
    writeTree(dirB, TREE_B);
    const builds: Array<[string, string, string[]]> = [
      ['a-key.erofs', dirA, [KEY]], ['b-key.erofs', dirB, [KEY]],
      ['a-def.erofs', dirA, ['--xattr-inode-digest']], ['b-def.erofs', dirB, ['--xattr-inode-digest']],
      ['a-none.erofs', dirA, []], ['b-none.erofs', dirB, []],
      ['a-512.erofs', dirA, [KEY, '-b512']], ['b-512.erofs', dirB, [KEY, '-b512']],
    ];
    const results = await Promise.all(builds.map(([out, src, extra]) =>
      runCli('mkfs-erofs', ['--quiet', '-T0', '-Uclear', ...extra, img(out), src])));
    const bad = results.findIndex((r) => r.code !== 0);
    if (bad >= 0) setupError = describeRun(`mkfs-erofs ${builds[bad]![0]}`, results[bad]!);
  });

  const ready = (t: TestContext): boolean => {
    if (skipIf(t, cliMissing('mkfs-erofs'), cliMissing('erofs-share'))) return false;
    assert.equal(setupError, null, setupError ?? '');
    return true;
  };

  async function report(args: string[]): Promise<RunResult> {
    return runCli('erofs-share', ['report', ...args]);
  }

  it(`${KEY}: exact with/without bytes per image and in total, 0 mismatches`, async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', img('a-key.erofs'), img('b-key.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    const j = parse(r);
    checkExact(j, expect([dirA, dirB], 4096, true));
    assert.ok(j.withSharingBytes < j.withoutSharingBytes);
    assert.equal(j.withSharingBytes, j.boundBytes, 'whole-file sharing reaches the file-level bound exactly');
    assert.deepEqual(j.images.map((i) => i.sharing), ['on', 'on']);
    // every non-empty regular file reads through a shared space
    assert.deepEqual(j.images.map((i) => i.sharedFiles), [10, 9]);
  });

  it('hidden default fingerprint name (--xattr-inode-digest): same exact counts', async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', img('a-def.erofs'), img('b-def.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    checkExact(parse(r), expect([dirA, dirB], 4096, true));
  });

  it('the other order: the first image pays for the shared pages', async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', '--domain', 'apps', img('b-key.erofs'), img('a-key.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    checkExact(parse(r), expect([dirB, dirA], 4096, true));
  });

  it('512-byte blocks: pages are block-sized, the bound stays in 4 KiB pages', async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', img('a-512.erofs'), img('b-512.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    checkExact(parse(r), expect([dirA, dirB], 512, true));
  });

  it('images built without fingerprints share nothing, and the report says so', async (t) => {
    if (!ready(t)) return;
    const [rj, rt] = await Promise.all([
      report(['--json', img('a-none.erofs'), img('b-none.erofs')]),
      report([img('a-none.erofs'), img('b-none.erofs')]),
    ]);
    assert.equal(rj.code, 0, describeRun('erofs-share', rj));
    const j = parse(rj);
    checkExact(j, expect([dirA, dirB], 4096, false));
    assert.equal(j.withSharingBytes, j.withoutSharingBytes);
    assert.equal(j.reductionPercent, 0);
    assert.ok(j.boundBytes < j.withoutSharingBytes, 'the bound still shows what sharing could save');
    for (const i of j.images) {
      assert.equal(i.sharedFiles, 0);
      assert.match(i.sharing, /^off: .*no fingerprints/);
    }
    assert.equal(rt.code, 0, describeRun('erofs-share', rt));
    assert.match(rt.stdout, /a-none\.erofs: sharing off: image has no fingerprints .*none of its files share/);
    assert.match(rt.stdout, /^total\s+21\s/m);
    assert.match(rt.stdout, /0 mismatches|every byte read with sharing equals/);
  });

  it('one image with fingerprints, one without: nothing crosses', async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', img('a-key.erofs'), img('b-none.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    const j = parse(r);
    // a shares only with itself (dup/one.bin == dup/two.bin); b is all private
    const e = expect([dirA], 4096, true);
    const eb = expect([dirB], 4096, false);
    assert.equal(j.images[0]!.withSharingBytes, e.with[0]);
    assert.equal(j.images[1]!.withSharingBytes, eb.without[0]);
    assert.deepEqual(j.mismatches, []);
  });

  it('--no-share: with == without, 0 mismatches', async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', '--no-share', img('a-key.erofs'), img('b-key.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    const j = parse(r);
    checkExact(j, expect([dirA, dirB], 4096, false));
    assert.equal(j.withSharingBytes, j.withoutSharingBytes);
    assert.deepEqual(j.images.map((i) => i.sharing), ['off: --no-share', 'off: --no-share']);
  });

  it('--workload reads only the listed paths (directories expand, absent paths noted)', async (t) => {
    if (!ready(t)) return;
    const wl = join(work, 'workload.txt');
    writeFileSync(wl, '# the shared part\ncommon\n/other/b-name.txt\nmoved/a-name.txt\n\n/not-there\n');
    const r = await report(['--json', '--workload', wl, img('a-key.erofs'), img('b-key.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    const j = parse(r) as JsonReport & { images: Array<{ missingPaths: string[] }> };
    const common = [SAME, BIG, PAGE, SMALL].reduce((s, f) => s + Math.ceil(f.length / 4096) * 4096, 0);
    const moved = Math.ceil(MOVED.length / 4096) * 4096;
    assert.deepEqual(j.images.map((i) => i.files), [5, 5]);
    assert.deepEqual(j.images.map((i) => i.withoutSharingBytes), [common + moved, common + moved]);
    assert.deepEqual(j.images.map((i) => i.withSharingBytes), [common + moved, 0]);
    assert.deepEqual(j.images.map((i) => (i as unknown as { missingPaths: string[] }).missingPaths), [['/other/b-name.txt', '/not-there'], ['/moved/a-name.txt', '/not-there']]);
  });

  it('--cache-bytes: the same working-set figures under a small budget', async (t) => {
    if (!ready(t)) return;
    const r = await report(['--json', '--cache-bytes', '16K', img('a-key.erofs'), img('b-key.erofs')]);
    assert.equal(r.code, 0, describeRun('erofs-share', r));
    const j = parse(r) as JsonReport & { engines: { withSharing: { evictions: number; maxBytes: number } } };
    checkExact(j, expect([dirA, dirB], 4096, true));
    assert.equal(j.engines.withSharing.maxBytes, 16384);
    assert.ok(j.engines.withSharing.evictions > 0);
  });

  it('a forged fingerprint (same size, other bytes) is caught as a mismatch: exit 1', async (t) => {
    if (!ready(t)) return;
    // b's diff.bin claims a's diff.bin fingerprint: patch the 32 digest bytes after "sha256:".
    const digest = (f: Uint8Array): Buffer => createHash('sha256').update(f).digest();
    const b = readFileSync(img('b-key.erofs'));
    const from = Buffer.concat([Buffer.from('sha256:'), digest(TREE_B['diff.bin'] as Uint8Array)]);
    const to = Buffer.concat([Buffer.from('sha256:'), digest(TREE_A['diff.bin'] as Uint8Array)]);
    const at = b.indexOf(from);
    assert.ok(at > 0, 'fingerprint of diff.bin found in the image');
    to.copy(b, at);
    const forged = join(work, 'b-forged.erofs');
    writeFileSync(forged, b);
    const [rt, rj] = await Promise.all([
      report([img('a-key.erofs'), forged]),
      report(['--json', img('a-key.erofs'), forged]),
    ]);
    assert.equal(rt.code, 1, describeRun('erofs-share', rt));
    assert.match(rt.stdout, /check FAILED: 1 file\(s\)/);
    assert.match(rt.stdout, /b-forged\.erofs: \/diff\.bin: first difference at byte \d+/);
    assert.equal(rj.code, 1);
    assert.deepEqual(parse(rj).mismatches.map((m) => m.path), ['/diff.bin']);
  });

  it('bad input: one line on stderr and a non-zero exit', async (t) => {
    if (!ready(t)) return;
    const junk = join(work, 'junk.erofs');
    writeFileSync(junk, bytes(99, 8192));
    const cases: Array<[string[], number, RegExp]> = [
      [['report', join(work, 'missing.erofs')], 1, /missing\.erofs.*ENOENT/],
      [['report', img('a-key.erofs'), junk], 1, /junk\.erofs/],
      [['report', '--workload', join(work, 'no-such-list'), img('a-key.erofs')], 1, /workload/],
      [['report'], 2, /no IMAGE/],
      [['report', '--frobnicate', img('a-key.erofs')], 2, /unknown option --frobnicate/],
      [['report', '--cache-bytes', 'lots', img('a-key.erofs')], 2, /--cache-bytes/],
      [['report', '--domain=', img('a-key.erofs')], 2, /domain/],
      [['explode'], 2, /unknown command/],
    ];
    const rs = await Promise.all(cases.map(([args]) => runCli('erofs-share', args)));
    rs.forEach((r, k) => {
      const [args, code, re] = cases[k]!;
      const what = `erofs-share ${args.join(' ')}`;
      assert.equal(r.code, code, describeRun(what, r));
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: one line on stderr, got ${JSON.stringify(r.stderr)}`);
      assert.match(lines[0]!, /^erofs-share: /);
      assert.match(lines[0]!, re);
      assert.equal(r.stdout, '');
    });
  });

  it('--help', async (t) => {
    if (!ready(t)) return;
    const r = await runCli('erofs-share', ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: erofs-share report \[OPTIONS\] IMAGE\.\.\./);
    for (const o of ['--domain', '--no-share', '--json', '--workload', '--cache-bytes']) assert.ok(r.stdout.includes(o), o);
    const r2 = await runCli('erofs-share', ['report', '--help']);
    assert.equal(r2.stdout, r.stdout);
  });
});
