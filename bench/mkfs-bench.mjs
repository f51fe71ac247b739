#!/usr/bin/env node
// mkfs-erofs benchmark: our mkfs-erofs (built dist, with and without
// --ishare_key fingerprints) against Debian's mkfs.erofs on one large real
// tree, several runs each, interleaved so cache and machine noise hit every
// tool alike. Prints median and best wall time, median CPU time (user +
// system, all threads), peak RSS and image size per tool and the ratios the
// issue sets targets for (ours with fingerprints <= 1.25x Debian's time,
// peak RSS < 150 MB). Ours runs as bin/mkfs-erofs does: this node with the
// V8 flags of the launcher's #! line.
//
// Usage: node bench/mkfs-bench.mjs [--runs N] [--tree DIR] [--work DIR] [--profile] [--keep]
//   --tree DIR  tree to pack (default: WORK/tree, created on first use as a
//               copy of /usr/share plus this repository's node_modules/.pnpm;
//               cp -a, so owners, modes, mtimes, symlinks and hard links stay)
//   --work DIR  scratch directory (default /tmp/erofs-bench); images go to WORK/out
//   --runs N    timed runs per tool (default 3); one untimed warm-up run each first
//   --profile   also run ours once under node --cpu-prof and print the top
//               functions by self time (profile kept in WORK/prof)
//   --keep      keep the last images
// Needs: /usr/bin/time (GNU time, for peak RSS), /usr/bin/mkfs.erofs, a built
// repository (pnpm install runs tsc -b).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const WORK = resolve(opt('--work', '/tmp/erofs-bench'));
const TREE = resolve(opt('--tree', join(WORK, 'tree')));
const RUNS = Number(opt('--runs', '3'));
const PROFILE = args.includes('--profile');
const KEEP = args.includes('--keep');
const OUT = join(WORK, 'out');
const OURS = join(ROOT, 'packages/cli/dist/bin/mkfs-erofs.js');
const LAUNCHER = join(ROOT, 'bin/mkfs-erofs');
/**
 * Environment and node flags of the launcher's first line
 * (`#!/usr/bin/env -S VAR=value node --flag ...`).
 */
const { NODE_ENV_VARS, NODE_FLAGS } = (() => {
  const first = readFileSync(LAUNCHER, 'utf8').split('\n')[0];
  const words = first.replace(/^#!\s*/, '').split(/\s+/);
  const i = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const vars = Object.fromEntries(words.slice(0, Math.max(i, 0)).filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w)).map((w) => w.split(/=(.*)/s).slice(0, 2)));
  return { NODE_ENV_VARS: vars, NODE_FLAGS: i >= 0 ? words.slice(i + 1) : [] };
})();
const DEBIAN = '/usr/bin/mkfs.erofs';
const GNU_TIME = '/usr/bin/time';
// mkfs.erofs 1.5 knows neither -Uclear nor --mkfs-time: a fixed UUID and -T0 for all
const COMMON = ['--quiet', '-T0', '-U00000000-0000-0000-0000-000000000001'];

function die(msg) {
  console.error(`mkfs-bench: ${msg}`);
  process.exit(1);
}
for (const [p, what] of [[OURS, 'our build (run `npx -y pnpm@10.34.8 install`)'], [DEBIAN, "Debian's mkfs.erofs (apt-get install erofs-utils)"], [GNU_TIME, 'GNU time (apt-get install time)']]) {
  if (!existsSync(p)) die(`missing ${p}: ${what}`);
}

mkdirSync(WORK, { recursive: true });
if (!existsSync(TREE)) {
  console.log(`creating ${TREE}: cp -a /usr/share and ${join(ROOT, 'node_modules/.pnpm')} ...`);
  mkdirSync(TREE, { recursive: true });
  const cp = (from, to) => {
    const r = spawnSync('cp', ['-a', from, join(TREE, to)], { stdio: 'inherit' });
    if (r.status !== 0) die(`cp -a ${from} failed`);
  };
  cp('/usr/share', 'usr-share');
  if (existsSync(join(ROOT, 'node_modules/.pnpm'))) cp(join(ROOT, 'node_modules/.pnpm'), 'node_modules-pnpm');
}

/** Files, directories and bytes of regular files under dir (lstat; hard links counted once). */
function treeStats(dir) {
  let files = 0, dirs = 0, other = 0, bytes = 0;
  const seen = new Set();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        dirs++;
        walk(p);
      } else if (e.isFile()) {
        const st = statSync(p);
        files++;
        if (!seen.has(st.ino)) {
          seen.add(st.ino);
          bytes += st.size;
        }
      } else other++;
    }
  };
  walk(dir);
  return { files, dirs, other, bytes };
}

const TOOLS = [
  { name: 'debian mkfs.erofs 1.5', cmd: [DEBIAN, ...COMMON], env: {} },
  { name: 'ours', cmd: [process.execPath, ...NODE_FLAGS, OURS, ...COMMON], env: NODE_ENV_VARS },
  { name: 'ours --ishare_key', cmd: [process.execPath, ...NODE_FLAGS, OURS, ...COMMON, '--ishare_key=trusted.erofs.fingerprint'], env: NODE_ENV_VARS },
];

/** One run under GNU time: wall seconds (ours, by hrtime), CPU seconds, peak RSS in KiB, image size. */
function runOnce(tool, img) {
  rmSync(img, { force: true });
  const stats = join(WORK, 'time.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(GNU_TIME, ['-f', '%M %U %S', '-o', stats, ...tool.cmd, img, TREE], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...tool.env } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) die(`${tool.name} failed (exit ${r.status}): ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}`);
  const [rssKiB, user, sys] = readFileSync(stats, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { seconds, cpu: user + sys, rssKiB, size: statSync(img).size };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const st = treeStats(TREE);
console.log(`tree: ${TREE}: ${st.files} files, ${st.dirs} directories, ${st.other} other, ${(st.bytes / 1048576).toFixed(0)} MiB of file data`);
console.log(`runs: ${RUNS} timed per tool after one warm-up each, interleaved; ours: ${Object.entries(NODE_ENV_VARS).map(([k, v]) => `${k}=${v} `).join('')}node ${process.version} ${NODE_FLAGS.join(' ')}`);
mkdirSync(OUT, { recursive: true });

const results = new Map(TOOLS.map((t) => [t.name, []]));
for (let round = -1; round < RUNS; round++) {
  for (const [i, tool] of TOOLS.entries()) {
    const r = runOnce(tool, join(OUT, `img-${i}.erofs`));
    if (round >= 0) results.get(tool.name).push(r);
    process.stdout.write(`${round < 0 ? 'warm-up' : `run ${round + 1}`}: ${tool.name}: ${r.seconds.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s, ${(r.rssKiB / 1024).toFixed(0)} MiB\n`);
  }
}

const summary = TOOLS.map((t) => {
  const rs = results.get(t.name);
  return {
    name: t.name, seconds: median(rs.map((r) => r.seconds)), best: Math.min(...rs.map((r) => r.seconds)), cpu: median(rs.map((r) => r.cpu)),
    rssMiB: Math.max(...rs.map((r) => r.rssKiB)) / 1024, size: rs[rs.length - 1].size,
  };
});
const deb = summary[0];
console.log('\ntool                     median s   best s   CPU s   peak RSS MiB   image MiB   time x deb   best x deb   size x deb');
for (const s of summary) {
  console.log(
    `${s.name.padEnd(24)} ${s.seconds.toFixed(2).padStart(8)}   ${s.best.toFixed(2).padStart(6)}   ${s.cpu.toFixed(2).padStart(5)}   ${s.rssMiB.toFixed(0).padStart(12)}   ${(s.size / 1048576).toFixed(1).padStart(9)}   ${(s.seconds / deb.seconds).toFixed(2).padStart(10)}   ${(s.best / deb.best).toFixed(2).padStart(10)}   ${(s.size / deb.size).toFixed(3).padStart(10)}`,
  );
}
const fp = summary[2];
const ratio = fp.seconds / deb.seconds;
console.log(`\ntarget: ours --ishare_key <= 1.25x Debian's time (medians): ${ratio.toFixed(2)}x ${ratio <= 1.25 ? 'MET' : 'NOT MET'} (best runs: ${(fp.best / deb.best).toFixed(2)}x)`);
const maxRss = Math.max(summary[1].rssMiB, fp.rssMiB);
console.log(`target: our peak RSS < 150 MB: ${(maxRss * 1.048576).toFixed(0)} MB ${maxRss * 1.048576 < 150 ? 'MET' : 'NOT MET'}`);

if (PROFILE) {
  const profDir = join(WORK, 'prof');
  rmSync(profDir, { recursive: true, force: true });
  const img = join(OUT, 'prof.erofs');
  spawnSync(process.execPath, [...NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profDir}`, OURS, ...COMMON, '--ishare_key=trusted.erofs.fingerprint', img, TREE], { stdio: 'inherit', env: { ...process.env, ...NODE_ENV_VARS } });
  // one profile per thread: the main thread's first, then the data writer/hasher thread's
  for (const file of readdirSync(profDir).filter((n) => n.endsWith('.cpuprofile')).sort()) printProfile(join(profDir, file));
}
if (!KEEP) rmSync(OUT, { recursive: true, force: true });

/** Top functions by self time in a .cpuprofile. */
function printProfile(path) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^file:\/\//, '').replace(ROOT + '/', '')}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`\nCPU profile (${path}), top 15 by self time of ${(total / 1e6).toFixed(2)} s:`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`  ${(us / 1e6).toFixed(2).padStart(7)} s ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}
