#!/usr/bin/env node
// Reader benchmark: builds two large images of a directory with Debian's
// mkfs.erofs (uncompressed and -zlz4hc), then reads every file through
// @erofs/reader and through the kernel (loop mount), side by side, and prints
// both times and the ratio. Also the lz4 command-line tool's decode speed
// (lz4 -b) for reference.
//
// Both arms start cold: page cache dropped (sync; echo 3 > drop_caches) right
// before each timed run, and both read the data of every regular file:
// - library: walk the tree once, read each regular file by its inode into a
//   reused buffer (up to 32 files in flight, as the kernel's readahead keeps
//   the device busy);
// - kernel: `find -type f | xargs cat > /dev/null` on the mounted image.
//   NOT `tar cf /dev/null`: GNU tar notices an archive on /dev/null and then
//   never reads file contents (only stat and readdir), which is what earlier
//   versions of this script timed. That metadata-only figure is still printed
//   ("kernel tar cf /dev/null") for comparison with old numbers.
// Runs alternate between the arms; medians are printed, with the library's
// CPU time (user+sys of this process, I/O threads included). The library's
// first run also pays for JIT compilation (the kernel arm has nothing
// similar), so it is printed but only counts through the median.
//
// Usage (root): node --conditions=source --import tsx bench/reader-bench.mjs [SRC=/usr/lib] [MAX_MB=600] [--runs N] [--keep DIR]
//   --runs N   timed runs of each arm per image (default 3)
//   --keep DIR build the tree and images in DIR and reuse them next time (default: a temporary dir, removed)
//   --only NAME  only the image NAME (uncompressed or lz4hc)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@erofs/reader';
import { openImageFile } from '@erofs/reader/node';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const RUNS = Number(opt('--runs', 3));
const KEEP = opt('--keep', undefined);
const ONLY = opt('--only', undefined);
const SRC = argv[0] ?? '/usr/lib';
const MAX_MB = Number(argv[1] ?? 600);
const MKFS = '/usr/bin/mkfs.erofs';
const work = KEEP ?? mkdtempSync(join(tmpdir(), 'reader-bench-'));
mkdirSync(work, { recursive: true });
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts }).toString();

const tree = join(work, 'tree');
if (!KEEP || !existsSync(tree)) {
  // Pick top-level subdirectories of SRC until MAX_MB of data.
  const dirs = sh('du', ['-m', '--max-depth=1', SRC]).trim().split('\n').map((l) => l.split('\t')).filter(([, p]) => p !== SRC)
    .map(([mb, p]) => [Number(mb), p]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  const chosen = [];
  for (const [mb, p] of dirs) {
    if (total + mb > MAX_MB) continue;
    chosen.push(p);
    total += mb;
  }
  rmSync(tree, { recursive: true, force: true });
  sh('mkdir', ['-p', tree]);
  for (const p of chosen) sh('cp', ['-a', p, tree]);
  console.log(`source: ${chosen.length} directories of ${SRC}, ${sh('du', ['-sh', tree]).split('\t')[0]}`);
} else {
  console.log(`source: ${tree} (kept), ${sh('du', ['-sh', tree]).split('\t')[0]}`);
}

function dropCaches() {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Read buffers, one per file in flight: allocated once for the whole run of
// the script, as a reader process would (the kernel arm's cat does the same
// with its one buffer), so that their first-touch page faults are not timed.
const INFLIGHT = 32;
const CHUNK = 4 << 20;
const buffers = Array.from({ length: INFLIGHT }, () => new Uint8Array(CHUNK).fill(1));

async function viaLibrary(image, inflight = INFLIGHT) {
  dropCaches();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const img = await openImageFile(image);
  let files = 0;
  let bytes = 0;
  // Like tar: walk the tree once, read each regular file by its inode (no
  // path lookups) into a reused buffer. Files are read CONCURRENTLY (like the
  // kernel's readahead keeps the disk busy): up to `inflight` at once, each
  // with its own 4 MiB buffer.
  const free = buffers.slice(0, inflight);
  const running = new Set();
  for await (const e of img.walk('/')) {
    const ino = e.inode;
    if ((ino.mode & 0o170000) !== 0o100000) continue;
    files++;
    const buf = free.pop();
    const job = (async () => {
      try {
        for (let p = 0; p < ino.size; p += CHUNK) {
          const n = await img.readInodeRangeInto(ino, p, buf, 0, Math.min(CHUNK, ino.size - p));
          bytes += n;
        }
      } finally {
        free.push(buf);
      }
    })();
    running.add(job);
    job.finally(() => running.delete(job));
    if (running.size >= inflight) await Promise.race(running);
  }
  await Promise.all(running);
  await img.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { s, cpu: (c.user + c.system) / 1e6, files, bytes };
}

function viaKernel(mnt, cmd) {
  dropCaches();
  // bash's `time` reports wall, user and sys of the pipeline (children included) on stderr.
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time { ${cmd}; }`], { cwd: mnt, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`kernel read failed: ${r.stderr}`);
  const [real, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { s: real, cpu: user + sys };
}

const KERNEL_READ = 'find . -type f -print0 | xargs -0 -n 256 cat > /dev/null';
const KERNEL_TAR = 'tar cf /dev/null .';

for (const [name, opts] of [['uncompressed', []], ['lz4hc', ['-zlz4hc']]]) {
  if (ONLY && ONLY !== name) continue;
  const image = join(work, `${name}.erofs`);
  if (!KEEP || !existsSync(image)) {
    const t0 = Date.now();
    sh(MKFS, [...opts, image, tree]);
    console.log(`\n${name}: ${(statSync(image).size / 1048576).toFixed(0)} MiB image built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    console.log(`\n${name}: ${(statSync(image).size / 1048576).toFixed(0)} MiB image (kept)`);
  }
  const mnt = join(work, `mnt-${name}`);
  sh('mkdir', ['-p', mnt]);
  let mounted = false;
  try {
    sh('mount', ['-t', 'erofs', '-o', 'loop,ro', image, mnt]);
    mounted = true;
  } catch (e) {
    console.log(`  kernel: not available (${String(e.message).split('\n')[0]})`);
  }
  const lib = [];
  const kern = [];
  const tar = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const l = await viaLibrary(image);
      lib.push(l);
      let line = `  run ${i + 1}: library ${l.s.toFixed(2)} s (cpu ${l.cpu.toFixed(2)} s)`;
      if (mounted) {
        const k = viaKernel(mnt, KERNEL_READ);
        kern.push(k);
        const t = viaKernel(mnt, KERNEL_TAR);
        tar.push(t);
        line += `; kernel cat ${k.s.toFixed(2)} s; library/kernel = ${(l.s / k.s).toFixed(2)}x; kernel tar cf /dev/null (no data read) ${t.s.toFixed(2)} s`;
      }
      console.log(line);
    }
  } finally {
    if (mounted) sh('umount', [mnt]);
  }
  const l0 = lib[0];
  const ls = median(lib.map((x) => x.s));
  console.log(`  library: ${l0.files} files, ${(l0.bytes / 1048576).toFixed(0)} MiB; median ${ls.toFixed(2)} s (${(l0.bytes / 1048576 / ls).toFixed(0)} MiB/s), cpu ${median(lib.map((x) => x.cpu)).toFixed(2)} s`);
  if (kern.length) {
    const ks = median(kern.map((x) => x.s));
    console.log(`  kernel (cold, cat every file): median ${ks.toFixed(2)} s (cpu of find/xargs/cat ${median(kern.map((x) => x.cpu)).toFixed(2)} s, decompression included only where it runs in their context); library/kernel = ${(ls / ks).toFixed(2)}x (median of per-run ratios ${median(lib.map((x, i) => x.s / kern[i].s)).toFixed(2)}x)`);
    console.log(`  kernel (cold, tar cf /dev/null: metadata only, tar skips file data): median ${median(tar.map((x) => x.s)).toFixed(2)} s`);
  }
  if (!KEEP) rmSync(image);
}

const sample = join(work, 'lz4-sample');
sh('sh', ['-c', `find ${tree} -type f -size +64k | head -200 | xargs cat > ${sample}`]);
const lz4b = spawnSync('lz4', ['-b1', sample], { encoding: 'utf8' });
const lz4line = (lz4b.stderr + lz4b.stdout).split(/[\r\n]/).map((l) => l.trim()).filter((l) => /MB\/s/.test(l)).pop();
console.log(`\nlz4 -b1 on ${(statSync(sample).size / 1048576).toFixed(0)} MiB sample: ${lz4line ?? '(no result)'}`);
if (!KEEP) rmSync(work, { recursive: true, force: true });
else rmSync(sample, { force: true });
