/**
 * Process and environment helpers for the integration tests: finding tools,
 * running them with captured output, self-cleaning temp directories, skip
 * reasons, and running our own CLIs from source.
 *
 * Convention for the whole of test/lib: a helper that may find the machine
 * unable to do something returns a *reason* (a plain sentence, no "skipped:"
 * prefix) instead of throwing; tests hand it to {@link skipIf}, which calls
 * `t.skip('skipped: <reason>')` so the reason shows in the report.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** Absolute path of the repository root (computed from this file, not from cwd). */
export const REPO_ROOT: string = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** True when the process runs as root (uid 0). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Marks the test skipped with the first non-empty reason and returns true, or
 * returns false when every reason is null/undefined/''. The test must
 * `return` when this returns true: `if (skipIf(t, await canMount())) return;`
 * The message always starts with "skipped: ".
 */
export function skipIf(t: TestContext, ...reasons: Array<string | null | undefined | false>): boolean {
  for (const r of reasons) {
    if (r) {
      t.skip(r.startsWith('skipped: ') ? r : `skipped: ${r}`);
      return true;
    }
  }
  return false;
}

const whichCache = new Map<string, string | null>();

/**
 * Absolute path of an executable found in PATH (plus /usr/sbin and /sbin,
 * where mount tools live even when PATH lacks them), or null. A name with a
 * slash is checked as given. Results are cached per process.
 */
export function which(cmd: string): string | null {
  const hit = whichCache.get(cmd);
  if (hit !== undefined) return hit;
  let found: string | null = null;
  const candidates = cmd.includes('/')
    ? [resolve(cmd)]
    : [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
        .filter((d) => d !== '')
        .map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (!statSync(c).isFile()) continue;
      found = c;
      break;
    } catch {
      // not here
    }
  }
  whichCache.set(cmd, found);
  return found;
}

/** Result of {@link run}: exit status and everything the process printed. */
export interface RunResult {
  /** Exit code; null when the process died from a signal (see `signal`). */
  code: number | null;
  /** Signal that ended the process, if any (SIGKILL after a timeout). */
  signal: NodeJS.Signals | null;
  /** stdout decoded as UTF-8. */
  stdout: string;
  /** stderr decoded as UTF-8. */
  stderr: string;
  /** stdout as raw bytes (for binary output such as an image on stdout). */
  stdoutBytes: Buffer;
  /** True when the process was killed because it exceeded `timeoutMs`. */
  timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Working directory (default: the current one). */
  cwd?: string;
  /** Environment; merged over process.env. */
  env?: Record<string, string | undefined>;
  /** Bytes or text written to stdin (stdin is closed either way). */
  input?: string | Uint8Array;
  /** Kill the whole process group with SIGKILL after this many ms (default 120000). */
  timeoutMs?: number;
}

/**
 * Spawns `cmd args` without a shell, captures stdout/stderr and resolves with
 * the exit status; never rejects for a non-zero exit (check `code`). Rejects
 * only when the program cannot be started (ENOENT...). The child runs in its
 * own process group so a timeout also kills its children (a shell script's
 * python, for example).
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes,
        timedOut,
      });
    });
    child.stdin.on('error', () => {
      // the child may exit without reading its stdin (EPIPE): not our failure
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** One-line summary of a finished process for assertion messages. */
export function describeRun(cmd: string, r: RunResult): string {
  const how = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  const tail = (s: string): string => s.trim().split('\n').slice(-5).join(' | ');
  return `${cmd}: ${how}; stderr: ${tail(r.stderr) || '(empty)'}; stdout: ${tail(r.stdout) || '(empty)'}`;
}

// ------------------------------------------------------------ temp dirs

const liveTmpDirs = new Set<string>();
let exitHookInstalled = false;

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsBelow(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const base = resolve(dir);
  const hits: string[] = [];
  for (const line of info.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === base || mp.startsWith(base + '/')) hits.push(mp);
  }
  return hits.sort((a, b) => b.length - a.length);
}

/**
 * Removes a directory tree, but never through a mount point: anything still
 * mounted below it is lazily unmounted first, and if that fails the
 * directory is left in place (deleting into a mounted filesystem could
 * destroy data that is not ours).
 */
export function removeTree(dir: string): void {
  for (const mp of mountsBelow(dir)) {
    spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
  if (mountsBelow(dir).length > 0) return;
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Creates a fresh directory `/tmp/erofs-ts-<prefix>-XXXXXX` and returns its
 * path. It is removed (see {@link removeTree}) when the test `t` ends if `t`
 * is given, and in any case when the process exits.
 */
export function tmpDir(prefix: string, t?: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), `erofs-ts-${prefix.replace(/[^A-Za-z0-9._-]/g, '_')}-`));
  liveTmpDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const d of liveTmpDirs) removeTree(d);
    });
  }
  t?.after(() => {
    removeTree(dir);
    liveTmpDirs.delete(dir);
  });
  return dir;
}

// ------------------------------------------------------------ Debian erofs-utils

/** Paths of the Debian erofs-utils programs and the version they report. */
export interface ErofsUtils {
  mkfs: string;
  fsck: string;
  dump: string;
  /** Version string as printed by `fsck.erofs -V`, e.g. "1.5". */
  version: string;
}

let utilsCache: ErofsUtils | string | undefined;

/**
 * The Debian erofs-utils (mkfs.erofs, fsck.erofs, dump.erofs; 1.5 on Debian
 * 12), or a skip reason when one is missing. Prefers /usr/bin (the Debian
 * package) over anything else in PATH, so a locally built newer erofs-utils
 * in /usr/local does not shadow it. Check `version` if a test depends on 1.5
 * behaviour.
 */
export function debianErofsUtils(): ErofsUtils | string {
  if (utilsCache !== undefined) return utilsCache;
  const pick = (name: string): string | null =>
    existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : which(name);
  const mkfs = pick('mkfs.erofs');
  const fsck = pick('fsck.erofs');
  const dump = pick('dump.erofs');
  const missing = [!mkfs && 'mkfs.erofs', !fsck && 'fsck.erofs', !dump && 'dump.erofs'].filter(Boolean);
  if (!mkfs || !fsck || !dump) {
    utilsCache = `erofs-utils not installed (missing ${missing.join(', ')})`;
    return utilsCache;
  }
  const r = spawnSync(fsck, ['-V'], { encoding: 'utf8', timeout: 10_000 });
  const m = /fsck\.erofs\s+(\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  utilsCache = { mkfs, fsck, dump, version: m?.[1] ?? 'unknown' };
  return utilsCache;
}

// ------------------------------------------------------------ our CLIs

/** The command-line programs of @erofs/cli. */
export type CliName = 'mkfs-erofs' | 'fsck-erofs' | 'dump-erofs' | 'erofs-share';

/** Source entry file of one of our CLIs (`packages/cli/src/bin/<name>.ts`). */
export function cliEntry(name: CliName): string {
  return join(REPO_ROOT, 'packages', 'cli', 'src', 'bin', `${name}.ts`);
}

/**
 * A skip reason when the CLI's source entry does not exist yet, else null.
 * Use it before {@link runCli} in tests written ahead of the CLI.
 */
export function cliMissing(name: CliName): string | null {
  return existsSync(cliEntry(name)) ? null : `${name} not implemented yet (no packages/cli/src/bin/${name}.ts)`;
}

/**
 * Runs one of our CLIs from SOURCE: `node --conditions=source --import tsx
 * packages/cli/src/bin/<name>.ts ...args`, by default in the repository root
 * (relative path arguments are resolved from `opts.cwd` when given). tsx is
 * loaded by absolute URL so any cwd works. Throws if the entry file is
 * missing (check {@link cliMissing} first); otherwise resolves with
 * {code, stdout, stderr, ...} like {@link run} (default timeout 300 s).
 */
export function runCli(name: CliName, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const entry = cliEntry(name);
  if (!existsSync(entry)) throw new Error(`runCli: ${entry} does not exist`);
  const tsx = import.meta.resolve('tsx');
  return run(process.execPath, ['--conditions=source', '--import', tsx, entry, ...args], {
    ...opts,
    cwd: opts.cwd ?? REPO_ROOT,
    timeoutMs: opts.timeoutMs ?? 300_000,
  });
}
