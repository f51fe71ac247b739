/**
 * mkfs-erofs on bad input: every case must end with ONE line on stderr
 * ("mkfs-erofs: <what> ... <where>"), a non-zero exit status, and nothing
 * left in the output directory (neither IMAGE nor a temporary file).
 *
 * How the hard cases are made, honestly:
 * - Unreadable source as root: root bypasses permission bits, so chmod 000
 *   proves nothing. We use a sysfs driver directory whose only regular files
 *   are write-only attributes (bind, unbind, uevent: mode 0200; the kernel
 *   refuses to open them for reading even for root, EACCES), found at run
 *   time under /sys/bus/STAR/drivers/. Without root we use chmod 000 on a file
 *   of a temporary tree.
 * - A file that changes size while being read: sysfs attributes report
 *   st_size 4096 but hold a few bytes, so a walk of
 *   /sys/kernel/mm/transparent_hugepage/khugepaged sees every file "shrink"
 *   between lstat and read, deterministically. A second case grows a real
 *   file from a concurrent process for the whole run.
 * - A name over 255 bytes cannot exist on Linux file systems (NAME_MAX), so
 *   that case runs the real mkfs-erofs main in a child process with a
 *   synthesized tree in place of the directory walk (as tar and OCI sources
 *   will produce), through the real writer.
 * - Unwritable output as root: /sys refuses file creation even to root.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cliMissing, isRoot, REPO_ROOT, run, runCli, skipIf, tmpDir, type RunResult } from './lib/tools.js';


/** A /sys/bus/X/drivers/Y directory whose regular files are all write-only and that has no subdirectories. */
function writeOnlySysfsDir(): string | undefined {
  const ls = (d: string): string[] => {
    try {
      return readdirSync(d).sort();
    } catch {
      return [];
    }
  };
  for (const bus of ls('/sys/bus')) {
    for (const drv of ls(`/sys/bus/${bus}/drivers`)) {
      const dir = `/sys/bus/${bus}/drivers/${drv}`;
      let files = 0;
      let ok = true;
      for (const n of ls(dir)) {
        const st = lstatSync(join(dir, n));
        if (st.isDirectory() || (st.isFile() && (st.mode & 0o444) !== 0)) ok = false;
        if (st.isFile()) files++;
      }
      if (ok && files > 0) return dir;
    }
  }
  return undefined;
}

/** A small valid source tree. */
function smallTree(t: TestContext): string {
  const src = join(tmpDir('mkfs-err-src', t), 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'hello\n');
  writeFileSync(join(src, 'sub', 'b.bin'), Buffer.alloc(10000, 7));
  return src;
}

/**
 * The common assertions: exit status, exactly one stderr line starting
 * with "mkfs-erofs: " and matching every pattern, and `outDir` empty
 * (or holding only `allowed` names).
 */
function expectFailure(r: RunResult, code: number, patterns: RegExp[], outDir?: string, allowed: string[] = []): void {
  const ctx = `exit ${r.code}; stderr: ${JSON.stringify(r.stderr)}`;
  assert.equal(r.code, code, ctx);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line expected; ${ctx}`);
  assert.match(lines[0]!, /^mkfs-erofs: /, ctx);
  assert.doesNotMatch(lines[0]!, /\n|    at /, 'no stack trace');
  for (const p of patterns) assert.match(lines[0]!, p, ctx);
  if (outDir !== undefined) {
    const left = readdirSync(outDir).filter((n) => !allowed.includes(n));
    assert.deepEqual(left, [], `nothing may be left in ${outDir}`);
  }
}

describe('mkfs-erofs bad input', () => {
  it('missing source', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const out = tmpDir('mkfs-err-out', t);
    const r = await runCli('mkfs-erofs', [join(out, 'x.erofs'), join(out, 'no-such-dir')]);
    expectFailure(r, 1, [/cannot use SOURCE '.*no-such-dir'/, /no such file or directory/], out);
  });

  it('source is a regular file', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const out = tmpDir('mkfs-err-out', t);
    writeFileSync(join(out, 'plain'), 'x');
    const r = await runCli('mkfs-erofs', [join(out, 'x.erofs'), join(out, 'plain')]);
    expectFailure(r, 1, [/SOURCE '.*plain' is not a directory/], out, ['plain']);
  });

  it('unreadable file in the source', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const out = tmpDir('mkfs-err-out', t);
    let src: string;
    let where: RegExp;
    if (isRoot()) {
      const found = writeOnlySysfsDir();
      if (skipIf(t, !found && 'no sysfs driver directory with only write-only files (sysfs not mounted?)')) return;
      src = found!;
      where = new RegExp(`${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`);
    } else {
      src = smallTree(t);
      chmodSync(join(src, 'sub', 'b.bin'), 0o000);
      where = /sub\/b\.bin/;
    }
    const r = await runCli('mkfs-erofs', ['-T0', join(out, 'x.erofs'), src]);
    expectFailure(r, 1, [where, /permission denied|EACCES/i], out);
  });

  it('file whose size differs from what lstat said (sysfs, deterministic)', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = '/sys/kernel/mm/transparent_hugepage/khugepaged';
    if (skipIf(t, !existsSync(join(src, 'pages_to_scan')) && `no ${src} on this kernel`)) return;
    const out = tmpDir('mkfs-err-out', t);
    const r = await runCli('mkfs-erofs', ['-T0', join(out, 'x.erofs'), src]);
    expectFailure(r, 1, [/khugepaged\//, /size|changed|shr[au]nk|short/i], out);
  });

  it('file grown by a concurrent writer during the run', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const growing = join(src, 'growing.log');
    writeFileSync(growing, Buffer.alloc(8 << 20, 0x61));
    const out = tmpDir('mkfs-err-out', t);
    // appends 4 KiB every millisecond until killed; started before mkfs so the
    // size seen by the walk is already stale when the writer reads the file
    const appender: ChildProcess = spawn(process.execPath, ['-e', `
      const fs = require('node:fs'); const fd = fs.openSync(${JSON.stringify(growing)}, 'a');
      const b = Buffer.alloc(4096, 0x62); process.stdout.write('go\\n');
      setInterval(() => fs.writeSync(fd, b), 1);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res) => appender.stdout!.once('data', () => res()));
      const r = await runCli('mkfs-erofs', ['-T0', join(out, 'x.erofs'), src]);
      expectFailure(r, 1, [/growing\.log/, /size|changed|grew|grown/i], out);
    } finally {
      appender.kill('SIGKILL');
    }
  });

  it('output inside the source tree', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const before = readdirSync(src).sort();
    const r = await runCli('mkfs-erofs', [join(src, 'sub', 'x.erofs'), src]);
    expectFailure(r, 1, [/IMAGE '.*sub\/x\.erofs' is inside SOURCE/], undefined);
    assert.deepEqual(readdirSync(src).sort(), before);
    assert.deepEqual(readdirSync(join(src, 'sub')), ['b.bin']);
  });

  it('output directory does not exist', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const out = tmpDir('mkfs-err-out', t);
    const r = await runCli('mkfs-erofs', [join(out, 'nodir', 'x.erofs'), src]);
    expectFailure(r, 1, [/cannot create IMAGE '.*nodir\/x\.erofs'/, /no such file or directory/], out);
  });

  it('output directory is a file', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const out = tmpDir('mkfs-err-out', t);
    writeFileSync(join(out, 'file'), '');
    const r = await runCli('mkfs-erofs', [join(out, 'file', 'x.erofs'), src]);
    expectFailure(r, 1, [/cannot create IMAGE '.*file\/x\.erofs'/, /not a directory/], out, ['file']);
  });

  it('output is an existing directory', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const out = tmpDir('mkfs-err-out', t);
    mkdirSync(join(out, 'img'));
    const r = await runCli('mkfs-erofs', [join(out, 'img'), src]);
    expectFailure(r, 1, [/cannot create IMAGE '.*img': it is a directory/], out, ['img']);
    assert.deepEqual(readdirSync(join(out, 'img')), []);
  });

  it('output directory that refuses new files', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    let dir: string;
    if (isRoot()) {
      dir = '/sys';
    } else {
      dir = tmpDir('mkfs-err-ro', t);
      chmodSync(dir, 0o555);
      t.after(() => chmodSync(dir, 0o755));
    }
    const before = readdirSync(dir).sort();
    const r = await runCli('mkfs-erofs', ['-T0', join(dir, 'erofs-ts-test.erofs'), src]);
    expectFailure(r, 1, [/erofs-ts-test\.erofs|\/sys/, /permission denied|EACCES|read-only|EROFS/i]);
    assert.deepEqual(readdirSync(dir).sort(), before);
  });

  it('invalid --ishare_key NAME', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const out = tmpDir('mkfs-err-out', t);
    for (const [arg, re] of [
      ['--ishare_key=', /--ishare_key needs a non-empty xattr NAME/],
      ['--ishare_key=trusted.', /only a namespace/],
      [`--ishare_key=user.${'x'.repeat(251)}`, /256 bytes/],
      ['--xattr-inode-digest=system.posix_acl_access', /system\. namespace/],
    ] as const) {
      const r = await runCli('mkfs-erofs', [arg, join(out, 'x.erofs'), src]);
      expectFailure(r, 2, [re], out);
    }
  });

  it('unsupported and unknown options exit 2 before touching anything', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const src = smallTree(t);
    const out = tmpDir('mkfs-err-out', t);
    for (const [args, re] of [
      [['--zD'], /option '--zD' is not supported yet/],
      [['--gzinfo'], /option '--gzinfo' is not supported yet/],
      [['--bogus'], /unrecognized option '--bogus'/],
      [['-L', 'a-label-of-16-by'], /-L allows at most 15/],
    ] as const) {
      const r = await runCli('mkfs-erofs', [...args, join(out, 'x.erofs'), src]);
      expectFailure(r, 2, [re], out);
    }
  });

  it('name over 255 bytes (synthesized tree, real writer)', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const out = tmpDir('mkfs-err-out', t);
    const src = smallTree(t); // passes the SOURCE checks; the walk itself is replaced
    const img = join(out, 'x.erofs');
    const runUrl = pathToFileURL(join(REPO_ROOT, 'packages/cli/src/mkfs/run.ts')).href;
    const commonUrl = pathToFileURL(join(REPO_ROOT, 'packages/cli/src/common.ts')).href;
    const script = `
      import * as w from '@erofs/writer';
      import { mkfsMain } from ${JSON.stringify(runUrl)};
      import { runMain } from ${JSON.stringify(commonUrl)};
      const t = { sec: 0n, nsec: 0 };
      const long = new Uint8Array(256).fill(0x61);
      const file = { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: t, xattrs: new Map(), size: 3,
                     data: { kind: 'bytes', bytes: new Uint8Array([1, 2, 3]) } };
      const root = { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t, xattrs: new Map(),
                     entries: new Map([[String.fromCharCode(...long), { name: long, node: file }]]) };
      // node -e puts the arguments at argv[1..], not argv[2..]
      await runMain('mkfs-erofs', () => mkfsMain(process.argv.slice(1), {}, {
        scanDirectory: async () => root,
        buildImage: (r, o, p, f) => w.buildImage(r, o, p, f),
      }));`;
    const tsx = import.meta.resolve('tsx');
    const r = await run(process.execPath, ['--conditions=source', '--import', tsx, '--input-type=module', '-e', script, '--', '-T0', img, src], {
      cwd: REPO_ROOT,
    });
    expectFailure(r, 1, [/name|255|ENAMETOOLONG/i, /a{20}/], out);
  });
});
