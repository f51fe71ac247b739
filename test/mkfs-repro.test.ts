/**
 * Reproducibility: two mkfs-erofs runs over the same tree with a fixed time
 * and UUID must give byte-identical images, whether the time comes from -T
 * or from SOURCE_DATE_EPOCH. As root the tree is the fixture source tree
 * (make-source.sh: devices, owners, xattrs, ACLs, hard links); otherwise the
 * shipped examples/tree.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { decodeSuperblock } from '@erofs/format';
import { fixtureOrExampleTree } from './lib/source-tree.js';
import { cliMissing, describeRun, runCli, skipIf, tmpDir } from './lib/tools.js';

const UUID = 'e1a5f00d-2024-4c0d-9e5a-f1c7a12e0f5b';



async function buildTwice(t: TestContext, args: string[], env?: Record<string, string>): Promise<[Buffer, Buffer]> {
  const src = await fixtureOrExampleTree(t);
  const out = tmpDir('mkfs-repro', t);
  const images: Buffer[] = [];
  for (const name of ['a.erofs', 'b.erofs']) {
    const img = join(out, name);
    const r = await runCli('mkfs-erofs', ['--quiet', ...args, img, src], env ? { env } : {});
    assert.equal(r.code, 0, describeRun('mkfs-erofs', r));
    images.push(readFileSync(img));
  }
  return images as [Buffer, Buffer];
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('mkfs-erofs reproducibility', () => {
  for (const extra of [[], ['--ishare_key=trusted.erofs.fingerprint', '-b512'], ['--chunksize=8192', '-E48bit']]) {
    it(`-T0 -U <fixed> ${extra.join(' ')}: byte-identical`, async (t) => {
      if (skipIf(t, cliMissing('mkfs-erofs'))) return;
      const [a, b] = await buildTwice(t, ['-T0', `-U${UUID}`, ...extra]);
      assert.equal(sha(a), sha(b));
      assert.ok(a.equals(b));
      const sb = decodeSuperblock(a, 1024);
      assert.equal(Buffer.from(sb.uuid).toString('hex'), UUID.replace(/-/g, ''));
    });
  }

  it('SOURCE_DATE_EPOCH and -U <fixed>: byte-identical, build time from the environment', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const [a, b] = await buildTwice(t, [`-U${UUID}`], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.ok(a.equals(b), `${sha(a)} != ${sha(b)}`);
    const sb = decodeSuperblock(a, 1024);
    assert.equal(sb.epoch + BigInt(sb.buildTime), 1700000000n);
  });

  it('-U clear zeroes the UUID; -L sets the label', async (t) => {
    if (skipIf(t, cliMissing('mkfs-erofs'))) return;
    const [a] = await buildTwice(t, ['-T0', '-Uclear', '-Lerofs-fixture']);
    const sb = decodeSuperblock(a, 1024);
    assert.deepEqual([...sb.uuid], new Array(16).fill(0));
    assert.equal(Buffer.from(sb.volumeName).toString('latin1').replace(/\0+$/, ''), 'erofs-fixture');
  });
});
