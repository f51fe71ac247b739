/**
 * The bin/ launchers as users run them (executables with their #! lines and
 * the node flags and environment those set), on the built packages: an image
 * written by bin/mkfs-erofs, with and without compression worker threads,
 * is checked and extracted by bin/fsck-erofs and listed by bin/dump-erofs,
 * and the extracted tree equals the source byte for byte.
 *
 * The other CLI tests run the commands from sources under tsx; these catch
 * what only the launchers do (e.g. V8 flags a worker thread refuses).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT, run, skipIf, tmpDir } from './lib/index.js';

const BIN = join(REPO_ROOT, 'bin');
const built = ['mkfs-erofs', 'fsck-erofs', 'dump-erofs'].every((n) => existsSync(join(REPO_ROOT, 'packages/cli/dist/bin', `${n}.js`)));

/** A small tree with compressible, duplicated and incompressible files. */
function makeTree(root: string): void {
  const text = Array.from({ length: 6000 }, (_, i) => `line ${i % 97} of a compressible file\n`).join('');
  mkdirSync(join(root, 'd/e'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), text);
  writeFileSync(join(root, 'd/a-copy.txt'), text);
  writeFileSync(join(root, 'd/e/half.txt'), text.slice(0, text.length >> 1) + 'and a different end\n');
  writeFileSync(join(root, 'random.bin'), randomBytes(150_000));
  writeFileSync(join(root, 'small.txt'), 'hello\n');
  writeFileSync(join(root, 'empty'), '');
  symlinkSync('a.txt', join(root, 'link'));
}

/** Relative paths of regular files under `dir`. */
function filesOf(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesOf(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

describe('bin/ launchers', () => {
  const cases: Array<[string, string[]]> = [
    ['plain', []],
    ['--ishare_key', ['--ishare_key=trusted.erofs.fingerprint']],
    ['-zlz4hc --workers=2 -Efragments,dedupe', ['-zlz4hc', '--workers=2', '-Efragments,dedupe']],
    ['-zlz4 --workers=1 -Eztailpacking', ['-zlz4', '--workers=1', '-Eztailpacking']],
  ];
  for (const [name, opts] of cases) {
    test(`mkfs-erofs ${name} | fsck-erofs --extract | dump-erofs`, async (t) => {
      if (skipIf(t, !built && 'the packages are not built (run `pnpm install` or `tsc -b`)')) return;
      const dir = tmpDir('launchers', t);
      const src = join(dir, 'src');
      makeTree(src);
      const img = join(dir, 'x.erofs');
      const mk = await run(join(BIN, 'mkfs-erofs'), ['--quiet', ...opts, img, src]);
      assert.equal(mk.code, 0, `bin/mkfs-erofs exit ${mk.code}: ${mk.stderr}`);
      assert.ok(statSync(img).size > 0);
      const out = join(dir, 'out');
      const fsck = await run(join(BIN, 'fsck-erofs'), [`--extract=${out}`, img]);
      assert.equal(fsck.code, 0, `bin/fsck-erofs exit ${fsck.code}: ${fsck.stderr}`);
      assert.deepEqual(filesOf(out), filesOf(src));
      for (const f of filesOf(src)) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(src, f))), `${f} differs`);
      const dump = await run(join(BIN, 'dump-erofs'), [img]);
      assert.equal(dump.code, 0, `bin/dump-erofs exit ${dump.code}: ${dump.stderr}`);
      assert.match(dump.stdout, /Filesystem/i);
    });
  }
});
