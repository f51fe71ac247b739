/**
 * Mounting EROFS images with the Linux kernel, read-only, into throw-away
 * directories. Two modes:
 *  - "loop": the image and each extra device get their own read-only loop
 *    device (`losetup -f --show -r`), which is mounted and then immediately
 *    detached, i.e. marked auto-clear, so the kernel frees it at unmount.
 *  - "file": the kernel's file-backed mount (Linux >= 6.12) through
 *    ../shared/fmount.py, where `device=` may name plain files.
 * Every mount gets its own mkdtemp directory, so test files running in
 * parallel never share a mount point; losetup picks free loop devices
 * atomically, and we retry its rare EBUSY races.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIX, imagePath } from './fixtures.js';
import { describeRun, isRoot, mountsBelow, run, tmpDir, which } from './tools.js';
import { describeTree } from './describe.js';
import type { ManifestEntry } from './fixtures.js';

/** The file-backed mount helper: `fmount.py IMG DIR [OPTIONS]`. */
export const FMOUNT: string = resolve(FIX, '..', 'fmount.py');

/** How the image reaches the kernel: a loop block device, or the file itself. */
export type MountMode = 'loop' | 'file';

/** Options of {@link withMount}. */
export interface MountOptions {
  /** "loop" (default) or "file" (file-backed, via fmount.py). */
  mode?: MountMode;
  /**
   * Extra devices (blob images of a multi-device image), in device-table
   * order; each becomes a `device=` option: a read-only loop device in loop
   * mode, the plain path in file mode.
   */
  devices?: readonly string[];
  /** Raw extra mount options, e.g. ['domain_id=x', 'inode_share'] or ['noacl']. */
  options?: readonly string[];
}

/** What {@link withMount} passes to its callback besides the mount point. */
export interface MountInfo {
  /** The mount point. */
  dir: string;
  /** The full option string given to the kernel. */
  options: string;
}

// ------------------------------------------------------------ emergency cleanup

const liveMounts = new Set<string>();
const liveLoops = new Set<string>();
let hooksInstalled = false;

/** Unmounts and detaches whatever is still live; used on exit and on SIGINT/SIGTERM. */
function emergencyCleanup(): void {
  for (const dir of liveMounts) {
    spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
    try {
      rmdirSync(dir);
    } catch {
      // still busy or already gone
    }
  }
  liveMounts.clear();
  for (const dev of liveLoops) spawnSync('losetup', ['-d', dev], { stdio: 'ignore' });
  liveLoops.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', emergencyCleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      emergencyCleanup();
      process.kill(process.pid, sig); // the default action now that our handler is gone
    });
  }
}

// ------------------------------------------------------------ capability check

const canMountCache = new Map<MountMode, Promise<string | null>>();

/**
 * Null when this machine can mount EROFS images in `mode` (default loop),
 * else a skip reason: not root, a tool missing (mount, umount, losetup;
 * python3 for file mode), or the kernel refusing a known-good fixture image
 * (plain.erofs) -- e.g. no erofs in /proc/filesystems and no module to load,
 * no loop devices in a container, or a kernel older than file-backed mounts.
 * The probe mount is done once per process and mode.
 */
export function canMount(mode: MountMode = 'loop'): Promise<string | null> {
  let p = canMountCache.get(mode);
  if (!p) {
    p = probe(mode);
    canMountCache.set(mode, p);
  }
  return p;
}

async function probe(mode: MountMode): Promise<string | null> {
  if (!isRoot()) return 'not root (mounting needs root)';
  for (const tool of ['mount', 'umount', ...(mode === 'loop' ? ['losetup'] : ['python3'])]) {
    if (!which(tool)) return `${tool} not found`;
  }
  if (mode === 'file' && !existsSync(FMOUNT)) return `${FMOUNT} not found`;
  let listed = false;
  try {
    listed = /\terofs\s*$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    // no /proc: the mount attempt below decides
  }
  const known = imagePath('plain.erofs');
  try {
    return await withMount(known, { mode }, (dir) =>
      existsSync(resolve(dir, 'README.txt')) ? null : `kernel mounted plain.erofs but /README.txt is not visible`,
    );
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    return `cannot mount the known-good plain.erofs (${mode} mode${listed ? '' : '; erofs not in /proc/filesystems'}): ${why}`;
  }
}

// ------------------------------------------------------------ mounting

/** Runs a command, retrying transient loop-device races (EBUSY); returns the last result. */
async function runRetrying(cmd: string, args: string[]): Promise<Awaited<ReturnType<typeof run>>> {
  let r = await run(cmd, args, { timeoutMs: 60_000 });
  for (let i = 0; i < 4 && r.code !== 0 && /busy|resource temporarily|loop device/i.test(r.stderr); i++) {
    await sleep(100 * (i + 1));
    r = await run(cmd, args, { timeoutMs: 60_000 });
  }
  return r;
}

async function attachLoop(file: string): Promise<string> {
  const r = await runRetrying('losetup', ['-f', '--show', '-r', file]);
  const dev = r.stdout.trim();
  if (r.code !== 0 || !dev.startsWith('/dev/')) throw new Error(`cannot attach ${file}: ${describeRun('losetup', r)}`);
  liveLoops.add(dev);
  return dev;
}

async function detachLoop(dev: string): Promise<void> {
  const r = await runRetrying('losetup', ['-d', dev]);
  if (r.code === 0) liveLoops.delete(dev);
}

async function unmount(dir: string): Promise<void> {
  for (let i = 0; i < 10 && mountsBelow(dir).includes(dir); i++) {
    const r = await run('umount', [dir], { timeoutMs: 60_000 });
    if (r.code === 0) break;
    await sleep(50 * (i + 1)); // something (an fd, a cwd) may still hold it for a moment
  }
  if (mountsBelow(dir).includes(dir)) await run('umount', ['-l', dir], { timeoutMs: 60_000 });
  liveMounts.delete(dir);
  try {
    rmdirSync(dir);
  } catch {
    // a lazily unmounted dir may stay busy; the exit hook retries
  }
}

/**
 * Mounts `img` read-only into a fresh temp directory, runs `fn(dir, info)`,
 * and always unmounts, detaches extra loop devices and removes the directory
 * -- also when the mount or `fn` fails. Resolves with fn's result; rejects
 * with the kernel's/mount's message when the image does not mount (call
 * {@link canMount} first to tell "cannot mount here" from "bad image").
 */
export async function withMount<T>(
  img: string,
  opts: MountOptions,
  fn: (dir: string, info: MountInfo) => T | Promise<T>,
): Promise<T> {
  const mode = opts.mode ?? 'loop';
  const image = resolve(img);
  if (!existsSync(image)) throw new Error(`withMount: ${image} does not exist`);
  installHooks();
  const dir = tmpDir('mnt');
  const loops: string[] = [];
  let mounted = false;
  try {
    const devOpts: string[] = [];
    let source = image;
    if (mode === 'loop') {
      // Our own loop device per mount, never mount(8)'s automatic one: that
      // one is shared by concurrent mounts of the same file, and the kernel
      // then hands every such mount the first one's superblock and options.
      source = await attachLoop(image);
      loops.push(source);
    }
    for (const d of opts.devices ?? []) {
      if (mode === 'loop') {
        const dev = await attachLoop(resolve(d));
        loops.push(dev);
        devOpts.push(`device=${dev}`);
      } else {
        devOpts.push(`device=${resolve(d)}`);
      }
    }
    const extra = [...devOpts, ...(opts.options ?? [])];
    const options = ['ro', ...extra].join(',');
    liveMounts.add(dir);
    const r =
      mode === 'loop'
        ? await run('mount', ['-t', 'erofs', '-o', options, source, dir], { timeoutMs: 60_000 })
        : await run('python3', [FMOUNT, image, dir, ...(extra.length ? [extra.join(',')] : [])], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      throw new Error(`mount of ${image} (${mode}, -o ${options}) failed: ${(r.stderr || r.stdout).trim()}`);
    }
    mounted = true;
    // Detaching a loop device that is in use only marks it auto-clear: the
    // kernel frees it at unmount, so even a crashed test leaks no device.
    for (const dev of loops.splice(0)) await detachLoop(dev);
    return await fn(dir, { dir, options });
  } finally {
    if (mounted || mountsBelow(dir).includes(dir)) await unmount(dir);
    else {
      liveMounts.delete(dir);
      try {
        rmdirSync(dir);
      } catch {
        // leave it to the exit hook
      }
    }
    for (const dev of loops) await detachLoop(dev);
  }
}

/**
 * Mounts `img` (see {@link withMount}) and describes the mounted tree with
 * describeTree, i.e. the kernel's view of the image in manifest shape.
 */
export function describeImage(img: string, opts: MountOptions = {}): Promise<ManifestEntry[]> {
  return withMount(img, opts, (dir) => describeTree(dir));
}
