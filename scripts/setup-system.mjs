#!/usr/bin/env node
// Installs the Debian packages the tests and benchmarks use, when running as
// root on a Debian-like machine and any of them is missing. Never fails the
// run: tests that need a missing tool report "skipped: <reason>" themselves.
import { spawnSync } from 'node:child_process';

const want = {
  'mkfs.erofs': 'erofs-utils', 'fsck.erofs': 'erofs-utils', 'dump.erofs': 'erofs-utils',
  getfattr: 'attr', lz4: 'lz4', zstd: 'zstd', umoci: 'umoci', skopeo: 'skopeo',
  python3: 'python3', tar: 'tar', losetup: 'mount', '/usr/bin/time': 'time',
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = [...new Set(Object.entries(want).filter(([c]) => !has(c)).map(([, p]) => p))];
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0 || !has('apt-get')) {
  console.log(`setup: missing ${missing.join(' ')} (not root or no apt-get); tests that need them will be skipped`);
  process.exit(0);
}
console.log(`setup: apt-get install ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
if (r.status !== 0) console.log('setup: apt-get install failed; tests that need these tools will be skipped');
