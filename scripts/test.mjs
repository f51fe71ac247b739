#!/usr/bin/env node
// Runs the whole test suite: installs the system tools the tests use (when
// root and missing), builds every package, then runs node's test runner over
// every *.test.ts under packages/*/test and test/ (sources run through tsx
// with the "source" export condition, so tests see the current code).
// Usage: node scripts/test.mjs [--no-setup] [--no-build] [FILTER...]
//   FILTER: substrings of test file paths to run (default: all).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const noSetup = args.includes('--no-setup');
const noBuild = args.includes('--no-build');
const filters = args.filter((a) => !a.startsWith('--'));

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
