/**
 * Each corrupt fixture image gives the library's typed error where
 * corrupt.json says a reader must fail (and the intact parts stay
 * readable), and both CLIs print one line and exit non-zero, within 5 s.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErofsError, type ErofsErrorCode } from '@erofs/format';
import { bufferSource, openImage, type Image } from '@erofs/reader';
import { FIX_CORRUPT } from './lib/fixtures.js';
import { cliMissing, describeRun, runCli, skipIf } from './lib/tools.js';

type Probe = (img: Image) => Promise<unknown>;

interface Case {
  /** Expected code when opening fails; or undefined when open must succeed. */
  open?: ErofsErrorCode;
  /** Operations that must fail with the code, after a successful open. */
  fails?: Array<[string, ErofsErrorCode, Probe]>;
  /** Operations that must still work. */
  works?: Array<[string, Probe]>;
  /** dump-erofs arguments that must fail (default -S). */
  dump?: string[];
}

const walkAll: Probe = async (img) => {
  for await (const e of img.walk('/')) void e;
};

const CASES: Record<string, Case> = {
  'bad-magic.erofs': { open: 'EINVAL' },
  'bad-sb-checksum.erofs': { open: 'EFSCORRUPTED' },
  'bad-blkszbits.erofs': { open: 'EOPNOTSUPP' },
  'truncated-superblock.erofs': { open: 'EIO' },
  'truncated.erofs': {
    fails: [
      ['readFile /big.txt', 'EIO', (i) => i.readFile('/big.txt')],
      ['readdir /dir', 'EIO', (i) => i.readdir('/dir')],
      ['readFile /hello.txt', 'EIO', (i) => i.readFile('/hello.txt')],
    ],
    works: [['readdir /', (i) => i.readdir('/')], ['readlink /link', (i) => i.readlink('/link')]],
    dump: ['--cat', '--path=/big.txt'],
  },
  'dirent-nameoff-out-of-range.erofs': {
    fails: [
      ['readdir /dir', 'EFSCORRUPTED', (i) => i.readdir('/dir')],
      ['stat /dir/entry-000', 'EFSCORRUPTED', (i) => i.stat('/dir/entry-000')],
    ],
    works: [['readFile /big.txt', (i) => i.readFile('/big.txt')], ['listxattr /xattr-file', (i) => i.listxattr('/xattr-file')]],
  },
  'dirent-nameoff-decreasing.erofs': {
    fails: [['readdir /dir', 'EFSCORRUPTED', (i) => i.readdir('/dir')]],
    works: [['readFile /big.txt', (i) => i.readFile('/big.txt')]],
  },
  'inode-bad-datalayout.erofs': {
    fails: [['stat /hello.txt', 'EOPNOTSUPP', (i) => i.stat('/hello.txt')], ['readFile /hello.txt', 'EOPNOTSUPP', (i) => i.readFile('/hello.txt')]],
    works: [['readdir /', async (i) => assert.ok((await i.readdir('/')).includes('hello.txt'))], ['readFile /big.txt', (i) => i.readFile('/big.txt')]],
  },
  'inode-data-beyond-image.erofs': {
    fails: [['readFile /big.txt', 'EFSCORRUPTED', (i) => i.readFile('/big.txt')]],
    works: [['stat /big.txt', (i) => i.stat('/big.txt')], ['readFile /hello.txt', (i) => i.readFile('/hello.txt')]],
    dump: ['--cat', '--path=/big.txt'],
  },
  'lz4-stream-damaged.erofs': {
    fails: [['readFile /big.txt', 'EFSCORRUPTED', (i) => i.readFile('/big.txt')]],
    works: [['readdir /', (i) => i.readdir('/')]],
    dump: ['--cat', '--path=/big.txt'],
  },
  'dir-cycle.erofs': {
    fails: [['walk /', 'EFSCORRUPTED', walkAll]],
    works: [['stat /dir/sub/loop', (i) => i.stat('/dir/sub/loop')]],
  },
  'xattr-entry-overflow.erofs': {
    fails: [['listxattr /xattr-file', 'EFSCORRUPTED', (i) => i.listxattr('/xattr-file')], ['getxattr /xattr-file', 'EFSCORRUPTED', (i) => i.getxattr('/xattr-file', 'user.alpha')]],
    works: [['readFile /xattr-file', (i) => i.readFile('/xattr-file')], ['readFile /big.txt', (i) => i.readFile('/big.txt')]],
  },
  'root-nid-out-of-range.erofs': { open: 'EFSCORRUPTED' },
};

async function expectCode(what: string, code: ErofsErrorCode, p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ErofsError, `${what}: not an ErofsError: ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return;
  }
  assert.fail(`${what}: did not fail`);
}

const doc = JSON.parse(readFileSync(join(FIX_CORRUPT, 'corrupt.json'), 'utf8')) as { images: Array<{ file: string }> };

test('every corrupt image has a case', () => {
  assert.deepEqual(doc.images.map((i) => i.file).sort(), Object.keys(CASES).sort());
});

for (const { file } of doc.images) {
  const c = CASES[file]!;
  const bytes = readFileSync(join(FIX_CORRUPT, file));
  test(`library: ${file}`, async () => {
    const src = bufferSource(new Uint8Array(bytes));
    if (c.open) {
      await expectCode('openImage', c.open, openImage(src));
      return;
    }
    const img = await openImage(src);
    for (const [what, code, probe] of c.fails ?? []) await expectCode(what, code, probe(img));
    for (const [what, probe] of c.works ?? []) await probe(img).catch((e) => assert.fail(`${what}: ${(e as Error).message}`));
  });

  for (const tool of ['fsck-erofs', 'dump-erofs'] as const) {
    test(`${tool}: ${file}`, async (t) => {
      if (skipIf(t, cliMissing(tool))) return;
      const args = tool === 'fsck-erofs' ? [join(FIX_CORRUPT, file)] : [join(FIX_CORRUPT, file), ...(c.dump ?? ['-S'])];
      const t0 = Date.now();
      const r = await runCli(tool, args, { timeoutMs: 20_000 });
      const ms = Date.now() - t0;
      assert.notEqual(r.code, 0, describeRun(tool, r));
      assert.ok(!r.timedOut, 'timed out');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
      assert.match(lines[0]!, new RegExp(`^${tool}: `));
      assert.doesNotMatch(r.stderr, /TypeError|RangeError|\n\s+at /);
      // 5 s for the work itself; node + tsx start-up is measured separately by the runner.
      assert.ok(ms < 5000 + 3000, `took ${ms} ms`);
    });
  }
}
