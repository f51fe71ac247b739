#!/usr/bin/env node
// OCI conversion benchmark: our `mkfs-erofs --oci IMAGE ARCHIVE` (one
// streaming pass per layer, nothing extracted) against the pipeline people
// use today: unpack the oci-archive into a layout (tar -x), `umoci unpack`
// it into a rootfs, then Debian's mkfs.erofs on that rootfs. Same archive,
// same run, interleaved; prints wall time and peak RSS per step, the totals
// and the ratio (target: ours faster than the pipeline).
//
// The archive (a few hundred MB of gzip layers) is built once with umoci and
// skopeo and cached in WORK/archive: layer 1 = a copy of /usr/lib/llvm-14,
// layer 2 = /usr/lib/python3.11 and /usr/lib/gcc plus deletions (a directory
// tree and some files of layer 1), layer 3 = /usr/lib/postgresql and
// /usr/lib/python3. Missing source directories are skipped.
//
// Usage: node bench/oci-bench.mjs [--runs N] [--work DIR] [--keep]
//   --work DIR  scratch and cache directory (default /tmp/erofs-oci-bench)
//   --runs N    timed runs of each side (default 2), after one untimed warm-up
// Needs: root (umoci unpack keeps owners), umoci, skopeo, /usr/bin/time,
// /usr/bin/mkfs.erofs, a built repository (tsc -b).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: { work: { type: 'string', default: '/tmp/erofs-oci-bench' }, runs: { type: 'string', default: '2' }, keep: { type: 'boolean' } },
});
const WORK = flags.work;
const RUNS = Math.max(1, Number(flags.runs));
const OURS = fileURLToPath(new URL('../packages/cli/dist/bin/mkfs-erofs.js', import.meta.url));
const tools = { mkfs: '/usr/bin/mkfs.erofs', time: '/usr/bin/time' };
const ARCHIVE = join(WORK, 'archive', 'image.oci.tar');
const OUT = join(WORK, 'out');
const SAME_ARGS = ['--quiet', '-T0', '-U00000000-0000-0000-0000-000000000001'];

const fail = (msg) => {
  console.error(`oci-bench: ${msg}`);
  process.exit(1);
};
const needs = [[OURS, 'our build (run tsc -b)'], [tools.mkfs, "Debian's mkfs.erofs"], [tools.time, 'GNU time']];
for (const [p, what] of needs) if (!existsSync(p)) fail(`missing ${p}: ${what}`);
for (const tool of ['umoci', 'skopeo']) {
  if (spawnSync('which', [tool]).status !== 0) fail(`${tool} not found (apt-get install -y umoci skopeo)`);
}

/** Runs a command, failing loudly. */
function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

/** Runs under GNU time; returns { seconds, rssMb }. */
function timed(cmd, argv) {
  const r = spawnSync(tools.time, ['-f', '%e %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const [s, kb] = last.split(' ').map(Number);
  return { seconds: s, rssMb: kb / 1024 };
}

function dirSize(p) {
  return Number(sh('du', ['-sb', p]).split('\t')[0]);
}

function buildArchive() {
  if (existsSync(ARCHIVE)) return;
  const dir = join(WORK, 'archive');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  console.log('building the benchmark archive (once; cached in', dir, ')');
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:bench`]);
  sh('umoci', ['unpack', '--image', `${layout}:bench`, bundle]);
  const copy = (src, dst) => {
    if (!existsSync(src)) return;
    mkdirSync(join(rootfs, dst, '..'), { recursive: true });
    sh('cp', ['-a', src, join(rootfs, dst)]);
  };
  const repack = () => sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:bench`, bundle]);
  copy('/usr/lib/llvm-14', 'usr/lib/llvm-14');
  repack();
  copy('/usr/lib/python3.11', 'usr/lib/python3.11');
  copy('/usr/lib/gcc', 'usr/lib/gcc');
  // deletions: a whole tree and every .a file at the top of llvm's lib
  rmSync(join(rootfs, 'usr/lib/llvm-14/include'), { recursive: true, force: true });
  const lib = join(rootfs, 'usr/lib/llvm-14/lib');
  if (existsSync(lib)) for (const n of readdirSync(lib)) if (n.endsWith('.a')) rmSync(join(lib, n), { force: true });
  repack();
  copy('/usr/lib/postgresql', 'usr/lib/postgresql');
  copy('/usr/lib/python3', 'usr/lib/python3');
  repack();
  sh('skopeo', ['copy', '-q', `oci:${layout}:bench`, `oci-archive:${ARCHIVE}:bench`]);
  rmSync(bundle, { recursive: true, force: true });
  rmSync(layout, { recursive: true, force: true });
}

buildArchive();
mkdirSync(OUT, { recursive: true });
const archiveMb = statSync(ARCHIVE).size / 1e6;
const layers = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci-archive:${ARCHIVE}`])).layers;
console.log(`archive: ${ARCHIVE} (${archiveMb.toFixed(0)} MB, ${layers.length} layers: ${layers.map((l) => l.mediaType.split('.').pop()).join(', ')})`);

function ours() {
  const img = join(OUT, 'ours.erofs');
  rmSync(img, { force: true });
  const t = timed(process.execPath, [OURS, ...SAME_ARGS, '--oci', img, ARCHIVE]);
  return { total: t.seconds, rss: t.rssMb, steps: { convert: t }, bytes: statSync(img).size };
}

function pipeline() {
  const layout = join(OUT, 'layout');
  const bundle = join(OUT, 'bundle');
  const img = join(OUT, 'debian.erofs');
  for (const p of [layout, bundle, img]) rmSync(p, { recursive: true, force: true });
  mkdirSync(layout);
  const steps = {
    'tar -x archive': timed('tar', ['-xf', ARCHIVE, '-C', layout]),
    'umoci unpack': timed('umoci', ['unpack', '--image', `${layout}:bench`, bundle]),
    'mkfs.erofs': timed(tools.mkfs, [...SAME_ARGS, img, join(bundle, 'rootfs')]),
  };
  const total = Object.values(steps).reduce((a, s) => a + s.seconds, 0);
  const rss = Math.max(...Object.values(steps).map((s) => s.rssMb));
  const res = { total, rss, steps, bytes: statSync(img).size, tree: dirSize(join(bundle, 'rootfs')) };
  rmSync(bundle, { recursive: true, force: true });
  rmSync(layout, { recursive: true, force: true });
  return res;
}

// warm-up (page cache), then interleaved timed runs
ours();
pipeline();
const A = [];
const B = [];
for (let i = 0; i < RUNS; i++) {
  A.push(ours());
  B.push(pipeline());
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s) => `${s.toFixed(2)} s`;
const a = { total: median(A.map((r) => r.total)), rss: Math.max(...A.map((r) => r.rss)) };
const b = { total: median(B.map((r) => r.total)), rss: Math.max(...B.map((r) => r.rss)) };
console.log(`\nunpacked tree: ${(B[0].tree / 1e6).toFixed(0)} MB; runs: ${RUNS} each (median time, max peak RSS)`);
console.log('ours: mkfs-erofs --oci IMAGE ARCHIVE');
console.log(`  total ${fmt(a.total)}, peak RSS ${a.rss.toFixed(0)} MB, image ${(A[0].bytes / 1e6).toFixed(0)} MB`);
console.log("pipeline: tar -x + umoci unpack + Debian's mkfs.erofs");
for (const k of Object.keys(B[0].steps)) {
  console.log(`  ${k.padEnd(16)} ${fmt(median(B.map((r) => r.steps[k].seconds)))}, peak RSS ${Math.max(...B.map((r) => r.steps[k].rssMb)).toFixed(0)} MB`);
}
console.log(`  total ${fmt(b.total)}, peak RSS ${b.rss.toFixed(0)} MB, image ${(B[0].bytes / 1e6).toFixed(0)} MB`);
console.log(`\nratio ours/pipeline: time ${(a.total / b.total).toFixed(2)}x, peak RSS ${(a.rss / b.rss).toFixed(2)}x (target: time < 1)`);
if (!flags.keep) rmSync(OUT, { recursive: true, force: true });
