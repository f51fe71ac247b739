/**
 * The cached fixture source trees (test/lib/source-tree.ts) must equal the
 * manifest: the full tree source.manifest.json itself, the lite tree its
 * "lite" selection. Also checks that two processes asking for a tree in an
 * empty cache at once both get the same, complete tree.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { compareTrees, formatMismatches } from './lib/compare.js';
import { describeTree } from './lib/describe.js';
import { expectedForTree, loadManifest } from './lib/fixtures.js';
import { fixtureSourceTree, liteSourceTree, sourceScriptHash, type SourceTreeResult } from './lib/source-tree.js';
import { describeRun, REPO_ROOT, run, skipIf, tmpDir } from './lib/tools.js';

/** Skips for host problems, but fails when the host built a tree that differs from the manifest. */
function usable(t: import('node:test').TestContext, r: SourceTreeResult): string | null {
  if ('path' in r) return r.path;
  assert.equal(r.mismatches, undefined, r.skip); // a wrong tree is a failure, not a skip
  skipIf(t, r.skip);
  return null;
}

test('full source tree equals source.manifest.json', async (t) => {
  const path = usable(t, await fixtureSourceTree());
  if (!path) return;
  const actual = await describeTree(path);
  assert.equal(actual.length, 2151);
  const bad = compareTrees(loadManifest(), actual);
  assert.equal(bad.length, 0, formatMismatches(bad));
});

test('lite source tree equals the manifest without /bulk/*', async (t) => {
  const path = usable(t, await liteSourceTree());
  if (!path) return;
  const actual = await describeTree(path);
  assert.equal(actual.length, 2146);
  assert.deepEqual(readdirSync(join(path, 'bulk')), []);
  const bad = compareTrees(expectedForTree({ tree: 'lite' }), actual);
  assert.equal(bad.length, 0, formatMismatches(bad));
});

test('two processes building into an empty cache at once agree', async (t) => {
  // cheap precondition: the normal cache works here (else the reason is shown)
  if (!usable(t, await fixtureSourceTree())) return;
  const cache = tmpDir('cache-race', t);
  const lib = pathToFileURL(join(REPO_ROOT, 'test', 'lib', 'source-tree.ts')).href;
  const script =
    `const { fixtureSourceTree } = await import(${JSON.stringify(lib)});` +
    `const r = await fixtureSourceTree({ cacheRoot: ${JSON.stringify(cache)} });` +
    `console.log(JSON.stringify(r));`;
  const args = ['--conditions=source', '--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script];
  const [a, b] = await Promise.all([run(process.execPath, args), run(process.execPath, args)]);
  assert.equal(a.code, 0, describeRun('child a', a));
  assert.equal(b.code, 0, describeRun('child b', b));
  const ra = JSON.parse(a.stdout.trim().split('\n').pop()!) as SourceTreeResult;
  const rb = JSON.parse(b.stdout.trim().split('\n').pop()!) as SourceTreeResult;
  const want = join(cache, `source-${sourceScriptHash()}`, 'tree');
  assert.ok('path' in ra && ra.path === want, a.stdout);
  assert.ok('path' in rb && rb.path === want, b.stdout);
  // the lock let exactly one of them build; the other waited (or came late) and reused it
  assert.equal(Number(!!ra.built) + Number(!!rb.built), 1, `built: ${a.stdout} ${b.stdout}`);
  assert.ok(existsSync(join(cache, `source-${sourceScriptHash()}`, 'verified')));
  // nothing but the published tree is left: no lock, no temporary build
  assert.deepEqual(readdirSync(cache), [`source-${sourceScriptHash()}`]);
  const bad = compareTrees(loadManifest(), await describeTree(want));
  assert.equal(bad.length, 0, formatMismatches(bad));
});

test('a lock and a half-built tree left by a dead process do not block a build', async (t) => {
  if (!usable(t, await fixtureSourceTree())) return;
  const cache = tmpDir('cache-stale', t);
  const name = `lite-${sourceScriptHash()}`;
  const dead = await deadPid();
  mkdirSync(join(cache, `${name}.lock`));
  writeFileSync(join(cache, `${name}.lock`, 'pid'), String(dead));
  mkdirSync(join(cache, `.tmp-lite-${sourceScriptHash()}-${dead}-0000`, 'tree'), { recursive: true });
  const started = Date.now();
  const r = await liteSourceTree({ cacheRoot: cache, lockWaitMs: 60_000 });
  assert.ok('path' in r && r.built, JSON.stringify(r));
  assert.ok(Date.now() - started < 30_000, 'did not wait for the dead owner');
  assert.deepEqual(readdirSync(cache), [name]);
});

/** A pid that certainly belongs to no live process: one that just exited. */
async function deadPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('close', r));
  return child.pid!;
}
