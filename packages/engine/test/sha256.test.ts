import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sha256, sha256 } from '@erofs/engine';
import { nodeSha256Hasher } from '../src/node/hasher.js';
import { bytes } from './fake-image.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('SHA-256 known answers', () => {
  assert.equal(hex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('SHA-256 incremental equals node:crypto for every split', () => {
  for (const n of [1, 55, 56, 63, 64, 65, 127, 128, 1000, 4097]) {
    const b = bytes(n, n);
    const want = createHash('sha256').update(b).digest('hex');
    assert.equal(hex(sha256(b)), want, `n=${n}`);
    const h = new Sha256();
    for (let i = 0; i < n; i += 7) h.update(b.subarray(i, i + 7));
    assert.equal(hex(h.digest()), want);
    const nh = nodeSha256Hasher();
    nh.update(b);
    assert.equal(hex(nh.digest() as Uint8Array), want);
  }
});
