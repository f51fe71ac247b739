#!/usr/bin/env node
// Compressed mkfs benchmark: our mkfs-erofs next to Debian's mkfs.erofs,
// -zlz4 and -zlz4hc, on one large real tree.
// Usage: node bench/mkfs-compress-bench.mjs [SOURCE_DIR] [--runs=N] [--workers=N]
// Default SOURCE_DIR: /usr/lib/x86_64-linux-gnu (hundreds of MB, thousands of files).
// Peak RSS: GNU time's %M for both; CPU: user+sys of the whole process (all threads).
// Ours runs as bin/mkfs-erofs does (the built CLI, with the environment and
// node flags of the launcher's #! line, as bench/mkfs-bench.mjs); when the CLI
// is not built, the writer library runs from sources through tsx (slower
// start-up, same output).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const src = args.find((a) => !a.startsWith('--')) ?? '/usr/lib/x86_64-linux-gnu';
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 3);
const workersArg = args.find((a) => a.startsWith('--workers='))?.slice(10);
const MKFS = process.env.MKFS ?? '/usr/bin/mkfs.erofs';
const TIME = '/usr/bin/time';

const dir = mkdtempSync(join(tmpdir(), 'mkfs-compress-bench-'));
const driver = join(root, 'bench', '.mkfs-compress-driver.mjs');
writeFileSync(driver, `
import { buildImage, defaultWriterOptions, scanDirectory, parseCompressionSpecs } from '@erofs/writer';
const [src, out, z, workers] = process.argv.slice(2);
const root = await scanDirectory(src);
const o = { ...defaultWriterOptions(), compression: parseCompressionSpecs(z), uuid: new Uint8Array(16) };
if (workers !== 'default') o.workers = Number(workers);
await buildImage(root, o, out);
`);
const cli = join(root, 'packages/cli/dist/bin/mkfs-erofs.js');
const useDist = existsSync(cli);
/** Environment and node flags of the launcher's first line (`#!/usr/bin/env -S VAR=value node --flag ...`). */
const launcher = (() => {
  const words = readFileSync(join(root, 'bin/mkfs-erofs'), 'utf8').split('\n')[0].replace(/^#!\s*/, '').split(/\s+/);
  const i = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const env = Object.fromEntries(words.slice(0, Math.max(i, 0)).filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w)).map((w) => w.split(/=(.*)/s).slice(0, 2)));
  return { env, flags: i >= 0 ? words.slice(i + 1) : [] };
})();
const oursArgv = (z, img) => useDist
  ? [...launcher.flags, cli, `-z${z}`, '-T0', '-U00000000-0000-0000-0000-000000000000', '--quiet', ...(workersArg ? [`--workers=${workersArg}`] : []), img, src]
  : ['--conditions=source', '--import', 'tsx', driver, src, img, z, workersArg ?? 'default'];

function timed(cmd, argv, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M %U %S', cmd, ...argv], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const lines = r.stderr.trim().split('\n');
  const [rss, user, sys] = lines[lines.length - 1].split(' ').map(Number);
  return { secs, rssMB: rss / 1024, cpu: user + sys };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const du = spawnSync('du', ['-sb', src], { encoding: 'utf8' }).stdout.split('\t')[0];
const nfiles = spawnSync('sh', ['-c', `find '${src}' -type f | wc -l`], { encoding: 'utf8' }).stdout.trim();
console.log(`source: ${src} (${(Number(du) / 1e6).toFixed(0)} MB, ${nfiles} files); runs: ${runs}; ours: ${useDist ? `bin/mkfs-erofs (${[...Object.entries(launcher.env).map(([k, v]) => `${k}=${v}`), 'node', ...launcher.flags].join(' ')})` : 'tsx sources'}, workers=${workersArg ?? 'default'}`);
spawnSync('cat', [], { input: '' });
// warm the page cache
spawnSync('sh', ['-c', `find '${src}' -type f -exec cat {} + > /dev/null 2>&1`]);

const rows = [];
for (const z of ['lz4', 'lz4hc']) {
  const theirs = [];
  const ours = [];
  for (let i = 0; i < runs; i++) {
    const a = join(dir, `debian-${z}.img`);
    const b = join(dir, `ours-${z}.img`);
    rmSync(a, { force: true });
    rmSync(b, { force: true });
    theirs.push({ ...timed(MKFS, [`-z${z}`, '-T0', a, src]), size: 0 });
    theirs[i].size = statSync(a).size;
    ours.push({ ...timed(process.execPath, oursArgv(z, b), useDist ? launcher.env : {}), size: 0 });
    ours[i].size = statSync(b).size;
  }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  rows.push({ z, t: m(theirs, 'secs'), o: m(ours, 'secs'), tc: m(theirs, 'cpu'), oc: m(ours, 'cpu'), ts: theirs[0].size, os: ours[0].size, tr: m(theirs, 'rssMB'), or: m(ours, 'rssMB') });
}
rmSync(dir, { recursive: true, force: true });
rmSync(driver, { force: true });

const pad = (s, n) => String(s).padStart(n);
console.log(`${'alg'.padEnd(6)}${pad('mkfs.erofs s', 13)}${pad('ours s', 9)}${pad('time x', 8)}${pad('mkfs.erofs MB', 15)}${pad('ours MB', 10)}${pad('size x', 8)}${pad('RSS theirs', 12)}${pad('RSS ours', 10)}${pad('CPU theirs s', 14)}${pad('CPU ours s', 12)}${pad('CPU x', 7)}`);
for (const r of rows) {
  console.log(`${r.z.padEnd(6)}${pad(r.t.toFixed(2), 13)}${pad(r.o.toFixed(2), 9)}${pad((r.o / r.t).toFixed(2), 8)}${pad((r.ts / 1e6).toFixed(1), 15)}${pad((r.os / 1e6).toFixed(1), 10)}${pad((r.os / r.ts).toFixed(3), 8)}${pad(r.tr.toFixed(0), 12)}${pad(r.or.toFixed(0), 10)}${pad(r.tc.toFixed(2), 14)}${pad(r.oc.toFixed(2), 12)}${pad((r.oc / r.tc).toFixed(2), 7)}`);
}
console.log(`targets: time x <= 1.50, size x <= 1.02 (load average at the end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
