/**
 * fsck-erofs --device=BLOB: an image whose chunks live in a blob device is
 * checked with the blob supplied, and fails (one line, exit 1) without it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, runCli, tmpDir } from './lib/tools.js';

test('fsck-erofs reads chunk data from --device blobs', async (t) => {
  const dir = tmpDir('fsck-devices', t);
  const img = join(dir, 'img.erofs');
  const blob = join(dir, 'blob.img');
  const mk = await runCli('mkfs-erofs', ['--quiet', '--chunksize=8192', `--blobdev=${blob}`, img, join(REPO_ROOT, 'examples/tree')]);
  assert.equal(mk.code, 0, mk.stderr);

  const ok = await runCli('fsck-erofs', [`--device=${blob}`, img]);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /no errors found/);

  const missing = await runCli('fsck-erofs', [img]);
  assert.equal(missing.code, 1);
  const lines = missing.stderr.trim().split('\n');
  assert.equal(lines.length, 1, missing.stderr);
  assert.match(lines[0]!, /extra device 1 .* was not supplied/);
});
