#!/usr/bin/env node
// Reader benchmark: builds two large images of a directory with Debian's
// mkfs.erofs (uncompressed and -zlz4hc), then reads every file through
// @erofs/reader and through the kernel (loop mount, caches dropped, tar to
// /dev/null), side by side, and prints both times and the ratio. Also the
// lz4 command-line tool's decode speed (lz4 -b) for reference.
// Usage (root): node --conditions=source --import tsx bench/reader-bench.mjs [SRC=/usr/lib] [MAX_MB=600]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@erofs/reader';
import { openImageFile } from '@erofs/reader/node';

const SRC = process.argv[2] ?? '/usr/lib';
const MAX_MB = Number(process.argv[3] ?? 600);
const MKFS = '/usr/bin/mkfs.erofs';
const work = mkdtempSync(join(tmpdir(), 'reader-bench-'));
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts }).toString();

// Pick top-level subdirectories of SRC until MAX_MB of data, copy-free: a file list for tar.
const dirs = sh('du', ['-m', '--max-depth=1', SRC]).trim().split('\n').map((l) => l.split('\t')).filter(([, p]) => p !== SRC)
  .map(([mb, p]) => [Number(mb), p]).sort((a, b) => a[0] - b[0]);
const tree = join(work, 'tree');
let total = 0;
const chosen = [];
for (const [mb, p] of dirs) {
  if (total + mb > MAX_MB) continue;
  chosen.push(p);
  total += mb;
}
sh('mkdir', ['-p', tree]);
for (const p of chosen) sh('cp', ['-a', p, tree]);
console.log(`source: ${chosen.length} directories of ${SRC}, ${sh('du', ['-sh', tree]).split('\t')[0]}`);

function dropCaches() {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

async function viaLibrary(image, inflight = 32) {
  dropCaches();
  const t0 = process.hrtime.bigint();
  const img = await openImageFile(image);
  let files = 0;
  let bytes = 0;
  // Like tar: walk the tree once, read each regular file by its inode (no
  // path lookups) into a reused buffer. Files are read CONCURRENTLY (like the
  // kernel's readahead keeps the disk busy): up to `inflight` at once, each
  // with its own 4 MiB buffer.
  const CHUNK = 4 << 20;
  const free = Array.from({ length: inflight }, () => new Uint8Array(CHUNK));
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
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, files, bytes };
}

function viaKernel(image) {
  const mnt = join(work, 'mnt');
  sh('mkdir', ['-p', mnt]);
  sh('mount', ['-t', 'erofs', '-o', 'loop,ro', image, mnt]);
  try {
    dropCaches();
    const t0 = process.hrtime.bigint();
    sh('tar', ['cf', '/dev/null', '-C', mnt, '.']);
    return { s: Number(process.hrtime.bigint() - t0) / 1e9 };
  } finally {
    sh('umount', [mnt]);
  }
}

for (const [name, opts] of [['uncompressed', []], ['lz4hc', ['-zlz4hc']]]) {
  const image = join(work, `${name}.erofs`);
  const t0 = Date.now();
  sh(MKFS, [...opts, image, tree]);
  const size = statSync(image).size;
  console.log(`\n${name}: ${(size / 1048576).toFixed(0)} MiB image built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const lib = await viaLibrary(image);
  let kern;
  try {
    kern = viaKernel(image);
  } catch (e) {
    console.log(`  kernel: not available (${String(e.message).split('\n')[0]})`);
  }
  console.log(`  library: ${lib.files} files, ${(lib.bytes / 1048576).toFixed(0)} MiB in ${lib.s.toFixed(2)} s (${(lib.bytes / 1048576 / lib.s).toFixed(0)} MiB/s)`);
  if (kern) console.log(`  kernel (cold, tar cf /dev/null): ${kern.s.toFixed(2)} s; library/kernel = ${(lib.s / kern.s).toFixed(2)}x`);
  rmSync(image);
}

const sample = join(work, 'lz4-sample');
sh('sh', ['-c', `find ${tree} -type f -size +64k | head -200 | xargs cat > ${sample}`]);
const lz4b = spawnSync('lz4', ['-b1', sample], { encoding: 'utf8' });
const lz4line = (lz4b.stderr + lz4b.stdout).split(/[\r\n]/).map((l) => l.trim()).filter((l) => /MB\/s/.test(l)).pop();
console.log(`\nlz4 -b1 on ${(statSync(sample).size / 1048576).toFixed(0)} MiB sample: ${lz4line ?? '(no result)'}`);
rmSync(work, { recursive: true, force: true });
