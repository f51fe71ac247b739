import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareReport } from '@erofs/engine';
import { FakeImage, bytes, fingerprintOf } from './fake-image.js';

test('shareReport: with/without bytes, the file-level bound and zero mismatches', async () => {
  const base = bytes(4096 * 3, 1); // 3 pages, in both images
  const small = bytes(100, 2); // 1 page, in both
  const v1 = new FakeImage({ files: { '/base': { data: base }, '/small': { data: small }, '/v': { data: bytes(5000, 3) } } });
  const v2 = new FakeImage({ files: { '/usr/base': { data: base }, '/small': { data: small }, '/v': { data: bytes(5000, 4) }, '/dup': { data: small, fingerprint: null } } });
  const r = await shareReport([{ name: 'v1', image: v1 }, { name: 'v2', image: v2 }]);
  assert.equal(r.withoutSharingBytes, 4096 * (3 + 1 + 2 + 3 + 1 + 2 + 1));
  assert.equal(r.withSharingBytes, 4096 * (3 + 1 + 2 + 2 + 1), 'base and small once; /dup has no fingerprint');
  assert.equal(r.boundBytes, 4096 * (3 + 1 + 2 + 2), 'every identical file once');
  assert.equal(r.images[1]!.withSharingBytes, 4096 * 3);
  assert.equal(r.reductionPercent, Math.round(10000 * (1 - 9 / 13)) / 100);
  assert.deepEqual(r.mismatches, []);
});

test('shareReport catches a poisoned read as a mismatch', async () => {
  const honest = bytes(4096, 7);
  const f = new FakeImage({ files: { '/x': { data: bytes(4096, 8), fingerprint: fingerprintOf(honest) } } });
  const h = new FakeImage({ files: { '/x': { data: honest } } });
  const r = await shareReport([{ name: 'forger', image: f }, { name: 'honest', image: h }]);
  assert.deepEqual(r.mismatches, [{ image: 'honest', path: '/x', offset: 0 }]);
  const v = await shareReport([{ name: 'forger', image: f }, { name: 'honest', image: h }], { verifyFingerprints: true });
  assert.deepEqual(v.mismatches, []);
  assert.ok(v.warnings.some((w) => w.includes('ISHARE_REFUSED')));
});
