#!/usr/bin/env node
// Runs the whole test suite: installs the system tools the tests use (when
// root and missing), builds every package, then runs node's test runner over
// every *.test.ts under packages/*/test and test/ (sources run through tsx
// with the "source" export condition, so tests see the current code).
// Usage: node scripts/test.mjs [--no-setup] [--no-build] [FILTER...]
//   FILTER: substrings of test file paths to run (default: all).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const noSetup = args.includes('--no-setup');
const noBuild = args.includes('--no-build');
const filters = args.filter((a) => !a.startsWith('--'));

// The shared fixtures and fmount.py: EROFS_SHARED, else ../shared beside this
// checkout, else ../shared beside the repository it was cloned from (a local
// `git clone . /tmp/x` lands away from them). The tests read EROFS_SHARED.
function findShared() {
  const candidates = [];
  if (process.env.EROFS_SHARED) candidates.push(resolve(process.env.EROFS_SHARED));
  candidates.push(resolve(root, '..', 'shared'));
  try {
    const origin = execFileSync('git', ['-C', root, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    const dir = origin.startsWith('file://') ? origin.slice(7) : origin;
    if (isAbsolute(dir)) candidates.push(resolve(dir, '..', 'shared'));
  } catch {
    // not a clone, or no origin
  }
  return candidates.find((d) => existsSync(join(d, 'fixtures', 'make-source.sh')));
}
const shared = findShared();
if (!shared) {
  console.error(`test: the shared fixtures were not found (../shared beside ${root}); put the checkout next to shared/ or set EROFS_SHARED=DIR`);
  process.exit(1);
}
process.env.EROFS_SHARED = shared;

if (!noSetup) {
  spawnSync(process.execPath, [join(root, 'scripts/setup-system.mjs')], { stdio: 'inherit' });
}
if (!noBuild) {
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
  // the tests themselves type-check too (tsx only strips types)
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' });
}

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const n of names.sort()) {
    if (n === 'node_modules' || n === 'dist' || n === 'fixtures-cache') continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const files = [];
for (const pkg of readdirSync(join(root, 'packages')).sort()) walk(join(root, 'packages', pkg, 'test'), files);
walk(join(root, 'test'), files);
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
if (chosen.length === 0) {
  console.error('test: no test files match ' + filters.join(' '));
  process.exit(1);
}
const r = spawnSync(process.execPath, [
  '--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec',
  ...chosen.map((f) => relative(root, f)),
], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
